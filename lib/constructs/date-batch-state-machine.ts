import { Duration } from 'aws-cdk-lib';
import type * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { IAnalyticsWorkgroup } from './analytics-workgroup';
import { AthenaQueryTask } from './athena-query-task';
import { GlueJobRunTask } from './glue-job-run-task';
import { JOB_MODE_ARGUMENT } from './ingestion-job';
import { GOLD_REFRESH_PREFIX, TABLES } from '../../core/lake-layout';
import type { ILakeCatalog } from './lake-catalog';

/** The pipeline's Lambda steps. */
export interface PipelineFunctions {
  readonly resolveRun: lambda.IFunction;
  readonly validateLanding: lambda.IFunction;
  readonly qualityGate: lambda.IFunction;
  readonly publish: lambda.IFunction;
  readonly recordRun: lambda.IFunction;
  readonly releaseLease: lambda.IFunction;
}

export interface DateBatchStateMachineProps {
  readonly envName: string;
  readonly functions: PipelineFunctions;
  readonly job: glue.IJob;
  /** The workgroup the Athena steps run in. */
  readonly workgroup: IAnalyticsWorkgroup;
  /** The catalog database holding the tables the SQL names. */
  readonly catalog: ILakeCatalog;
  /**
   * Text of sql/gold_monthly_balances.sql with deployment placeholders filled in, its UNLOAD
   * target a `States.Format` template: `s3://<staging bucket>/{}` (`{}` becomes a fresh key prefix
   * under `gold-refresh/` per chunk and attempt).
   */
  readonly goldRefreshSql: string;
  /** Text of sql/balance_history.sql. */
  readonly balanceHistorySql: string;
  /** Execution parameters of the balance history for the reporting quarter. */
  readonly reportParameters: string[];
  readonly topic: sns.ITopic;
  /** Encrypts the execution log group (the lake key). */
  readonly logKey: kms.IKey;
  /**
   * Attempts of a step on transient errors (exponential backoff).
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * First retry interval; each next one doubles.
   * @default 30
   */
  readonly retryIntervalSeconds?: number;
  /**
   * A Glue job run taking longer fails (the state itself allows 15 more minutes to start).
   * @default 60
   */
  readonly glueTimeoutMinutes?: number;
  /**
   * @default 30
   */
  readonly logRetentionDays?: number;
}

/**
 * The SQL on one line, without its comment lines: it becomes a string literal of an intrinsic
 * function (`States.Format`). A comment after code on a line would swallow the rest: refused.
 */
export function oneLineSql(sql: string): string {
  const lines = sql
    .split('\n')
    .filter((line) => !/^\s*(--.*)?$/.test(line))
    .map((line) => line.trim());
  const commented = lines.find((line) => line.includes('--'));
  if (commented) throw new Error(`the SQL has a comment after code, which one line cannot keep: ${commented}`);
  return lines.join(' ');
}

/** The child state machine's name in an environment (IAM policies name its executions by it). */
export const dateBatchStateMachineName = (envName: string): string => `txlake-${envName}-dates`;

/** Errors of the AWS services themselves (throttling, outages): worth a retry. Data errors are not. */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
];
const TRANSIENT_GLUE_ERRORS = [
  'Glue.ConcurrentRunsExceededException',
  'Glue.InternalServiceException',
  'Glue.OperationTimeoutException',
  'Glue.ThrottlingException',
  'Glue.AWSGlueException',
  // Not States.TaskFailed: Step Functions matches it against every task error, so a failed job
  // run (a script bug, denied access) would be retried like a throttled API call.
];
export const TRANSIENT_ATHENA_ERRORS = [
  'Athena.TooManyRequestsException',
  'Athena.InternalServerException',
  'Athena.AmazonAthenaException',
];

