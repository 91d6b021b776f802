import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Contract, PARTITION_TRANSFORMS, TableContract } from '../../core/contract';

/** The layer (bucket) a lake table lives in. */
export type LakeTableLayer = TableContract['layer'];
/** An Iceberg partition transform the lake's tables use. */
export type PartitionTransform = (typeof PARTITION_TRANSFORMS)[number];

export interface LakeCatalogProps {
  /** Name of the Glue database (e.g. `txlake_dev`); the Iceberg namespace of the tables. */
  readonly databaseName: string;
  /** The data contract whose `tables` define the catalog. */
  readonly contract: Contract;
  /** The bucket of each layer a contract table lives in. */
  readonly layerBuckets: Readonly<Record<LakeTableLayer, s3.IBucket>>;
}

/** One table of the lake: its name and ARN in the catalog and where its files live. */
export interface LakeTable {
  readonly tableName: string;
  /** `arn:…:glue:<region>:<account>:table/<database>/<table>`. */
  readonly tableArn: string;
  /** The layer whose bucket holds the table's files. */
  readonly layer: LakeTableLayer;
  /**
   * Key prefix of the table's files (Iceberg's `data/` and `metadata/`) in the layer's bucket,
   * ending in `/`: the prefix to grant object access under.
   */
  readonly prefix: string;
  /** The table's Iceberg location, `s3://<layer bucket>/<prefix without the trailing slash>`. */
  readonly location: string;
}

/** The lake's Glue database and its Iceberg tables. */
export interface ILakeCatalog {
  readonly databaseName: string;
  /** `arn:…:glue:<region>:<account>:catalog`. */
  readonly catalogArn: string;
  /** `arn:…:glue:<region>:<account>:database/<database>`. */
  readonly databaseArn: string;
  /** Names of the tables, in the contract's order. */
  readonly tableNames: readonly string[];
  /** A table by name; throws for a table the catalog does not hold. */
  table(tableName: string): LakeTable;
  /**
   * Lets `grantee` read the tables' catalog entries (`glue:GetDatabase`, `glue:GetTable`) on the
   * catalog, the database and those tables only: what Athena and an Iceberg reader need to find
   * a table's current metadata file. Object access to the tables' files is granted on the storage.
   * @param tableNames @default every table of the catalog
   */
  grantReadTables(grantee: iam.IGrantable, tableNames?: readonly string[]): iam.Grant;
  /**
   * Lets `grantee` commit to the tables through Iceberg's GlueCatalog: read their entries and
   * swap their metadata pointer (`glue:UpdateTable`), on the catalog, the database and those
   * tables only. No table or database can be created or deleted.
   * @param tableNames @default every table of the catalog
   */
  grantCommit(grantee: iam.IGrantable, tableNames?: readonly string[]): iam.Grant;
}

/** Table properties every lake table is created with (docs/decisions/0001-iceberg-lake.md). */
export const ICEBERG_TABLE_PROPERTIES: Readonly<Record<string, string>> = {
  'format-version': '2',
  'write.delete.mode': 'copy-on-write',
  'write.update.mode': 'copy-on-write',
  'write.merge.mode': 'copy-on-write',
  'write.parquet.compression-codec': 'zstd',
  // Each date's commits add a manifest per table; Iceberg merges them only from 100 on, and every
  // scan plan reads them all (a 90-date backfill: 90 manifests read by each of a date's scans).
  'commit.manifest.min-count-to-merge': '10',
};

/** Partition field ids start here (Iceberg reserves lower ids for schema fields). */
const FIRST_PARTITION_FIELD_ID = 1000;

/** Glue (Hive) primitive types of the contract and their Iceberg names. */
const ICEBERG_PRIMITIVES: Readonly<Record<string, string>> = {
  string: 'string',
  bigint: 'long',
  int: 'int',
  boolean: 'boolean',
  float: 'float',
  double: 'double',
  date: 'date',
  // Spark's TimestampType (an instant, written as UTC) is Iceberg's timestamptz.
  timestamp: 'timestamptz',
};
const GLUE_PRIMITIVES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ICEBERG_PRIMITIVES).map(([glueType, icebergType]) => [icebergType, glueType]),
);

