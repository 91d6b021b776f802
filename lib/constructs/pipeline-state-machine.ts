import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { tracedStateMachine, TRANSIENT_LAMBDA_ERRORS } from './date-batch-state-machine';

export interface PipelineStateMachineProps {
  readonly envName: string;
  /** Resolves the execution input into monthly batches of dates, taking the lake's lease. */
  readonly resolveRun: lambda.IFunction;
  /** Releases the lake's lease at the end of the run. */
  readonly releaseLease: lambda.IFunction;
  /** Processes one batch of dates (DateBatchStateMachine); one execution of it per batch. */
  readonly dateBatches: sfn.IStateMachine;
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
   * @default 30
   */
  readonly logRetentionDays?: number;
}

/** The entry state machine's name in an environment (IAM policies name its executions by it). */
export const pipelineStateMachineName = (envName: string): string => `txlake-${envName}-pipeline`;

/** Errors of Step Functions' own API when starting a child execution: worth a retry. */
const TRANSIENT_START_ERRORS = ['StepFunctions.SdkClientException', 'StepFunctions.AWSStepFunctionsException'];

/**
 * The state machine users start (the 02:00 schedule, the console, the CLI) with `{"date"}` or
 * `{"from", "to"}`: it resolves the run into calendar-month batches of dates, taking the lake's
 * lease, and starts one execution of the date-batch state machine per batch, in order, waiting for
 * each (`startExecution.sync:2`). Its history grows by about ten events per month whatever the
 * batch holds, and each child's by one month of dates, so no execution comes near Step Functions'
 * 25,000 events (SPEC §1 backfill). A failed batch fails this execution at that batch (the child
 * has recorded the date, notified and released the lease); a redrive starts that batch again, and
 * its child skips the dates already finished.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    const attempts = props.retryAttempts ?? 3;
    const interval = Duration.seconds(props.retryIntervalSeconds ?? 30);
    const retry = { maxAttempts: attempts, backoffRate: 2, interval, jitterStrategy: sfn.JitterType.FULL };

    const resolveRun = new tasks.LambdaInvoke(this, 'ResolveRun', {
      lambdaFunction: props.resolveRun,
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
    if (attempts > 0) resolveRun.addRetry({ errors: TRANSIENT_LAMBDA_ERRORS, ...retry });

    const processDates = new tasks.StepFunctionsStartExecution(this, 'ProcessDates', {
      stateMachine: props.dateBatches,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      input: sfn.TaskInput.fromObject({
        execution_id: sfn.JsonPath.stringAt('$.execution_id'),
        lease_holder: sfn.JsonPath.executionId,
        dates: sfn.JsonPath.arrayGetItem(sfn.JsonPath.listAt('$.batches'), sfn.JsonPath.numberAt('$.index')),
      }),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.hours(24)),
    });
    if (attempts > 0) processDates.addRetry({ errors: TRANSIENT_START_ERRORS, ...retry });

    const advance = new sfn.Pass(this, 'NextBatch', {
      parameters: {
        execution_id: sfn.JsonPath.stringAt('$.execution_id'),
        batches: sfn.JsonPath.listAt('$.batches'),
        count: sfn.JsonPath.numberAt('$.count'),
        index: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.index'), 1),
      },
    });
    const releaseLease = new tasks.LambdaInvoke(this, 'ReleaseLease', {
      lambdaFunction: props.releaseLease,
      payload: sfn.TaskInput.fromObject({ execution_id: sfn.JsonPath.executionId }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
    });
    if (attempts > 0) releaseLease.addRetry({ errors: TRANSIENT_LAMBDA_ERRORS, ...retry });

    const moreBatches = new sfn.Choice(this, 'MoreBatches')
      .when(sfn.Condition.numberLessThanJsonPath('$.index', '$.count'), processDates.next(advance))
      .otherwise(releaseLease.next(new sfn.Succeed(this, 'AllDatesDone')));
    advance.next(moreBatches);

    this.stateMachine = tracedStateMachine(this, {
      stateMachineName: pipelineStateMachineName(props.envName),
      definitionBody: sfn.DefinitionBody.fromChainable(resolveRun.next(moreBatches)),
      // No execution timeout: a backfill of years runs for days, and each batch is bounded by its
      // own execution's 24 hours (and the ProcessDates task's timeout).
      logKey: props.logKey,
      logRetentionDays: props.logRetentionDays,
    });
  }
}
