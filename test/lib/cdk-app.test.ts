import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONTRACT } from '../../core/contract';
import { readProjectContext } from '../../core/environments';
import { type CfnTemplate, resolvePipeline } from '../../runner/local/template-resolver';
import { addTxlakeStacks } from '../../lib/txlake-app';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

function synth(envName = 'dev'): { storage: Template; pipeline: Template } {
  const app = new App({ context: { ...readProjectContext(root), 'aws:cdk:bundling-stacks': [] } });
  const stacks = addTxlakeStacks(app, envName);
  return { storage: Template.fromStack(stacks.storage), pipeline: Template.fromStack(stacks.pipeline) };
}

const { storage, pipeline } = synth();

describe('storage stack', () => {
  test('one KMS-encrypted, versioned, SSL-only, private bucket per lake layer', () => {
    const buckets = storage.findResources('AWS::S3::Bucket');
    const layers = Object.values(buckets)
      .map((b) => (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'])
      .filter(Boolean)
      .sort();
    expect(layers).toEqual(['athena-results', 'bronze', 'condemned', 'gold', 'quarantine', 'silver', 'staging']);
    for (const [id, bucket] of Object.entries(buckets)) {
      const props = bucket.Properties as Record<string, unknown>;
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const sse = (
        props.BucketEncryption as {
          ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[];
        }
      ).ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm;
      // Only the access-log bucket is SSE-S3: S3 cannot deliver server access logs to a KMS bucket.
      expect(sse).toBe(id.startsWith('StorageAccessLogs') ? 'AES256' : 'aws:kms');
    }
    const policies = storage.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(Object.keys(buckets).length);
    for (const policy of Object.values(policies)) {
      expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
    }
  });

  test('the lake key rotates', () => {
    storage.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('condemned rows are kept seven years', () => {
    const condemned = Object.values(storage.findResources('AWS::S3::Bucket')).find(
      (b) => (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'] === 'condemned',
    );
    expect(JSON.stringify(condemned?.Properties)).toContain('"ExpirationInDays":2555');
  });

  test('Glue tables come from the contract, with projected partitions', () => {
    for (const [name, table] of Object.entries(CONTRACT.tables)) {
      storage.hasResourceProperties('AWS::Glue::Table', {
        TableInput: Match.objectLike({
          Name: name,
          PartitionKeys: table.partitionKeys.map((k) => ({ Name: k.name, Type: k.type })),
          Parameters: Match.objectLike({ 'projection.enabled': 'true' }),
          StorageDescriptor: Match.objectLike({ Columns: table.columns.map((c) => ({ Name: c.name, Type: c.type })) }),
        }),
      });
    }
  });

  test('the gold table projects the snapshot tail partition (year 9999) next to real years', () => {
    const gold = Object.values(storage.findResources('AWS::Glue::Table')).find(
      (t) => (t.Properties as { TableInput: { Name: string } }).TableInput.Name === 'gold_monthly_balances',
    );
    const params = (gold!.Properties as { TableInput: { Parameters: Record<string, string> } }).TableInput.Parameters;
    expect(params['projection.year.type']).toBe('enum');
    const years = params['projection.year.values'].split(',');
    expect(years).toEqual(expect.arrayContaining(['2000', '2024', '2199', '9999']));
    expect(params['projection.month.range']).toBe('1,12');
  });

  test('an enforced Athena engine v3 workgroup with encrypted results', () => {
    storage.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: Match.objectLike({ EncryptionOption: 'SSE_KMS' }),
        }),
      }),
    });
  });
});