const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const ARRAY = /^array<(.+)>$/;

/** An Iceberg list type as the Iceberg spec serializes it (JSON), with lowercase spec keys. */
interface IcebergListType {
  readonly type: 'list';
  readonly 'element-id': number;
  readonly 'element-required': boolean;
  readonly element: string;
}

function icebergPrimitive(glueType: string): string {
  const type = glueType.trim().toLowerCase();
  const decimal = DECIMAL.exec(type);
  // Iceberg's canonical spelling (what Glue and Iceberg write back into the table metadata).
  if (decimal) return `decimal(${decimal[1]}, ${decimal[2]})`;
  const iceberg = ICEBERG_PRIMITIVES[type];
  if (!iceberg) throw new Error(`no Iceberg type for Glue type '${glueType}'`);
  return iceberg;
}

/**
 * The value of `IcebergStructField.Type` for a column of Glue type `glueType`. A primitive is its
 * Iceberg name (`long`, `timestamptz`, `decimal(16, 2)`, …). A list is the Iceberg type's JSON
 * document (`{"type":"list","element-id":…,"element-required":false,"element":"string"}`) as a
 * string: the Glue API takes the field type as a JSON value and CloudFormation's
 * `AWS::Glue::Table IcebergStructField.Type` is a String, so the nested type is passed as its JSON
 * text. Its element takes the id `nextId()`.
 */
export function icebergFieldType(glueType: string, nextId: () => number): string {
  const array = ARRAY.exec(glueType.trim().toLowerCase());
  if (!array) return icebergPrimitive(glueType);
  const list: IcebergListType = {
    type: 'list',
    'element-id': nextId(),
    // Spark writes arrays whose elements may be null (containsNull).
    'element-required': false,
    element: icebergPrimitive(array[1]),
  };
  return JSON.stringify(list);
}

/** The Glue (Hive) notation of an `IcebergStructField.Type` value (the inverse of {@link icebergFieldType}). */
export function glueColumnType(icebergType: string): string {
  const type = icebergType.trim();
  if (type.startsWith('{')) {
    const nested = JSON.parse(type) as Partial<IcebergListType>;
    if (nested.type !== 'list' || typeof nested.element !== 'string') {
      throw new Error(`unsupported nested Iceberg type ${type}`);
    }
    return `array<${glueColumnType(nested.element)}>`;
  }
  const decimal = DECIMAL.exec(type);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  const glueType = GLUE_PRIMITIVES[type];
  if (!glueType) throw new Error(`no Glue type for Iceberg type '${icebergType}'`);
  return glueType;
}

/** Iceberg's default name of a partition field (`ingest_date`, `transaction_ts_month`). */
export function partitionFieldName(column: string, transform: PartitionTransform): string {
  return transform === 'identity' ? column : `${column}_${transform}`;
}

/** The Iceberg table definition of a contract table (schema, partition spec, properties). */
export function icebergTableInput(
  table: Pick<TableContract, 'columns' | 'partitionSpec'>,
  location: string,
): glue.CfnTable.IcebergTableInputProperty {
  // Ids in column order, a list's element right after its column (depth first). Columns are only
  // ever added at the end (docs/schema-evolution.md), and Iceberg's ADD COLUMN takes the table's
  // last id + 1: so a later contract version's definition keeps every existing id and gives the
  // new columns the ids the live table gave them.
  let lastId = 0;
  const nextId = () => ++lastId;
  const fieldIds = new Map<string, number>();
  const fields = table.columns.map((c): glue.CfnTable.IcebergStructFieldProperty => {
    if (fieldIds.has(c.name)) throw new Error(`column ${c.name} appears twice`);
    const id = nextId();
    fieldIds.set(c.name, id);
    return { id, name: c.name, type: icebergFieldType(c.type, nextId), required: false };
  });
  const partitionFields = table.partitionSpec.map((p, i): glue.CfnTable.IcebergPartitionFieldProperty => {
    const sourceId = fieldIds.get(p.column);
    if (sourceId === undefined) throw new Error(`partition source column ${p.column} is not a column of the table`);
    return {
      fieldId: FIRST_PARTITION_FIELD_ID + i,
      name: partitionFieldName(p.column, p.transform),
      sourceId,
      transform: p.transform,
    };
  });
  return {
    location,
    schema: { type: 'struct', schemaId: 0, fields },
    partitionSpec: { specId: 0, fields: partitionFields },
    properties: { ...ICEBERG_TABLE_PROPERTIES },
  };
}