/**
 * The child state machine of txlake: one batch (a calendar month) of the entry execution's dates
 * (PipelineStateMachine starts one execution of it per batch). It confirms the lake's lease for the
 * entry execution and skips the dates that execution has finished, then for each date in ascending
 * order: validate landing → Glue job writing the date to Iceberg audit branches → quality gate
 * (which also plans the gold refresh) → publish (one Iceberg commit per table, by the Glue job) →
 * gold refresh (Athena, in chunks of at most 100 partitions) → gold publish (one commit, by the
 * Glue job) → balance report → rejected files (the date's commit point) → record. A failure before
 * the commit point restores the tables the date had published (Iceberg commits back to each table's
 * state before it), records the date, notifies, releases the lease and fails the batch; a failure
 * after it records the date SUCCEEDED. Local mode executes this very definition, taken from the
 * synthesized template.
 */
export class DateBatchStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DateBatchStateMachineProps) {
    super(scope, id);
    const attempts = props.retryAttempts ?? 3;
    const interval = Duration.seconds(props.retryIntervalSeconds ?? 30);
    const f = props.functions;
    const retryTransient = <T extends sfn.TaskStateBase | sfn.Map>(task: T, errors: string[]): T => {
      if (attempts > 0) {
        task.addRetry({ errors, maxAttempts: attempts, backoffRate: 2, interval, jitterStrategy: sfn.JitterType.FULL });
      }
      return task;
    };
    const invoke = (
      id: string,
      fn: lambda.IFunction,
      payload: Record<string, unknown>,
      resultPath: string | undefined,
    ) =>
      retryTransient(
        new tasks.LambdaInvoke(this, id, {
          lambdaFunction: fn,
          payload: sfn.TaskInput.fromObject(payload),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false, // the transient-error Retry below replaces CDK's default one
          // '$' is the default, left out (aws-local-stepfunctions misreads an explicit "$").
          resultPath: resultPath === '$' ? undefined : (resultPath ?? sfn.JsonPath.DISCARD),
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
        TRANSIENT_LAMBDA_ERRORS,
      );
    const date = sfn.JsonPath.stringAt('$.current.ingest_date');
    const runId = sfn.JsonPath.stringAt('$.current.run_id');

    // The batch's input is the entry execution's; its lease holder is the entry execution.
    const resolveBatch = invoke(
      'ResolveBatch',
      f.resolveRun,
      {
        batch: {
          execution_id: sfn.JsonPath.stringAt('$.execution_id'),
          lease_holder: sfn.JsonPath.stringAt('$.lease_holder'),
          dates: sfn.JsonPath.listAt('$.dates'),
        },
      },
      '$',
    );

    const nextDate = new sfn.Pass(this, 'NextDate', {
      parameters: {
        ingest_date: sfn.JsonPath.arrayGetItem(sfn.JsonPath.listAt('$.dates'), sfn.JsonPath.numberAt('$.index')),
        run_id: sfn.JsonPath.arrayGetItem(sfn.JsonPath.listAt('$.run_ids'), sfn.JsonPath.numberAt('$.index')),
      },
      resultPath: '$.current',
    });

    const validateLanding = invoke(
      'ValidateLanding',
      f.validateLanding,
      { ingest_date: date, run_id: runId },
      '$.current.landing',
    );

    const glueTimeout = Duration.minutes(props.glueTimeoutMinutes ?? 60);
    /** A run of the Glue job in one of its modes (the job's `--job_mode`). */
    const glueRun = (id: string, mode: string, extra: Record<string, string> = {}) =>
      retryTransient(
        new GlueJobRunTask(this, id, {
          glueJobName: props.job.jobName,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
          arguments: sfn.TaskInput.fromObject({
            [JOB_MODE_ARGUMENT]: mode,
            '--run_id': runId,
            '--ingest_date': date,
            ...extra,
          }),
          resultPath: sfn.JsonPath.DISCARD,
          taskTimeout: sfn.Timeout.duration(glueTimeout),
          // The run's own timeout plus time to get capacity.
          stateTimeout: glueTimeout.plus(Duration.minutes(15)),
        }),
        TRANSIENT_GLUE_ERRORS,
      );
    // Write of write–audit–publish: the date's rows go to the tables' audit branches.
    const transformRows = glueRun('TransformRows', 'transform');

    const qualityGate = invoke(
      'QualityGate',
      f.qualityGate,
      { run_id: runId, landing: sfn.JsonPath.objectAt('$.current.landing') },
      '$.current.gate',
    );
    // One Iceberg commit per table: main fast-forwarded to the audited branch.
    const publishTables = glueRun('PublishTables', 'publish');
    // The rejected files, once everything else of the date has succeeded.
    const publish = invoke('Publish', f.publish, { ingest_date: date, run_id: runId }, '$.current.publish');

    // Athena writes at most 100 partitions per query: the refresh runs in the gate's chunks, each
    // into a fresh target (UNLOAD needs an empty one). A retry runs the whole Map again with new
    // targets, so output a failed attempt left behind is never read nor in the way. Each query
    // reads silver from the first changed month on and gold's balances of the month before
    // (incremental: its bytes follow the date's data, not the lake's age).
    const refreshGoldChunk = new AthenaQueryTask(this, 'RefreshGoldChunk', {
      queryString: sfn.JsonPath.format(oneLineSql(props.goldRefreshSql), sfn.JsonPath.stringAt('$.target')),
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      workGroup: props.workgroup.workgroupName,
      catalog: props.catalog,
      tables: [TABLES.silver, TABLES.gold],
      executionParameters: sfn.JsonPath.listAt('$.parameters'),
      resultPath: sfn.JsonPath.DISCARD,
      outputPath: '$.target',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(30)),
    });
    const refreshGold = retryTransient(
      new sfn.Map(this, 'RefreshGold', {
        itemsPath: '$.current.gate.gold.chunks',
        itemSelector: {
          parameters: sfn.JsonPath.listAt('$$.Map.Item.Value.parameters'),
          target: sfn.JsonPath.format(
            `${GOLD_REFRESH_PREFIX}{}/{}-{}/`,
            runId,
            sfn.JsonPath.stringAt('$$.Map.Item.Value.from_month'),
            sfn.JsonPath.uuid(),
          ),
        },
        maxConcurrency: 1,
        resultPath: '$.current.gold_refresh',
      }).itemProcessor(refreshGoldChunk),
      TRANSIENT_ATHENA_ERRORS,
    );
    // The refresh output becomes gold's state from the first changed month on, in one commit.
    const publishGold = glueRun('PublishGold', 'publish-gold', {
      '--from_month': sfn.JsonPath.stringAt('$.current.gate.gold.from_month'),
      '--gold_refresh_targets': sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.current.gold_refresh')),
    });
    const balanceReport = retryTransient(
      new AthenaQueryTask(this, 'BalanceReport', {
        queryString: props.balanceHistorySql,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        workGroup: props.workgroup.workgroupName,
        catalog: props.catalog,
        tables: [TABLES.gold],
        executionParameters: props.reportParameters,
        resultSelector: {
          output_location: sfn.JsonPath.stringAt('$.QueryExecution.ResultConfiguration.OutputLocation'),
        },
        resultPath: '$.current.report',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(10)),
      }),
      TRANSIENT_ATHENA_ERRORS,
    );

