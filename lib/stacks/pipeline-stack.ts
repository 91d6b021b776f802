import { ArnFormat, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { Contract } from '../../core/contract';
import { DailySchedule } from '../constructs/daily-schedule';
import { IngestionJob } from '../constructs/ingestion-job';
import type { IAnalyticsWorkgroup } from '../constructs/analytics-workgroup';
import type { ILakeCatalog } from '../constructs/lake-catalog';
import type { MedallionStorage } from '../constructs/medallion-storage';
import { PipelineFunction } from '../constructs/pipeline-function';
import { PipelineMonitoring } from '../constructs/pipeline-monitoring';
import { DateBatchStateMachine } from '../constructs/date-batch-state-machine';
import { PipelineStateMachine, pipelineStateMachineName } from '../constructs/pipeline-state-machine';
import { TableMaintenance } from '../constructs/table-maintenance';
import type { EnvironmentSettings } from '../settings';
import {
  BRONZE_PREFIX,
  GOLD_BALANCES_PREFIX,
  GOLD_REFRESH_PREFIX,
  LEASE_PREFIX,
  REJECTED_FILES_PREFIX,
  REJECTIONS_PREFIX,
  REPORTS_PREFIX,
  RUN_RECORDS_PREFIX,
  RUNS_PREFIX,
  SCHEDULE_TICKS_PREFIX,
  SILVER_PREFIX,
} from '../../core/lake-layout';
import { loadSql } from '../../core/sql-files';
import { balanceHistoryParameters } from '../../core/quarter';

export interface PipelineStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
  readonly contract: Contract;
  /** The lake's buckets and key; every grant goes through it. */
  readonly storage: MedallionStorage;
  /** The catalog database of the lake's tables. */
  readonly catalog: ILakeCatalog;
  /** The Athena workgroup of the environment. */
  readonly workgroup: IAnalyticsWorkgroup;
}

