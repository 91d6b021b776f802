import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Contract, TableContract } from '../../core/contract';

export interface LakeCatalogProps {
  /** Name of the Glue database (e.g. `txlake_dev`). */
  readonly databaseName: string;
  /** The data contract whose `tables` define the catalog. */
  readonly contract: Contract;
  /** The bucket of each layer a contract table lives in. */
  readonly layerBuckets: Readonly<Record<TableContract['layer'], s3.IBucket>>;
  /**
   * First year of data partitions, for partition projection.
   * @default 2000
   */
  readonly firstYear?: number;
}

/** A Glue database holding the lake's tables. */
export interface ILakeCatalog {
  readonly databaseName: string;
}

/**
 * The Glue Data Catalog of the lake, generated from the contract. Partitions are projected, so new
 * data is visible to Athena at once, with no crawler and no `MSCK REPAIR`.
 */
export class LakeCatalog extends Construct implements ILakeCatalog {
  readonly databaseName: string;
  readonly tables: Readonly<Record<string, glue.CfnTable>>;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: this.stackAccount(),
      databaseInput: {
        name: props.databaseName,
        description: `txlake lake tables (contract v${props.contract.version})`,
      },
    });
    this.databaseName = props.databaseName;
    const firstYear = props.firstYear ?? 2000;
    const tables: Record<string, glue.CfnTable> = {};
    for (const [name, table] of Object.entries(props.contract.tables)) {
      const location = `s3://${props.layerBuckets[table.layer].bucketName}/${table.prefix}/`;
      const cfn = new glue.CfnTable(this, `${name}Table`, {
        catalogId: this.stackAccount(),
        databaseName: props.databaseName,
        tableInput: {
          name,
          tableType: 'EXTERNAL_TABLE',
          description: `txlake ${table.layer} table, contract v${props.contract.version}`,
          partitionKeys: table.partitionKeys.map((c) => ({ name: c.name, type: c.type })),
          parameters: {
            classification: 'parquet',
            'txlake.contract.version': String(props.contract.version),
            ...projection(table, location, firstYear),
          },
          storageDescriptor: {
            location,
            columns: table.columns.map((c) => ({ name: c.name, type: c.type })),
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          },
        },
      });
      cfn.addResourceDependency(database);
      tables[name] = cfn;
    }
    this.tables = tables;
  }

  private stackAccount(): string {
    return Stack.of(this).account;
  }
}

/** Partition projection parameters for the contract's partition keys (year/month or ingest_date). */
function projection(table: TableContract, location: string, firstYear: number): Record<string, string> {
  const keys = table.partitionKeys.map((k) => k.name);
  const params: Record<string, string> = { 'projection.enabled': 'true' };
  for (const key of keys) {
    if (key === 'year' && table.layer === 'gold') {
      // The gold snapshot also has an open-ended tail partition, year=9999/month=12 (the latest
      // balance of every pair), which the balance history reads for quarters past the data.
      const years = Array.from({ length: 2199 - firstYear + 1 }, (_, i) => String(firstYear + i));
      params['projection.year.type'] = 'enum';
      params['projection.year.values'] = [...years, '9999'].join(',');
    } else if (key === 'year') {
      params['projection.year.type'] = 'integer';
      params['projection.year.range'] = `${firstYear},2199`;
    } else if (key === 'month') {
      params['projection.month.type'] = 'integer';
      params['projection.month.range'] = '1,12';
      params['projection.month.digits'] = '2';
    } else if (key === 'ingest_date') {
      params['projection.ingest_date.type'] = 'date';
      params['projection.ingest_date.format'] = 'yyyy-MM-dd';
      params['projection.ingest_date.range'] = `${firstYear}-01-01,NOW`;
      params['projection.ingest_date.interval'] = '1';
      params['projection.ingest_date.interval.unit'] = 'DAYS';
    } else {
      throw new Error(`no partition projection for key ${key} of table ${table.prefix}`);
    }
  }
  params['storage.location.template'] = `${location}${keys.map((k) => `${k}=\${${k}}`).join('/')}/`;
  return params;
}
