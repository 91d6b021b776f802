import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Contract } from './contract';

/** The Glue script, relative to the repository root (local mode runs the same file). */
export const GLUE_SCRIPT = 'glue-scripts/txlake_job.py';
/** Template metadata naming the script a Glue job runs, for local mode. */
export const SCRIPT_METADATA_KEY = 'txlake:script';

export interface IngestionJobProps {
  readonly envName: string;
  /** The contract the job enforces (allow-list and patterns included). */
  readonly contract: Contract;
  readonly bronze: s3.IBucket;
  readonly silver: s3.IBucket;
  readonly quarantine: s3.IBucket;
  readonly staging: s3.IBucket;
  readonly key: kms.IKey;
  /**
   * Glue workers (G.1X).
   * @default 2
   */
  readonly workerCount?: number;
  /**
   * A run taking longer fails instead of hanging.
   * @default 60
   */
  readonly timeoutMinutes?: number;
}

/**
 * The Glue 5.0 (Spark 3.5.4) job that applies the row rules, dedupes and writes a run's outputs to
 * staging. It reads bronze and the published silver/quarantine (for duplicates and attempts) and
 * writes only staging: publishing is the pipeline's later, audited step.
 */
export class IngestionJob extends Construct {
  readonly job: glue.IJob;
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: IngestionJobProps) {
    super(scope, id);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'txlake Glue job: reads bronze and published layers, writes staging',
    });
    props.bronze.grantRead(role, 'transactions/*');
    props.silver.grantRead(role, 'transactions/*');
    props.quarantine.grantRead(role, 'transactions/*');
    props.staging.grantReadWrite(role, 'runs/*');

    const securityConfiguration = new glue.SecurityConfiguration(this, 'SecurityConfiguration', {
      s3Encryption: glue.S3Encryption.kms(props.key),
      cloudWatchEncryption: glue.CloudWatchEncryption.kms(props.key),
      jobBookmarksEncryption: glue.JobBookmarksEncryption.clientSideKms(props.key),
    });
    props.key.grantEncryptDecrypt(role);

    const job = new glue.PySparkEtlJob(this, 'Job', {
      role,
      description: 'txlake: row rules, dedupe and attempts for one ingest date (write step of write-audit-publish)',
      script: glue.Code.fromAsset(path.join(__dirname, '..', GLUE_SCRIPT)),
      glueVersion: glue.GlueVersion.V5_0,
      workerConfiguration: { workerType: glue.WorkerType.G_1X, numberOfWorkers: props.workerCount ?? 2 },
      enableMetrics: true,
      maxConcurrentRuns: 1,
      maxRetries: 0,
      timeout: Duration.minutes(props.timeoutMinutes ?? 60),
      securityConfiguration,
      continuousLogging: { enabled: true },
      defaultArguments: {
        '--bronze_root': `s3://${props.bronze.bucketName}`,
        '--silver_root': `s3://${props.silver.bucketName}`,
        '--quarantine_root': `s3://${props.quarantine.bucketName}`,
        '--staging_root': `s3://${props.staging.bucketName}`,
        '--contract': JSON.stringify(props.contract),
      },
    });
    (job.node.defaultChild as glue.CfnJob).addMetadata(SCRIPT_METADATA_KEY, GLUE_SCRIPT);
    this.job = job;
    this.jobName = job.jobName;
  }
}
