import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { Contract } from '../../core/contract';
import {
  BRONZE_PREFIX,
  GOLD_REFRESH_PREFIX,
  MAINTENANCE_PREFIX,
  MAINTENANCE_RESULT_KEY,
  ICEBERG_CATALOG,
  RUNS_PREFIX,
  TABLES,
  jobCountsPrefix,
  landingSummaryKey,
  publishResultKey,
} from '../../core/lake-layout';
import type { ILakeCatalog } from './lake-catalog';
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

/**
 * The job argument naming the job's mode (`transform`, `publish`, `publish-gold`, `restore`,
 * `maintain`). Not `--mode`: Glue reserves `--mode` (with `--debug`, `--JOB_NAME`, `--endpoint`)
 * for its own use, and aws-cdk-lib refuses it as a job argument.
 */
export const JOB_MODE_ARGUMENT = '--job_mode';

/** Stands for the run id in the job's per-run key arguments; the job fills in its own. */
export const RUN_ID_PLACEHOLDER = '{run_id}';

/**
 * Where the job reads and writes, as job arguments: the job knows no key or table of the lake
 * itself. The Iceberg catalog and its tables by name, and a run's staging keys as patterns holding
 * {@link RUN_ID_PLACEHOLDER}; the same for every run of a deployment (the database and the bucket
 * roots are added per deployment).
 */
export const JOB_LAYOUT_ARGUMENTS: Readonly<Record<string, string>> = {
  '--catalog_name': ICEBERG_CATALOG,
  '--silver_table': TABLES.silver,
  '--quarantine_table': TABLES.quarantine,
  '--condemned_table': TABLES.condemned,
  '--gold_table': TABLES.gold,
  '--landing_summary_key': landingSummaryKey(RUN_ID_PLACEHOLDER),
  '--counts_prefix': jobCountsPrefix(RUN_ID_PLACEHOLDER),
  '--publish_result_key': publishResultKey(RUN_ID_PLACEHOLDER),
  '--gold_refresh_prefix': GOLD_REFRESH_PREFIX,
  '--maintain_result_key': MAINTENANCE_RESULT_KEY,
};

/**
 * Glue's `--conf` value enabling an Iceberg catalog backed by the Glue Data Catalog (Glue 5.0,
 * Iceberg 1.7.1, with `--datalake-formats iceberg`): one job argument chaining the settings with
 * ` --conf `, as the Glue documentation gives it ("Using the Iceberg framework in AWS Glue").
 */
export function glueIcebergConf(catalogName: string, warehouse: string): string {
  const catalog = `spark.sql.catalog.${catalogName}`;
  return [
    'spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions',
    `${catalog}=org.apache.iceberg.spark.SparkCatalog`,
    `${catalog}.warehouse=${warehouse}`,
    `${catalog}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog`,
    `${catalog}.io-impl=org.apache.iceberg.aws.s3.S3FileIO`,
  ].join(' --conf ');
}

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
  /** The lake: the job reads bronze and the refresh output and writes staging (KMS key included). */
  readonly storage: MedallionStorage;
  /** The Iceberg tables the job commits to (through the Glue Data Catalog) and whose files it writes. */
  readonly catalog: ILakeCatalog;
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
  /**
   * Maintenance expires snapshots older than this many days (always keeping {@link snapshotsToKeep}).
   * @default 30
   */
  readonly snapshotRetentionDays?: number;
  /**
   * Snapshots maintenance always keeps per table, however old.
   * @default 10
   */
  readonly snapshotsToKeep?: number;
  /**
   * Maintenance removes files no snapshot references once they are this many hours old (at least
   * 24: a younger file may belong to a commit in flight).
   * @default 72
   */
  readonly orphanFileAgeHours?: number;
  /**
   * Years condemned rows are kept (a row retention by ingest date, independent of snapshot expiry).
   * @default 7
   */
  readonly condemnedRetentionYears?: number;
}

/** Positive whole numbers only: they become job arguments. */
function positiveInteger(name: string, value: number, min = 1): string {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${value}`);
  return String(value);
}

/**
 * The Glue 5.0 (Spark 3.5.4, Iceberg 1.7.1) job of the lake, one script with a mode per step
 * ({@link JOB_MODE_ARGUMENT}): `transform` applies the row rules, dedupes and writes a date's rows
 * to the tables' Iceberg audit branches (the write of write–audit–publish, reading the published
 * tables for duplicates and attempts); `publish` fast-forwards each table to its audited branch
 * (one commit per table); `publish-gold` makes the refreshed gold months current; `restore` puts
 * the tables back after a failure; `maintain` expires snapshots, compacts and removes orphans.
 */
export class IngestionJob extends Construct {
  readonly job: glue.IJob;
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: IngestionJobProps) {
    super(scope, id);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'txlake Glue job: reads bronze, commits to the Iceberg tables, reads and writes staging runs/',
    });
    const { storage, catalog } = props;
    const { buckets, key } = storage;
    const tableNames = Object.values(TABLES);
    storage.grantRead('bronze', role, BRONZE_PREFIX);
    // Each table's files (data/ and metadata/ under its location): written by commits, deleted by
    // maintenance (expired snapshots, orphans).
    for (const name of tableNames) {
      const table = catalog.table(name);
      storage.grantReadWrite(table.layer, role, table.prefix);
    }
    catalog.grantCommit(role, tableNames);
    storage.grantReadWrite('staging', role, RUNS_PREFIX);
    storage.grantReadWrite('staging', role, MAINTENANCE_PREFIX);
    // publish-gold reads the refresh output; publish empties it before the next refresh (UNLOAD).
    storage.grantReadWrite('staging', role, GOLD_REFRESH_PREFIX);
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
      description:
        'txlake: row rules, dedupe and attempts for one ingest date, written to Iceberg audit branches; publishes the audited branches and gold, restores and maintains the tables',
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
        [JOB_MODE_ARGUMENT]: 'transform',
        '--database': catalog.databaseName,
        '--bronze_root': `s3://${buckets.bronze.bucketName}`,
        '--staging_root': `s3://${buckets.staging.bucketName}`,
        ...JOB_LAYOUT_ARGUMENTS,
        '--contract': JSON.stringify(props.contract),
        '--snapshot_retention_days': positiveInteger('snapshotRetentionDays', props.snapshotRetentionDays ?? 30),
        '--snapshots_to_keep': positiveInteger('snapshotsToKeep', props.snapshotsToKeep ?? 10),
        '--orphan_file_age_hours': positiveInteger('orphanFileAgeHours', props.orphanFileAgeHours ?? 72, 24),
        '--condemned_retention_years': positiveInteger('condemnedRetentionYears', props.condemnedRetentionYears ?? 7),
        '--datalake-formats': 'iceberg',
        '--conf': glueIcebergConf(ICEBERG_CATALOG, `s3://${buckets.silver.bucketName}/`),
      },
    });
    const cfnJob = job.node.defaultChild as glue.CfnJob;
    cfnJob.addMetadata(SCRIPT_METADATA_KEY, GLUE_SCRIPT);
    cfnJob.addMetadata(PACKAGE_METADATA_KEY, GLUE_PACKAGE_DIR);
    this.job = job;
    this.jobName = job.jobName;
  }
}
