import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AnalyticsWorkgroup } from '../constructs/analytics-workgroup';
import type { Contract } from '../../core/contract';
import { LakeCatalog } from '../constructs/lake-catalog';
import { MedallionStorage } from '../constructs/medallion-storage';

export interface StorageStackProps extends StackProps {
  readonly envName: string;
  readonly contract: Contract;
  /**
   * Keep data when the stack is deleted.
   * @default true
   */
  readonly retainData?: boolean;
}

/** The lake's buckets, its Glue catalog and the Athena workgroup. */
export class StorageStack extends Stack {
  readonly storage: MedallionStorage;
  readonly catalog: LakeCatalog;
  readonly workgroup: AnalyticsWorkgroup;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    this.storage = new MedallionStorage(this, 'Storage', { envName: props.envName, retainData: props.retainData });
    this.catalog = new LakeCatalog(this, 'Catalog', {
      databaseName: `txlake_${props.envName}`,
      contract: props.contract,
      layerBuckets: this.storage.buckets,
    });
    this.workgroup = new AnalyticsWorkgroup(this, 'Workgroup', {
      workgroupName: `txlake-${props.envName}`,
      resultsBucket: this.storage.athenaResults,
      key: this.storage.key,
    });
  }
}
