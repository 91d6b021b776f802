import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { Contract } from '../../core/contract';
import { DailySchedule } from '../constructs/daily-schedule';
import { IngestionJob } from '../constructs/ingestion-job';
import { grantObjects } from '../constructs/lake-grants';
import { PipelineFunction } from '../constructs/pipeline-function';
import { PipelineMonitoring } from '../constructs/pipeline-monitoring';
import { PipelineStateMachine } from '../constructs/pipeline-state-machine';
import type { EnvironmentSettings } from '../settings';
import { loadSql } from '../../core/sql-files';
import type { StorageStack } from './storage-stack';
import { balanceHistoryParameters } from '../../core/quarter';

export interface PipelineStackProps extends StackProps {
  readonly settings: EnvironmentSettings;
  readonly contract: Contract;
  readonly storage: StorageStack;
}

/** The pipeline: Lambda steps, the Glue job, the state machine, its schedule and notifications. */
export class PipelineStack extends Stack {
  readonly pipeline: PipelineStateMachine;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const { buckets, key, athenaResults } = props.storage.storage;

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
    const all = { read: true, write: true, delete: true };
    const lakeLayers = [buckets.silver, buckets.gold, buckets.quarantine, buckets.condemned];
    grantObjects(resolveRun.function, buckets.staging, key, all); // rolls back a dead run's journal
    for (const b of lakeLayers) grantObjects(resolveRun.function, b, key, all);
    grantObjects(validateLanding.function, buckets.bronze, key, { prefix: 'transactions/', read: true });
    grantObjects(validateLanding.function, buckets.staging, key, {
      prefix: 'runs/',
      read: true,
      write: true,
      delete: true,
    });
    grantObjects(qualityGate.function, buckets.staging, key, { prefix: 'runs/', read: true });
    grantObjects(publish.function, buckets.staging, key, all);
    for (const b of [buckets.silver, buckets.quarantine, buckets.condemned])
      grantObjects(publish.function, b, key, all);
    grantObjects(publish.function, buckets.gold, key, all); // rolls back a dead run's gold journal
    grantObjects(publishGold.function, buckets.staging, key, all);
    grantObjects(publishGold.function, buckets.gold, key, all);
    // Recording a date commits or rolls back what it published, and files the report.
    grantObjects(recordRun.function, buckets.staging, key, all);
    for (const b of lakeLayers) grantObjects(recordRun.function, b, key, all);
    grantObjects(recordRun.function, athenaResults, key, { read: true });

    const job = new IngestionJob(this, 'IngestionJob', {
      envName: settings.envName,
      contract: props.contract,
      bronze: buckets.bronze,
      silver: buckets.silver,
      quarantine: buckets.quarantine,
      staging: buckets.staging,
      key,
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
      workgroupName: props.storage.workgroup.workgroupName,
      databaseName: props.storage.catalog.databaseName,
      goldRefreshSql: loadSql('gold_monthly_balances', { STAGING_BUCKET: buckets.staging.bucketName }),
      balanceHistorySql: loadSql('balance_history'),
      reportParameters: balanceHistoryParameters(settings.reportQuarter),
      stagingBucket: buckets.staging,
      goldBucket: buckets.gold,
      silverBucket: buckets.silver,
      athenaResultsBucket: athenaResults,
      key,
      topic: this.topic,
      logRetentionDays: settings.logRetentionDays,
      retryAttempts: settings.stepRetryAttempts,
    });

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
