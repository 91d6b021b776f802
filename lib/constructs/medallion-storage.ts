import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  EXPIRING_STAGING_PREFIXES,
  type LakeLayer,
  REJECTED_FILES_PREFIX,
  REJECTIONS_PREFIX,
} from '../../core/lake-layout';

/** Every bucket a step may be granted access to: the layers and the Athena results. */
export type StorageArea = LakeLayer | 'athenaResults';

/** Object access within one bucket of the lake. */
export interface ObjectAccess {
  /** Key prefix the access is limited to (e.g. `transactions/`). @default the whole bucket */
  readonly prefix?: string;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly delete?: boolean;
}

/** Metadata key that tells local mode which lake folder a bucket stands for. */
export const LAYER_METADATA_KEY = 'txlake:layer';

export interface MedallionStorageProps {
  /** Environment name, part of every bucket's logical purpose (names stay CDK-generated). */
  readonly envName: string;
  /**
   * Keep the buckets and the key when the stack is deleted.
   * @default true
   */
  readonly retainData?: boolean;
  /**
   * Days after which staging objects (failed runs' leftovers) expire.
   * @default 14
   */
  readonly stagingExpirationDays?: number;
  /**
   * Days after which Athena query results expire.
   * @default 30
   */
  readonly athenaResultsExpirationDays?: number;
  /**
   * Days rejected files (and why they were rejected) are kept (7 years). Rows are kept by the
   * tables' maintenance instead: S3 must never expire an Iceberg table's files.
   * @default 2555
   */
  readonly rejectedFileRetentionDays?: number;
  /**
   * Days replaced versions of condemned objects are kept (7 years), so that even a rerun's
   * replaced Iceberg files stay recoverable as long as the rows' retention.
   * @default 2555
   */
  readonly condemnedVersionRetentionDays?: number;
}

/**
 * The lake's buckets: bronze (raw, immutable), silver, gold, quarantine, condemned (7 years),
 * staging, Athena results and the access-log bucket; all KMS-encrypted with one rotating key.
 */
export class MedallionStorage extends Construct {
  readonly key: kms.IKey;
  readonly buckets: Readonly<Record<LakeLayer, s3.IBucket>>;
  readonly athenaResults: s3.IBucket;
  readonly accessLogs: s3.IBucket;

