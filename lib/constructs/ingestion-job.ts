import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { Contract } from '../../core/contract';
import {
  BRONZE_PREFIX,
  QUARANTINE_PREFIX,
  RUNS_PREFIX,
  SILVER_PREFIX,
  jobCountsPrefix,
  landingSummaryKey,
  stagedOutputPrefix,
} from '../../core/lake-layout';
import type { MedallionStorage } from './medallion-storage';

const ROOT = path.join(__dirname, '..', '..');

/** The Glue entry script, relative to the repository root (local mode runs the same file). */
export const GLUE_SCRIPT = 'glue/txlake_job.py';
/**
 * The directory holding the job's Python package (`txlake_glue/`), relative to the repository root:
 * zipped at synth and passed as `--extra-py-files` (local mode puts it on PYTHONPATH).
 */
export const GLUE_PACKAGE_DIR = 'glue/src';
/** Template metadata naming the script a Glue job runs, for local mode. */
export const SCRIPT_METADATA_KEY = 'txlake:script';
/** Template metadata naming the directory of a Glue job's `--extra-py-files`, for local mode. */
export const PACKAGE_METADATA_KEY = 'txlake:package';

/** Stands for the run id in the job's per-run key arguments; the job fills in its own. */
export const RUN_ID_PLACEHOLDER = '{run_id}';

/**
 * Where the job reads and writes, as job arguments: the job knows no key of the lake itself. Table
 * prefixes, and a run's staging keys as patterns holding {@link RUN_ID_PLACEHOLDER}; the same for
 * every run of a deployment (the bucket roots are added per deployment).
 */
export const JOB_LAYOUT_ARGUMENTS: Readonly<Record<string, string>> = {
  '--silver_table_prefix': SILVER_PREFIX,
  '--quarantine_table_prefix': QUARANTINE_PREFIX,
  '--landing_summary_key': landingSummaryKey(RUN_ID_PLACEHOLDER),
  '--staged_silver_prefix': stagedOutputPrefix(RUN_ID_PLACEHOLDER, 'silver'),
  '--staged_quarantine_prefix': stagedOutputPrefix(RUN_ID_PLACEHOLDER, 'quarantine'),
  '--staged_condemned_prefix': stagedOutputPrefix(RUN_ID_PLACEHOLDER, 'condemned'),
  '--counts_prefix': jobCountsPrefix(RUN_ID_PLACEHOLDER),
};

/**
 * A file, or a directory (zipped by CDK), as an asset the job can read with `s3:GetObject` on that
 * one object only (glue.Code.fromAsset grants the `s3:GetObject*`/`s3:List*` families on the asset
 * bucket).
 */
class ObjectAsset extends glue.Code {
  constructor(
    private readonly id: string,
    private readonly assetProps: s3assets.AssetProps,
  ) {
    super();
  }

  bind(scope: Construct, grantable: iam.IGrantable): glue.CodeConfig {
    const asset = new s3assets.Asset(scope, this.id, this.assetProps);
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
  /** The lake: the job reads bronze and the published layers and writes staging (KMS key included). */
  readonly storage: MedallionStorage;
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
    const { storage } = props;
    const { buckets, key } = storage;
    storage.grantRead('bronze', role, BRONZE_PREFIX);
    storage.grantRead('silver', role, SILVER_PREFIX);
    storage.grantRead('quarantine', role, QUARANTINE_PREFIX);
    storage.grantReadWrite('staging', role, RUNS_PREFIX);
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
      s3Encryption: glue.S3Encryption.kms(key),
      cloudWatchEncryption: glue.CloudWatchEncryption.kms(key),
      jobBookmarksEncryption: glue.JobBookmarksEncryption.clientSideKms(key),
    });

    const job = new glue.PySparkEtlJob(this, 'Job', {
      role,
      description: 'txlake: row rules, dedupe and attempts for one ingest date (write step of write-audit-publish)',
      script: new ObjectAsset('ScriptAsset', { path: path.join(ROOT, GLUE_SCRIPT) }),
      // The package as a zip whose root holds txlake_glue/ (Glue puts it on the Python path).
      extraPythonFiles: [
        new ObjectAsset('PackageAsset', { path: path.join(ROOT, GLUE_PACKAGE_DIR), exclude: ['__pycache__', '*.pyc'] }),
      ],
      glueVersion: glue.GlueVersion.V5_0,
      workerConfiguration: { workerType: glue.WorkerType.G_1X, numberOfWorkers: props.workerCount ?? 2 },
      enableMetrics: true,
      maxConcurrentRuns: 1,
      maxRetries: 0,
      timeout: Duration.minutes(props.timeoutMinutes ?? 60),
      securityConfiguration,
      continuousLogging: { enabled: true },
      defaultArguments: {
        '--bronze_root': `s3://${buckets.bronze.bucketName}`,
        '--silver_root': `s3://${buckets.silver.bucketName}`,
        '--quarantine_root': `s3://${buckets.quarantine.bucketName}`,
        '--staging_root': `s3://${buckets.staging.bucketName}`,
        ...JOB_LAYOUT_ARGUMENTS,
        '--contract': JSON.stringify(props.contract),
      },
    });
    const cfnJob = job.node.defaultChild as glue.CfnJob;
    cfnJob.addMetadata(SCRIPT_METADATA_KEY, GLUE_SCRIPT);
    cfnJob.addMetadata(PACKAGE_METADATA_KEY, GLUE_PACKAGE_DIR);
    this.job = job;
    this.jobName = job.jobName;
  }
}
