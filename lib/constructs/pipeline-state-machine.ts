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
import { TABLES } from '../../core/lake-layout';
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

export interface PipelineStateMachineProps {
  readonly envName: string;
  readonly functions: PipelineFunctions;
  readonly job: glue.IJob;
  /** The workgroup the Athena steps run in. */
  readonly workgroup: IAnalyticsWorkgroup;
  /** The catalog database holding the tables the SQL names. */
  readonly catalog: ILakeCatalog;
  /** Text of sql/gold_monthly_balances.sql with deployment placeholders filled in. */
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

/** The state machine's name in an environment (IAM policies name its executions by it). */
export const pipelineStateMachineName = (envName: string): string => `txlake-${envName}-pipeline`;

/** Errors of the AWS services themselves (throttling, outages): worth a retry. Data errors are not. */
const TRANSIENT_LAMBDA_ERRORS = [
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
const TRANSIENT_ATHENA_ERRORS = [
  'Athena.TooManyRequestsException',
  'Athena.InternalServerException',
  'Athena.AmazonAthenaException',
];

/**
 * The one state machine of txlake: resolve the run (taking the lake's lease), then for each date in
 * ascending order: validate landing → Glue job writing the date to Iceberg audit branches → quality
 * gate (which also plans the gold refresh) → publish (one Iceberg commit per table, by the Glue job)
 * → gold refresh (Athena) → gold publish (one commit, by the Glue job) → balance report → rejected
 * files → record. A failure after the gate restores the tables the date had published (Iceberg
 * commits back to each table's state before it), records the date, notifies and stops the run; the
 * lease is released at the end either way. Local mode executes this very definition, taken from the
 * synthesized template.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    const attempts = props.retryAttempts ?? 3;
    const interval = Duration.seconds(props.retryIntervalSeconds ?? 30);
    const f = props.functions;
    const retryTransient = <T extends sfn.TaskStateBase>(task: T, errors: string[]): T => {
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
          resultPath: resultPath ?? sfn.JsonPath.DISCARD,
          taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        }),
        TRANSIENT_LAMBDA_ERRORS,
      );
    const date = sfn.JsonPath.stringAt('$.current.ingest_date');
    const runId = sfn.JsonPath.stringAt('$.current.run_id');

    const resolveRun = new tasks.LambdaInvoke(this, 'ResolveRun', {
      lambdaFunction: f.resolveRun,
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        execution_name: sfn.JsonPath.executionName,
        execution_id: sfn.JsonPath.executionId,
        start_time: sfn.JsonPath.executionStartTime,
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
    });
    retryTransient(resolveRun, TRANSIENT_LAMBDA_ERRORS);

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

    const refreshGold = retryTransient(
      new AthenaQueryTask(this, 'RefreshGold', {
        queryString: props.goldRefreshSql,
        integrationPattern: sfn.IntegrationPattern.RUN_JOB,
        workGroup: props.workgroup.workgroupName,
        catalog: props.catalog,
        tables: [TABLES.silver],
        executionParameters: sfn.JsonPath.listAt('$.current.gate.gold.parameters'),
        resultPath: sfn.JsonPath.DISCARD,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(30)),
      }),
      TRANSIENT_ATHENA_ERRORS,
    );
    // The refresh output becomes gold's state from the first changed month on, in one commit.
    const publishGold = glueRun('PublishGold', 'publish-gold', {
      '--from_month': sfn.JsonPath.stringAt('$.current.gate.gold.from_month'),
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
    const releaseLease = (id: string) =>
      invoke(id, f.releaseLease, { execution_id: sfn.JsonPath.executionId }, undefined);
    const releaseAfterFailure = releaseLease('ReleaseLeaseAfterFailure');
    releaseAfterFailure.addCatch(dateFailed, { errors: ['States.ALL'], resultPath: sfn.JsonPath.DISCARD });
    recordFailed.next(notifyFailure).next(releaseAfterFailure).next(dateFailed);

    // Tables a date published before it failed go back to their state before it (Iceberg commits).
    const restoreTables = glueRun('RestoreTables', 'restore');
    restoreTables.addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.current.restore_error' });
    restoreTables.next(recordFailed);
    const afterFailure = new sfn.Choice(this, 'RestoreNeeded')
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
        dates: sfn.JsonPath.listAt('$.dates'),
        run_ids: sfn.JsonPath.listAt('$.run_ids'),
        count: sfn.JsonPath.numberAt('$.count'),
        index: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.index'), 1),
      },
    });
    const done = releaseLease('ReleaseLease').next(new sfn.Succeed(this, 'AllDatesDone'));
    const moreDates = new sfn.Choice(this, 'MoreDates');

    recordSucceeded.next(advance);
    recordNoData.next(advance);
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

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: (props.logRetentionDays ?? 30) as logs.RetentionDays,
      encryptionKey: props.logKey,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: pipelineStateMachineName(props.envName),
      definitionBody: sfn.DefinitionBody.fromChainable(resolveRun.next(moreDates)),
      tracingEnabled: true,
      timeout: Duration.hours(24),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
  }
}