  constructor(scope: Construct, id: string, props: MedallionStorageProps) {
    super(scope, id);
    const retain = props.retainData ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const key = new kms.Key(this, 'LakeKey', {
      description: `txlake ${props.envName}: encrypts every lake layer`,
      enableKeyRotation: true,
      removalPolicy,
    });
    this.key = key;
    // The pipeline's log groups (Lambda steps, state machine, Glue continuous logging) are
    // encrypted with this key: CloudWatch Logs may use it for log groups of this account and
    // region only (the encryption context names the log group).
    const stack = Stack.of(this);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    // Server access logs cannot be delivered to a KMS-encrypted bucket: SSE-S3 here.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });
    // Checks of checkov (scripts/test.sh, .checkov.yaml) that do not apply, with the reason.
    (accessLogs.node.defaultChild as s3.CfnBucket).addMetadata('checkov', {
      skip: [
        {
          id: 'CKV_AWS_18',
          comment:
            'This is the server access log bucket of every lake bucket; logging its own access would log the log deliveries (a loop).',
        },
      ],
    });
    this.accessLogs = accessLogs;

    const bucket = (layer: string, rules: s3.LifecycleRule[] = []): s3.Bucket => {
      const b = new s3.Bucket(
        this,
        `${layer[0].toUpperCase()}${layer.slice(1).replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}Bucket`,
        {
          encryption: s3.BucketEncryption.KMS,
          encryptionKey: key,
          bucketKeyEnabled: true,
          enforceSSL: true,
          versioned: true,
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
          serverAccessLogsBucket: accessLogs,
          serverAccessLogsPrefix: `${layer}/`,
          lifecycleRules: rules,
          removalPolicy,
        },
      );
      (b.node.defaultChild as s3.CfnBucket).addMetadata(LAYER_METADATA_KEY, layer);
      return b;
    };

    const noncurrent: s3.LifecycleRule = { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(90) };
    const buckets: Record<LakeLayer, s3.IBucket> = {
      bronze: bucket('bronze', [
        {
          id: 'tier-raw-files',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(180) },
          ],
        },
      ]),
      silver: bucket('silver', [noncurrent]),
      gold: bucket('gold', [noncurrent]),
      // Rejected files are kept 7 years like condemned rows; the quarantine table's rows (the
      // attempt history) are never expired by S3: a lifecycle rule on an Iceberg table's prefix
      // would delete files its current snapshot still reads.
      quarantine: bucket('quarantine', [
        noncurrent,
        ...[REJECTED_FILES_PREFIX, REJECTIONS_PREFIX].map((prefix) => ({
          id: `expire-${prefix.replace(/\W+/g, '')}`,
          prefix,
          expiration: Duration.days(props.rejectedFileRetentionDays ?? 2555),
        })),
      ]),
      // The condemned table's 7-year retention is a row retention (the maintenance job).
      condemned: bucket('condemned', [
        {
          id: 'retain-replaced-versions',
          noncurrentVersionExpiration: Duration.days(props.condemnedVersionRetentionDays ?? 2555),
        },
      ]),
      // Runs' scratch space expires; the lake's lease must not (a backfill may hold it for days).
      staging: bucket(
        'staging',
        EXPIRING_STAGING_PREFIXES.map((prefix) => ({
          id: `expire-${prefix.replace(/\W+/g, '')}`,
          prefix,
          expiration: Duration.days(props.stagingExpirationDays ?? 14),
          noncurrentVersionExpiration: Duration.days(1),
        })),
      ),
    };
    this.buckets = buckets;
    // Bronze is the audit copy: nobody deletes a landed file or one of its versions (versioning
    // keeps any overwritten content). Lifecycle rules are not subject to bucket policies.
    buckets.bronze.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BronzeIsImmutable',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [buckets.bronze.arnForObjects('*')],
      }),
    );
    this.athenaResults = bucket('athena-results', [
      {
        id: 'expire-results',
        expiration: Duration.days(props.athenaResultsExpirationDays ?? 30),
        noncurrentVersionExpiration: Duration.days(1),
      },
    ]);
  }

  /** The bucket of a layer, or the Athena results bucket. */
  bucketOf(area: StorageArea): s3.IBucket {
    return area === 'athenaResults' ? this.athenaResults : this.buckets[area];
  }

  /** Lets `grantee` list `area`'s bucket and read the objects under `prefix` (and decrypt them). */
  grantRead(area: StorageArea, grantee: iam.IGrantable, prefix?: string): void {
    this.grantObjects(area, grantee, { prefix, read: true });
  }

  /** Lets `grantee` read, write and delete the objects under `prefix` of `area`'s bucket. */
  grantReadWrite(area: StorageArea, grantee: iam.IGrantable, prefix?: string): void {
    this.grantObjects(area, grantee, { prefix, read: true, write: true, delete: true });
  }

  /**
   * Grants exactly the S3 and KMS actions a step needs on one bucket of the lake, spelled out: no
   * action wildcards (`s3:GetObject*`, `kms:GenerateDataKey*`) as the generic bucket grants add.
   */
  grantObjects(area: StorageArea, grantee: iam.IGrantable, access: ObjectAccess): void {
    const bucket = this.bucketOf(area);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resourceArns: [bucket.bucketArn],
    });
    const actions = [
      ...(access.read ? ['s3:GetObject'] : []),
      ...(access.write ? ['s3:PutObject', 's3:AbortMultipartUpload'] : []),
      ...(access.delete ? ['s3:DeleteObject'] : []),
    ];
    if (actions.length > 0) {
      iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [bucket.arnForObjects(`${access.prefix ?? ''}*`)] });
    }
    const keyActions = [
      ...(access.read || access.write ? ['kms:Decrypt'] : []),
      ...(access.write ? ['kms:Encrypt', 'kms:GenerateDataKey'] : []),
    ];
    if (keyActions.length > 0) this.key.grant(grantee, ...keyActions);
  }
}
