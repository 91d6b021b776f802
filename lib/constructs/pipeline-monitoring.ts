import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface PipelineMonitoringProps {
  readonly envName: string;
  readonly stateMachine: sfn.IStateMachine;
  readonly topic: sns.ITopic;
  /** Namespace the Lambda steps publish their Powertools metrics in. */
  readonly metricsNamespace: string;
  readonly functions: readonly lambda.IFunction[];
  /** The quality gate's limit (0..1); the ratio alarm warns at `quarantineWarningShare` of it. */
  readonly maxQuarantineRatio: number;
  /**
   * Share of the gate's limit at which the quarantine ratio alarm warns.
   * @default 0.5
   */
  readonly quarantineWarningShare?: number;
  /**
   * Alarm when no file landed in a day (only meaningful when files are expected daily).
   * @default true
   */
  readonly expectDailyFiles?: boolean;
}

/**
 * Alarms (failed or timed-out executions, a high quarantine ratio, no file landed for a day),
 * each notifying the pipeline's SNS topic, and a dashboard of the pipeline's health.
 */
export class PipelineMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const metric = (metricName: string, statistic: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: 'txlake' },
        statistic,
        period,
      });
    const notify = new actions.SnsAction(props.topic);
    const alarm = (
      alarmId: string,
      description: string,
      options: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric },
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `txlake-${props.envName}-${alarmId}`,
        alarmDescription: `${description} Runbook: docs/runbook.md#${alarmId.toLowerCase()}`,
        ...options,
      });
      a.addAlarmAction(notify);
      this.alarms.push(a);
      return a;
    };

    const failed = props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' });
    const timedOut = props.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' });
    alarm('ExecutionsFailed', 'A pipeline execution failed: a date did not publish.', {
      metric: failed,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('ExecutionsTimedOut', 'A pipeline execution hit its timeout.', {
      metric: timedOut,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const ratio = metric('QuarantineRatio', 'Maximum', Duration.hours(1));
    const warningPercent = props.maxQuarantineRatio * 100 * (props.quarantineWarningShare ?? 0.5);
    alarm('QuarantineRatioHigh', `A date quarantined more than ${warningPercent.toFixed(1)}% of its rows.`, {
      metric: ratio,
      threshold: warningPercent,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const landed = metric('FilesLanded', 'Sum', Duration.days(1));
    if (props.expectDailyFiles ?? true) {
      alarm('NoFileLanded', 'No file landed for the day processed in the last 24 hours.', {
        metric: landed,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `txlake-${props.envName}` });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions',
        left: [
          props.stateMachine.metricStarted({ period: Duration.hours(1) }),
          props.stateMachine.metricSucceeded({ period: Duration.hours(1) }),
          failed,
          timedOut,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Quarantine ratio (%)',
        left: [ratio],
        leftAnnotations: [{ value: props.maxQuarantineRatio * 100, label: 'gate' }],
      }),
      new cloudwatch.GraphWidget({
        title: 'Files and rows',
        left: [landed, metric('FilesRejected', 'Sum', Duration.days(1))],
        right: [metric('RowsRead', 'Sum', Duration.days(1))],
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda step errors',
        left: props.functions.map((f) => f.metricErrors({ period: Duration.hours(1) })),
      }),
    );
  }
}