/** The pipeline: Lambda steps, the Glue job, the state machine, its schedule and notifications. */
export class PipelineStack extends Stack {
  readonly pipeline: PipelineStateMachine;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const { storage } = props;
    const { buckets, key } = storage;

    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: `txlake ${settings.envName} pipeline`,
      masterKey: key,
      enforceSSL: true,
    });
    if (settings.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));

    const environment = {
      BRONZE_BUCKET: buckets.bronze.bucketName,
      SILVER_BUCKET: buckets.silver.bucketName,
      GOLD_BUCKET: buckets.gold.bucketName,
      QUARANTINE_BUCKET: buckets.quarantine.bucketName,
      CONDEMNED_BUCKET: buckets.condemned.bucketName,
      STAGING_BUCKET: buckets.staging.bucketName,
      MAX_QUARANTINE_RATIO: String(settings.maxQuarantineRatio),
      SCHEDULE_TIME_ZONE: settings.scheduleTimeZone,
      REPORT_QUARTER: settings.reportQuarter,
      // RecordRun writes the month before's status report to gold on the first run of a month.
      STATUS_REPORTS: 'on',
      TXLAKE_ENV: settings.envName,
    };
    const metricsNamespace = `txlake/${settings.envName}`;
    const step = (id: string, handlerName: string, description: string) =>
      new PipelineFunction(this, id, {
        handlerName,
        description,
        environment,
        encryptionKey: key,
        reservedConcurrency: settings.lambdaReservedConcurrency,
        metricsNamespace,
        logRetentionDays: settings.logRetentionDays,
      });
    const resolveRun = step('ResolveRun', 'resolve-run', 'txlake: resolve the run input into ingest dates');
    const validateLanding = step('ValidateLanding', 'validate-landing', 'txlake: file-level checks of landed files');
    const qualityGate = step('QualityGate', 'quality-gate', 'txlake: audit the staged counts');
    const publish = step('Publish', 'publish', 'txlake: publish the rejected files of a committed date');
    const recordRun = step('RecordRun', 'record-run', 'txlake: record how a date ended');
    const releaseLease = step('ReleaseLease', 'release-lease', "txlake: release the lake's lease at the end of a run");

    // Grants per step: each reads and writes only what it touches, with explicit actions.
    // ResolveRun takes the lake's lease and claims schedule ticks (staging) and asks whether the
    // execution holding a lease still runs.
    storage.grantReadWrite('staging', resolveRun.function, LEASE_PREFIX);
    storage.grantReadWrite('staging', resolveRun.function, SCHEDULE_TICKS_PREFIX);
    // A child execution skips the dates its entry execution has recorded already (a redrive).
    storage.grantRead('staging', resolveRun.function, RUN_RECORDS_PREFIX);
    resolveRun.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: [
          this.formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${pipelineStateMachineName(settings.envName)}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    storage.grantReadWrite('staging', releaseLease.function, LEASE_PREFIX);
    storage.grantRead('bronze', validateLanding.function, BRONZE_PREFIX);
    storage.grantReadWrite('staging', validateLanding.function, RUNS_PREFIX);
    storage.grantRead('staging', qualityGate.function, RUNS_PREFIX);
    storage.grantReadWrite('staging', publish.function, RUNS_PREFIX);
    storage.grantReadWrite('quarantine', publish.function, REJECTED_FILES_PREFIX);
    storage.grantReadWrite('quarantine', publish.function, REJECTIONS_PREFIX);
    // Recording a date writes its run record and files the balance report in gold.
    storage.grantReadWrite('staging', recordRun.function);
    storage.grantReadWrite('gold', recordRun.function, REPORTS_PREFIX);
    storage.grantRead('athenaResults', recordRun.function);

    const job = new IngestionJob(this, 'IngestionJob', {
      envName: settings.envName,
      contract: props.contract,
      storage,
      catalog: props.catalog,
    });

    const dateBatches = new DateBatchStateMachine(this, 'DateBatches', {
      envName: settings.envName,
      functions: {
        resolveRun: resolveRun.function,
        validateLanding: validateLanding.function,
        qualityGate: qualityGate.function,
        publish: publish.function,
        recordRun: recordRun.function,
        releaseLease: releaseLease.function,
      },
      job: job.job,
      workgroup: props.workgroup,
      catalog: props.catalog,
      // The refresh target is a States.Format placeholder: each chunk and attempt gets a fresh one.
      goldRefreshSql: loadSql('gold_monthly_balances', {
        STAGING_BUCKET: buckets.staging.bucketName,
        GOLD_REFRESH_TARGET: '{}',
      }),
      balanceHistorySql: loadSql('balance_history'),
      reportParameters: balanceHistoryParameters(settings.reportQuarter),
      topic: this.topic,
      logKey: key,
      logRetentionDays: settings.logRetentionDays,
      retryAttempts: settings.stepRetryAttempts,
    });
    this.pipeline = new PipelineStateMachine(this, 'Pipeline', {
      envName: settings.envName,
      resolveRun: resolveRun.function,
      releaseLease: releaseLease.function,
      dateBatches: dateBatches.stateMachine,
      logKey: key,
      logRetentionDays: settings.logRetentionDays,
      retryAttempts: settings.stepRetryAttempts,
    });

    // The Athena steps read silver and gold and write the refresh output and query results.
    const machine = dateBatches.stateMachine;
    storage.grantRead('silver', machine, SILVER_PREFIX);
    storage.grantRead('gold', machine, GOLD_BALANCES_PREFIX);
    storage.grantObjects('staging', machine, { prefix: GOLD_REFRESH_PREFIX, read: true, write: true });
    storage.grantObjects('athenaResults', machine, { read: true, write: true });

    // The CLI's aws target finds the deployment through these outputs.
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'StagingBucketName', { value: buckets.staging.bucketName });
    new CfnOutput(this, 'BronzeBucketName', { value: buckets.bronze.bucketName });
    new CfnOutput(this, 'WorkGroupName', { value: props.workgroup.workgroupName });
    new CfnOutput(this, 'DatabaseName', { value: props.catalog.databaseName });
    new CfnOutput(this, 'GlueJobName', { value: job.job.jobName });

    new PipelineMonitoring(this, 'Monitoring', {
      envName: settings.envName,
      stateMachine: this.pipeline.stateMachine,
      topic: this.topic,
      metricsNamespace,
      functions: [resolveRun, validateLanding, qualityGate, publish, recordRun, releaseLease].map((s) => s.function),
      maxQuarantineRatio: settings.maxQuarantineRatio,
      expectDailyFiles: settings.scheduleEnabled,
    });

    new TableMaintenance(this, 'TableMaintenance', { job: job.job, enabled: settings.scheduleEnabled });

    new DailySchedule(this, 'DailySchedule', {
      stateMachine: this.pipeline.stateMachine,
      key,
      timeZone: settings.scheduleTimeZone,
      enabled: settings.scheduleEnabled,
    });
  }
}