describe('pipeline stack', () => {
  test('the Glue 5.0 job runs the repository script with the contract', () => {
    pipeline.hasResourceProperties('AWS::Glue::Job', {
      GlueVersion: '5.0',
      Command: Match.objectLike({ Name: 'glueetl' }),
      DefaultArguments: Match.objectLike({ '--contract': Match.stringLikeRegexp('"currencies"') }),
    });
  });

  test('six traced Node.js Lambda steps', () => {
    const functions = pipeline.findResources('AWS::Lambda::Function', {
      Properties: { TracingConfig: { Mode: 'Active' } },
    });
    const handlers = Object.values(functions).map((f) => (f.Metadata as Record<string, string>)['txlake:handler']);
    expect(handlers.sort()).toEqual([
      'publish',
      'publish-gold',
      'quality-gate',
      'record-run',
      'resolve-run',
      'validate-landing',
    ]);
  });

  test('02:00 schedule in the configured zone with a dead-letter queue', () => {
    pipeline.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: Match.objectLike({
        DeadLetterConfig: Match.anyValue(),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 3 }),
      }),
    });
    const prod = synth('prod').pipeline;
    prod.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpressionTimezone: 'Europe/Zurich',
      State: 'ENABLED',
    });
  });

  describe('state machine', () => {
    const resolved = resolvePipeline([storage.toJSON() as CfnTemplate, pipeline.toJSON() as CfnTemplate]);
    const states = (resolved.definition as { States: Record<string, Record<string, unknown>> }).States;

    test('resolve, then per date: validate → Glue (.sync) → gate → publish → gold (Athena .sync) → record', () => {
      expect(states.ResolveRun.Next).toBe('MoreDates');
      expect(states.NextDate.Next).toBe('ValidateLanding');
      expect(states.TransformRows.Resource).toBe('arn:aws:states:::glue:startJobRun.sync');
      expect(states.TransformRows.Next).toBe('QualityGate');
      expect(states.QualityGate.Next).toBe('Publish');
      expect(states.RefreshGold.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
      expect(states.BalanceReport.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
      expect(states.RecordSucceeded.Next).toBe('Advance');
    });

    test('Glue retries transient errors three times with exponential backoff', () => {
      const retry = (
        states.TransformRows.Retry as { ErrorEquals: string[]; MaxAttempts: number; BackoffRate: number }[]
      )[0];
      expect(retry.MaxAttempts).toBe(3);
      expect(retry.BackoffRate).toBe(2);
      expect(retry.ErrorEquals).toContain('Glue.ConcurrentRunsExceededException');
    });

    test('data errors are not retried; every step is caught into record → notify → fail', () => {
      for (const name of [
        'ValidateLanding',
        'TransformRows',
        'QualityGate',
        'Publish',
        'RefreshGold',
        'PublishGold',
        'BalanceReport',
      ]) {
        const retries = (states[name].Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
        expect(retries).not.toContain('States.ALL');
        expect(retries).not.toContain('QUALITY_GATE_FAILED');
        expect(states[name].Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.current.error', Next: 'RecordFailed' },
        ]);
      }
      expect(states.RecordFailed.Next).toBe('NotifyFailure');
      expect(states.NotifyFailure.Resource).toBe('arn:aws:states:::sns:publish');
      expect(states.NotifyFailure.Next).toBe('DateFailed');
      expect(states.DateFailed.Type).toBe('Fail');
    });

    test('every Task state has a timeout, so a stuck step fails its date', () => {
      const tasks = Object.entries(states).filter(([, st]) => st.Type === 'Task');
      expect(tasks.length).toBeGreaterThanOrEqual(11);
      for (const [name, st] of tasks) {
        if (name === 'NotifyFailure') continue; // SNS publish answers at once
        expect({ name, timeout: typeof st.TimeoutSeconds }).toEqual({ name, timeout: 'number' });
      }
      expect(states.TransformRows.TimeoutSeconds).toBe(75 * 60);
      expect((states.TransformRows.Parameters as Record<string, unknown>).Timeout).toBe(60);
    });

    test('logging ALL and X-Ray tracing', () => {
      pipeline.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
    });
  });
});