/**
 * The Glue Data Catalog of the lake, generated from the contract: one database and the lake's
 * tables as Apache Iceberg (format v2) tables, created by Glue with their schema, partition spec
 * and properties (`OpenTableFormatInput`, no Hive `TableInput`: no storage descriptor, no
 * partition projection, no crawler). The Glue job commits to them (GlueCatalog); Athena reads them
 * natively.
 */
export class LakeCatalog extends Construct implements ILakeCatalog {
  readonly databaseName: string;
  readonly catalogArn: string;
  readonly databaseArn: string;
  readonly tableNames: readonly string[];
  /** The tables by name. */
  readonly tables: Readonly<Record<string, LakeTable>>;
  /** The `AWS::Glue::Table` resources by table name. */
  readonly cfnTables: Readonly<Record<string, glue.CfnTable>>;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: props.databaseName,
        description: `txlake lake tables (Apache Iceberg), contract v${props.contract.version}`,
      },
    });
    this.databaseName = props.databaseName;
    this.catalogArn = stack.formatArn({ service: 'glue', resource: 'catalog', arnFormat: ArnFormat.NO_RESOURCE_NAME });
    this.databaseArn = stack.formatArn({ service: 'glue', resource: 'database', resourceName: props.databaseName });

    const tables: Record<string, LakeTable> = {};
    const cfnTables: Record<string, glue.CfnTable> = {};
    for (const [name, table] of Object.entries(props.contract.tables)) {
      const prefix = table.prefix.replace(/^\/+|\/+$/g, '');
      const location = `s3://${props.layerBuckets[table.layer].bucketName}/${prefix}`;
      // Only the Iceberg input: a `TableInput` next to it makes CloudFormation rewrite the table as
      // a Hive table (dropping `table_type=ICEBERG` and its metadata location) on the next update.
      const cfn = new glue.CfnTable(this, `${name}Table`, {
        catalogId: stack.account,
        databaseName: props.databaseName,
        name,
        openTableFormatInput: {
          icebergInput: {
            metadataOperation: 'CREATE',
            version: ICEBERG_TABLE_PROPERTIES['format-version'],
            icebergTableInput: icebergTableInput(table, location),
          },
        },
      });
      cfn.addResourceDependency(database);
      cfnTables[name] = cfn;
      tables[name] = {
        tableName: name,
        tableArn: stack.formatArn({
          service: 'glue',
          resource: 'table',
          resourceName: `${props.databaseName}/${name}`,
        }),
        layer: table.layer,
        prefix: `${prefix}/`,
        location,
      };
    }
    this.tables = tables;
    this.cfnTables = cfnTables;
    this.tableNames = Object.keys(tables);
  }

  table(tableName: string): LakeTable {
    const table = this.tables[tableName];
    if (!table) throw new Error(`the catalog ${this.databaseName} has no table ${tableName}`);
    return table;
  }

  grantReadTables(grantee: iam.IGrantable, tableNames: readonly string[] = this.tableNames): iam.Grant {
    return this.grantTables(grantee, ['glue:GetDatabase', 'glue:GetTable'], tableNames);
  }

  grantCommit(grantee: iam.IGrantable, tableNames: readonly string[] = this.tableNames): iam.Grant {
    return this.grantTables(grantee, ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'], tableNames);
  }

  private grantTables(grantee: iam.IGrantable, actions: string[], tableNames: readonly string[]): iam.Grant {
    if (tableNames.length === 0) throw new Error('a catalog grant names at least one table');
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      // Glue authorizes a table action on the catalog, the database and the table.
      resourceArns: [this.catalogArn, this.databaseArn, ...tableNames.map((t) => this.table(t).tableArn)],
    });
  }
}
