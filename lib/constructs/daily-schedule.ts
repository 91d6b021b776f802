import { Duration, TimeZone } from 'aws-cdk-lib';
import { SCHEDULE_EXPRESSION } from '../../core/run-plan';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface DailyScheduleProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly key: kms.IKey;
  /**
   * IANA time zone of the 02:00 start; the run processes the previous day in this zone.
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * Whether the schedule is switched on.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Attempts to start the execution before the tick goes to the dead-letter queue.
   * @default 3
   */
  readonly retryAttempts?: number;
}

/** EventBridge Scheduler at 02:00 every day, starting the pipeline for the previous day. */
export class DailySchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: DailyScheduleProps) {
    super(scope, id);
    const timeZone = props.timeZone ?? 'UTC';
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `txlake nightly run at 02:00 ${timeZone}`,
      schedule: scheduler.ScheduleExpression.expression(SCHEDULE_EXPRESSION, TimeZone.of(timeZone)),
      enabled: props.enabled ?? true,
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        // The resolve step turns the tick into "the previous day in the schedule's zone" (and the
        // day before it after a tick that daylight saving skipped: core/run-plan scheduledDates).
        input: scheduler.ScheduleTargetInput.fromObject({ scheduled_time: scheduler.ContextAttribute.scheduledTime }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: props.retryAttempts ?? 3,
        maxEventAge: Duration.hours(6),
      }),
    });
  }
}