    const record = (id: string, status: string) =>
      invoke(
        id,
        f.recordRun,
        { status, execution_id: sfn.JsonPath.stringAt('$.execution_id'), current: sfn.JsonPath.objectAt('$.current') },
        status === 'FAILED' ? '$.current.recorded' : undefined,
      );
    const recordSucceeded = record('RecordSucceeded', 'SUCCEEDED');
    const recordNoData = record('RecordNoData', 'NO_DATA');
    const recordFailed = record('RecordFailed', 'FAILED');
    // A failure after the date's commit point (Publish done) records the date SUCCEEDED.
    const recordCommitted = record('RecordCommitted', 'SUCCEEDED');

    const notifyFailure = new tasks.SnsPublish(this, 'NotifyFailure', {
      topic: props.topic,
      subject: sfn.JsonPath.stringAt('$.current.recorded.notification.subject'),
      message: sfn.TaskInput.fromJsonPathAt('$.current.recorded.notification.message'),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const dateFailed = new sfn.Fail(this, 'DateFailed', {
      error: 'DATE_FAILED',
      cause: 'A date failed; the run stops at the first failed date (see its run record)',
    });
    // The entry execution holds the lease; a failed batch ends the run, so it releases it here.
    const releaseAfterFailure = invoke(
      'ReleaseLeaseAfterFailure',
      f.releaseLease,
      { execution_id: sfn.JsonPath.stringAt('$.lease_holder') },
      undefined,
    );
    releaseAfterFailure.addCatch(dateFailed, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    recordFailed.next(notifyFailure).next(releaseAfterFailure).next(dateFailed);
    recordCommitted.addCatch(releaseAfterFailure, { errors: ['States.ALL'], resultPath: '$.current.record_error' });

    // Tables a date published before it failed go back to their state before it (Iceberg commits).
    const restoreTables = glueRun('RestoreTables', 'restore');
    restoreTables.addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.current.restore_error' });
    restoreTables.next(recordFailed);
    const afterFailure = new sfn.Choice(this, 'RestoreNeeded')
      .when(sfn.Condition.isPresent('$.current.publish'), recordCommitted)
      .when(sfn.Condition.isPresent('$.current.gate'), restoreTables)
      .otherwise(recordFailed);

    for (const step of [
      validateLanding,
      transformRows,
      qualityGate,
      publishTables,
      publish,
      refreshGold,
      publishGold,
      balanceReport,
      recordSucceeded,
      recordNoData,
    ]) {
      step.addCatch(afterFailure, { errors: ['States.ALL'], resultPath: '$.current.error' });
    }

    const advance = new sfn.Pass(this, 'Advance', {
      parameters: {
        execution_id: sfn.JsonPath.stringAt('$.execution_id'),
        lease_holder: sfn.JsonPath.stringAt('$.lease_holder'),
        dates: sfn.JsonPath.listAt('$.dates'),
        run_ids: sfn.JsonPath.listAt('$.run_ids'),
        count: sfn.JsonPath.numberAt('$.count'),
        index: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.index'), 1),
      },
    });
    const done = new sfn.Succeed(this, 'BatchDone');
    const moreDates = new sfn.Choice(this, 'MoreDates');

    recordSucceeded.next(advance);
    recordNoData.next(advance);
    recordCommitted.next(advance);
    advance.next(moreDates);

    const goldNeeded = new sfn.Choice(this, 'GoldChanged')
      .when(sfn.Condition.isNull('$.current.gate.gold.from_month'), balanceReport)
      .otherwise(refreshGold.next(publishGold).next(balanceReport));
    balanceReport.next(publish).next(recordSucceeded);

    const landed = new sfn.Choice(this, 'AnyFilesLanded')
      .when(sfn.Condition.numberEquals('$.current.landing.files_total', 0), recordNoData)
      .otherwise(transformRows.next(qualityGate).next(publishTables).next(goldNeeded));

    moreDates
      .when(sfn.Condition.numberLessThanJsonPath('$.index', '$.count'), nextDate.next(validateLanding).next(landed))
      .otherwise(done);

    this.stateMachine = tracedStateMachine(this, {
      stateMachineName: dateBatchStateMachineName(props.envName),
      definitionBody: sfn.DefinitionBody.fromChainable(resolveBatch.next(moreDates)),
      timeout: Duration.hours(24),
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
    });
  }
}

/**
 * A state machine (`StateMachine`) of txlake: X-Ray tracing, and every event with its data logged
 * to its own log group (`Logs`) encrypted with the lake key.
 */
export function tracedStateMachine(
  scope: Construct,
  props: Pick<sfn.StateMachineProps, 'stateMachineName' | 'definitionBody' | 'timeout'> & {
    readonly logKey: kms.IKey;
    readonly logRetentionDays?: number;
  },
): sfn.StateMachine {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: (props.logRetentionDays ?? 30) as logs.RetentionDays,
    encryptionKey: props.logKey,
  });
  return new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.stateMachineName,
    definitionBody: props.definitionBody,
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });
}
