import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { Contract } from '../../core/contract';
import { grantObjects } from './lake-grants';

/** The Glue script, relative to the repository root (local mode runs the same file). */
export const GLUE_SCRIPT = 'glue-scripts/txlake_job.py';
/** Template metadata naming the script a Glue job runs, for local mode. */
export const SCRIPT_METADATA_KEY = 'txlake:script';

/**
 * The job script as a CDK asset, readable by the job with `s3:GetObject` on that one object only
 * (glue.Code.fromAsset grants the `s3:GetObject*`/`s3:List*` families on the asset bucket).
 */
class ScriptAsset extends glue.Code {
  constructor(private readonly scriptPath: string) {
    super();
  }

  bind(scope: Construct, grantable: iam.IGrantable): glue.CodeConfig {
    const asset = new s3assets.Asset(scope, 'ScriptAsset', { path: this.scriptPath });
    iam.Grant.addToPrincipal({
      grantee: grantable,
      actions: ['s3:GetObject'],
      resourceArns: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
    });
    return { s3Location: { bucketName: asset.s3BucketName, objectKey: asset.s3ObjectKey } };
  }
}

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
    grantObjects(role, props.bronze, props.key, { prefix: 'transactions/', read: true });
    grantObjects(role, props.silver, props.key, { prefix: 'transactions/', read: true });
    grantObjects(role, props.quarantine, props.key, { prefix: 'transactions/', read: true });
    grantObjects(role, props.staging, props.key, { prefix: 'runs/', read: true, write: true, delete: true });
    // Continuous logging into the job's (KMS-encrypted) Glue log groups, and job metrics.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws-glue/*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': 'Glue' } },
      }),
    );

    const securityConfiguration = new glue.SecurityConfiguration(this, 'SecurityConfiguration', {
      s3Encryption: glue.S3Encryption.kms(props.key),
      cloudWatchEncryption: glue.CloudWatchEncryption.kms(props.key),
      jobBookmarksEncryption: glue.JobBookmarksEncryption.clientSideKms(props.key),
    });

    const job = new glue.PySparkEtlJob(this, 'Job', {
      role,
      description: 'txlake: row rules, dedupe and attempts for one ingest date (write step of write-audit-publish)',
      script: new ScriptAsset(path.join(__dirname, '..', '..', GLUE_SCRIPT)),
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
