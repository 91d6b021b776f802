import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
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
import { PipelineStateMachine } from '../constructs/pipeline-state-machine';
import type { EnvironmentSettings } from '../settings';
import {
  BRONZE_PREFIX,
  GOLD_BALANCES_PREFIX,
  GOLD_REFRESH_PREFIX,
  RUNS_PREFIX,
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
      // Journals younger than the state machine's timeout may belong to a run still in flight.
      JOURNAL_RECOVERY_MIN_AGE_MINUTES: String(24 * 60),
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
    const publish = step('Publish', 'publish', 'txlake: publish audited outputs of a date');
    const publishGold = step('PublishGold', 'publish-gold', 'txlake: publish refreshed gold months');
    const recordRun = step('RecordRun', 'record-run', 'txlake: record how a date ended');

    // Grants per step: each reads and writes only what it touches, with explicit actions.
    const lakeLayers = ['silver', 'gold', 'quarantine', 'condemned'] as const;
    storage.grantReadWrite('staging', resolveRun.function); // rolls back a dead run's journal
    for (const layer of lakeLayers) storage.grantReadWrite(layer, resolveRun.function);
    storage.grantRead('bronze', validateLanding.function, BRONZE_PREFIX);
    storage.grantReadWrite('staging', validateLanding.function, RUNS_PREFIX);
    storage.grantRead('staging', qualityGate.function, RUNS_PREFIX);
    storage.grantReadWrite('staging', publish.function);
    for (const layer of ['silver', 'quarantine', 'condemned'] as const) storage.grantReadWrite(layer, publish.function);
    storage.grantReadWrite('gold', publish.function); // rolls back a dead run's gold journal
    storage.grantReadWrite('staging', publishGold.function);
    storage.grantReadWrite('gold', publishGold.function);
    // Recording a date commits or rolls back what it published, and files the report.
    storage.grantReadWrite('staging', recordRun.function);
    for (const layer of lakeLayers) storage.grantReadWrite(layer, recordRun.function);
    storage.grantRead('athenaResults', recordRun.function);

    const job = new IngestionJob(this, 'IngestionJob', {
      envName: settings.envName,
      contract: props.contract,
      storage,
    });

    this.pipeline = new PipelineStateMachine(this, 'Pipeline', {
      envName: settings.envName,
      functions: {
        resolveRun: resolveRun.function,
        validateLanding: validateLanding.function,
        qualityGate: qualityGate.function,
        publish: publish.function,
        publishGold: publishGold.function,
        recordRun: recordRun.function,
      },
      job: job.job,
      workgroup: props.workgroup,
      catalog: props.catalog,
      goldRefreshSql: loadSql('gold_monthly_balances', {
        STAGING_BUCKET: buckets.staging.bucketName,
        GOLD_REFRESH_PREFIX,
      }),
      balanceHistorySql: loadSql('balance_history'),
      reportParameters: balanceHistoryParameters(settings.reportQuarter),
      topic: this.topic,
      logKey: key,
      logRetentionDays: settings.logRetentionDays,
      retryAttempts: settings.stepRetryAttempts,
    });

    // The Athena steps read silver and gold and write the refresh output and query results.
    const machine = this.pipeline.stateMachine;
    storage.grantRead('silver', machine, SILVER_PREFIX);
    storage.grantRead('gold', machine, GOLD_BALANCES_PREFIX);
    storage.grantObjects('staging', machine, { prefix: GOLD_REFRESH_PREFIX, read: true, write: true });
    storage.grantObjects('athenaResults', machine, { read: true, write: true });

    // The CLI's aws target finds the deployment through these outputs.
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    new CfnOutput(this, 'StagingBucketName', { value: buckets.staging.bucketName });

    new PipelineMonitoring(this, 'Monitoring', {
      envName: settings.envName,
      stateMachine: this.pipeline.stateMachine,
      topic: this.topic,
      metricsNamespace,
      functions: [resolveRun, validateLanding, qualityGate, publish, publishGold, recordRun].map((s) => s.function),
      maxQuarantineRatio: settings.maxQuarantineRatio,
      expectDailyFiles: settings.scheduleEnabled,
    });

    new DailySchedule(this, 'DailySchedule', {
      stateMachine: this.pipeline.stateMachine,
      key,
      timeZone: settings.scheduleTimeZone,
      enabled: settings.scheduleEnabled,
    });
  }
}
