import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface AnalyticsWorkgroupProps {
  /** Name of the workgroup (e.g. `txlake-dev`). */
  readonly workgroupName: string;
  /** Where query results go (encrypted with `key`). */
  readonly resultsBucket: s3.IBucket;
  readonly key: kms.IKey;
  /**
   * Queries scanning more than this many bytes are cancelled.
   * @default 100 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
}

/** An Athena workgroup queries can be started in. */
export interface IAnalyticsWorkgroup {
  readonly workgroupName: string;
}

/** The Athena (engine v3) workgroup every txlake query runs in, with its settings enforced. */
export class AnalyticsWorkgroup extends Construct implements IAnalyticsWorkgroup {
  readonly workgroupName: string;
  readonly workgroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AnalyticsWorkgroupProps) {
    super(scope, id);
    this.workgroupName = props.workgroupName;
    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workgroupName,
      description: 'txlake gold maintenance and reports',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 100 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${props.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.key.keyArn },
        },
      },
    });
  }
}
