import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

export interface ObjectAccess {
  /** Key prefix the access is limited to (e.g. `transactions/`). @default the whole bucket */
  readonly prefix?: string;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly delete?: boolean;
}

/**
 * Grants exactly the S3 and KMS actions a step needs on one lake bucket, spelled out: no action
 * wildcards (`s3:GetObject*`, `kms:GenerateDataKey*`) as the generic bucket grants add.
 */
export function grantObjects(grantee: iam.IGrantable, bucket: s3.IBucket, key: kms.IKey, access: ObjectAccess): void {
  const objects = bucket.arnForObjects(`${access.prefix ?? ''}*`);
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
  if (actions.length > 0) iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [objects] });
  const keyActions = [
    ...(access.read || access.write ? ['kms:Decrypt'] : []),
    ...(access.write ? ['kms:Encrypt', 'kms:GenerateDataKey'] : []),
  ];
  if (keyActions.length > 0) key.grant(grantee, ...keyActions);
}
