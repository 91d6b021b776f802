import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { ILakeCatalog } from './lake-catalog';

export interface AthenaQueryTaskProps extends Omit<
  tasks.AthenaStartQueryExecutionProps,
  'workGroup' | 'queryExecutionContext' | 'resultConfiguration'
> {
  /** The workgroup the query runs in; it enforces the result location and its encryption. */
  readonly workGroup: string;
  /**
   * The catalog holding the (Iceberg) tables the query reads: its database is the query's default
   * database (unqualified table names resolve in it, in the AwsDataCatalog).
   */
  readonly catalog: ILakeCatalog;
  /**
   * The tables the query reads, by name; the task may read their catalog entries only.
   * @default every table of the catalog
   */
  readonly tables?: readonly string[];
}

/**
 * An Athena StartQueryExecution task with least-privilege permissions. The state is rendered
 * exactly as by AthenaStartQueryExecution (same ASL); only the policy differs. CDK's task grants
 * `s3:GetObject`/`s3:PutObject`/`s3:ListBucket`/`s3:CreateBucket` and `lakeformation:GetDataAccess`
 * on `*`, and Glue catalog writes (CreateTable, DeleteDatabase, …) on the database; this task
 * grants only the workgroup's query actions and read access to the catalog entries of the tables
 * the query reads (`glue:GetDatabase`, `glue:GetTable`: Athena finds an Iceberg table's current
 * metadata file through its entry; Iceberg tables have no Glue partitions). S3 and KMS access (the
 * tables' locations, the refresh output, the results bucket and the lake key) is granted by the
 * stack through MedallionStorage, per prefix. The lake is not governed by Lake Formation, so
 * `lakeformation:GetDataAccess` is not needed. Athena never writes the Iceberg tables.
 */
export class AthenaQueryTask extends tasks.AthenaStartQueryExecution {
  protected override readonly taskPolicies: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: AthenaQueryTaskProps) {
    super(scope, id, {
      ...props,
      workGroup: props.workGroup,
      queryExecutionContext: { databaseName: props.catalog.databaseName },
    });
    const stack = Stack.of(this);
    this.taskPolicies = [
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryResults',
        ],
        resources: [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workGroup })],
      }),
      new iam.PolicyStatement({
        actions: ['athena:GetDataCatalog'],
        resources: [stack.formatArn({ service: 'athena', resource: 'datacatalog', resourceName: 'AwsDataCatalog' })],
      }),
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable'],
        resources: [
          props.catalog.catalogArn,
          props.catalog.databaseArn,
          ...(props.tables ?? props.catalog.tableNames).map((t) => props.catalog.table(t).tableArn),
        ],
      }),
    ];
  }
}