describe('security invariants (fail when a change weakens them)', () => {
  const templates = ['dev', 'prod'].flatMap((env) => {
    const t = synth(env);
    return [t.storage.toJSON(), t.pipeline.toJSON()] as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    }[];
  });
  const resources = templates.flatMap((t) => Object.entries(t.Resources));

  test('no IAM statement grants a wildcard action', () => {
    const statements: { id: string; actions: string[] }[] = [];
    for (const [id, r] of resources) {
      const docs: { Statement: { Action: string | string[]; Effect: string }[] }[] = [];
      if (r.Type === 'AWS::IAM::Policy') docs.push(r.Properties!.PolicyDocument as never);
      if (r.Type === 'AWS::IAM::Role')
        for (const p of (r.Properties!.Policies as { PolicyDocument: never }[] | undefined) ?? [])
          docs.push(p.PolicyDocument);
      for (const doc of docs) {
        for (const st of doc.Statement) {
          if (st.Effect !== 'Allow') continue;
          statements.push({ id, actions: ([] as string[]).concat(st.Action) });
        }
      }
    }
    expect(statements.length).toBeGreaterThan(20);
    const wildcards = statements.flatMap((s) => s.actions.filter((a) => a.includes('*')).map((a) => `${s.id}: ${a}`));
    expect(wildcards).toEqual([]);
  });

  test('every bucket is encrypted, versioned, private and SSL-only', () => {
    const buckets = resources.filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    expect(buckets.length).toBe(16); // 8 per environment
    const policies = resources.filter(([, r]) => r.Type === 'AWS::S3::BucketPolicy');
    for (const [id, b] of buckets) {
      const p = b.Properties!;
      expect({ id, encrypted: Boolean(p.BucketEncryption) }).toEqual({ id, encrypted: true });
      expect({ id, versioning: p.VersioningConfiguration }).toEqual({ id, versioning: { Status: 'Enabled' } });
      expect({
        id,
        blocked: (p.PublicAccessBlockConfiguration as Record<string, boolean>).RestrictPublicBuckets,
      }).toEqual({ id, blocked: true });
      const policy = policies.find(([, pol]) => JSON.stringify(pol.Properties!.Bucket) === JSON.stringify({ Ref: id }));
      expect({ id, sslOnly: JSON.stringify(policy?.[1].Properties).includes('"aws:SecureTransport":"false"') }).toEqual(
        { id, sslOnly: true },
      );
    }
  });

  test('bronze objects cannot be deleted and condemned rows are kept 2555 days', () => {
    const storage = synth('dev').storage;
    storage.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'BronzeIsImmutable',
            Effect: 'Deny',
            Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
          }),
        ]),
      }),
    });
    const condemned = Object.values(storage.findResources('AWS::S3::Bucket')).find(
      (b) => (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'] === 'condemned',
    );
    expect(JSON.stringify(condemned?.Properties)).toContain('"NoncurrentDays":2555');
  });

  test('alarms notify the pipeline topic', () => {
    const { pipeline: p } = synth('prod');
    for (const name of ['ExecutionsFailed', 'ExecutionsTimedOut', 'QuarantineRatioHigh', 'NoFileLanded']) {
      p.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `txlake-prod-${name}`,
        AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('Notifications') })],
      });
    }
    p.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    p.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('production settings', () => {
  const { storage: s, pipeline: p } = synth('prod');
  const bucketsByLayer = Object.fromEntries(
    Object.values(s.findResources('AWS::S3::Bucket')).map((b) => [
      (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'] ?? 'access-logs',
      b.Properties as Record<string, unknown>,
    ]),
  );

  test('KMS bucket keys and server access logs on every lake bucket', () => {
    for (const [layer, props] of Object.entries(bucketsByLayer)) {
      if (layer === 'access-logs') continue;
      const rule = (props.BucketEncryption as { ServerSideEncryptionConfiguration: { BucketKeyEnabled: boolean }[] })
        .ServerSideEncryptionConfiguration[0];
      expect({ layer, bucketKey: rule.BucketKeyEnabled }).toEqual({ layer, bucketKey: true });
      expect({ layer, logs: (props.LoggingConfiguration as { LogFilePrefix: string }).LogFilePrefix }).toEqual({
        layer,
        logs: `${layer}/`,
      });
    }
  });

  test('lifecycle: bronze tiers, quarantine and Athena results expire', () => {
    const rules = (layer: string) => JSON.stringify(bucketsByLayer[layer].LifecycleConfiguration);
    expect(rules('bronze')).toContain('"StorageClass":"STANDARD_IA"');
    expect(rules('bronze')).toContain('"StorageClass":"GLACIER_IR"');
    expect(rules('quarantine')).toContain('"ExpirationInDays":2555');
    expect(rules('athena-results')).toContain('"ExpirationInDays":30');
  });

  test('the Glue job runs under a security configuration encrypting S3, logs and bookmarks', () => {
    p.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: {
        S3Encryptions: [Match.objectLike({ S3EncryptionMode: 'SSE-KMS' })],
        CloudWatchEncryption: Match.objectLike({ CloudWatchEncryptionMode: 'SSE-KMS' }),
        JobBookmarksEncryption: Match.objectLike({ JobBookmarksEncryptionMode: 'CSE-KMS' }),
      },
    });
    p.hasResourceProperties('AWS::Glue::Job', { SecurityConfiguration: Match.anyValue(), MaxRetries: 0, Timeout: 60 });
  });

  test('Athena cancels queries scanning more than the cutoff', () => {
    s.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 100 * 1024 ** 3 }),
    });
  });

  test('names carry the environment; prod settings reach the Lambdas', () => {
    p.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'txlake-prod-pipeline' });
    s.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: 'txlake_prod' }) });
    s.hasResourceProperties('AWS::Athena::WorkGroup', { Name: 'txlake-prod' });
    p.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MAX_QUARANTINE_RATIO: '0.05',
          SCHEDULE_TIME_ZONE: 'Europe/Zurich',
          POWERTOOLS_METRICS_NAMESPACE: 'txlake/prod',
        }),
      },
    });
    p.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'data-platform-alerts@example.com',
    });
    const dev = synth('dev').pipeline;
    dev.hasResourceProperties('AWS::Scheduler::Schedule', { State: 'DISABLED' });
  });

  test('the CLI finds the deployment through stack outputs', () => {
    p.hasOutput('StateMachineArn', {});
    p.hasOutput('StagingBucketName', {});
  });
});
