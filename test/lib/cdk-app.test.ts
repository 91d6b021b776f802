import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONTRACT } from '../../core/contract';
import { readProjectContext } from '../../core/environments';
import { statesOf } from '../../runner/local/execution-quota';
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

/** The `AWS::Glue::Table` properties of an Iceberg table, as synthesized. */
interface IcebergTableInput {
  readonly Location: unknown;
  readonly Schema: {
    readonly Type: string;
    readonly SchemaId: number;
    readonly Fields: { Id: number; Name: string; Type: string; Required: boolean }[];
  };
  readonly PartitionSpec?: {
    readonly SpecId: number;
    readonly Fields: { FieldId: number; Name: string; SourceId: number; Transform: string }[];
  };
  readonly Properties: Record<string, string>;
}
interface GlueTableProperties {
  readonly Name: string;
  readonly DatabaseName: string;
  readonly OpenTableFormatInput: {
    readonly IcebergInput: {
      readonly MetadataOperation: string;
      readonly Version: string;
      readonly IcebergTableInput: IcebergTableInput;
    };
  };
}

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

  const bucketRules = (layer: string): Record<string, unknown>[] => {
    const bucket = Object.values(storage.findResources('AWS::S3::Bucket')).find(
      (b) => (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'] === layer,
    );
    const config = (bucket?.Properties as { LifecycleConfiguration?: { Rules: Record<string, unknown>[] } })
      .LifecycleConfiguration;
    return config?.Rules ?? [];
  };

  test("S3 never expires a table's files: retention of rows is the tables' maintenance", () => {
    // Condemned: replaced versions kept seven years, current objects never expired by S3.
    expect(bucketRules('condemned')).toEqual([
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 2555 } }),
    ]);
    expect(bucketRules('condemned')[0]).not.toHaveProperty('ExpirationInDays');
    // Quarantine: only the rejected files (and why) expire, after seven years.
    expect(
      bucketRules('quarantine')
        .filter((r) => r.ExpirationInDays !== undefined)
        .map((r) => [r.Prefix, r.ExpirationInDays]),
    ).toEqual([
      ['files/', 2555],
      ['file_rejections/', 2555],
    ]);
    // Staging: scratch space expires, the lake lease and the run records do not.
    expect(bucketRules('staging').map((r) => r.Prefix)).toEqual([
      'runs/',
      'gold-refresh/',
      'schedule-ticks/',
      'lease/takeovers/',
    ]);
  });

  describe('the lake tables', () => {
    const glueTables = Object.values(storage.findResources('AWS::Glue::Table')).map(
      (t) => t.Properties as GlueTableProperties,
    );
    const iceberg = (name: string): IcebergTableInput => {
      const table = glueTables.find((t) => t.Name === name);
      if (!table) throw new Error(`no Glue table ${name}`);
      return table.OpenTableFormatInput.IcebergInput.IcebergTableInput;
    };
    const resolvedTables = resolvePipeline([storage.toJSON() as CfnTemplate, pipeline.toJSON() as CfnTemplate]).tables;

    test('the four tables of the contract are Iceberg v2 tables Glue creates, with no Hive table input', () => {
      expect(glueTables.map((t) => t.Name).sort()).toEqual(Object.keys(CONTRACT.tables).sort());
      for (const table of glueTables) {
        expect(table).not.toHaveProperty('TableInput'); // no storage descriptor, no partition projection
        expect(table.DatabaseName).toBe('txlake_dev');
        expect(table.OpenTableFormatInput.IcebergInput).toMatchObject({ MetadataOperation: 'CREATE', Version: '2' });
        expect(JSON.stringify(table)).not.toContain('projection.');
      }
      storage.resourceCountIs('AWS::Glue::Crawler', 0);
    });

    test('each table lives under its prefix in its layer bucket, copy-on-write, zstd Parquet', () => {
      for (const [name, table] of Object.entries(CONTRACT.tables)) {
        const resolved = resolvedTables.find((t) => t.name === name);
        // Locally each layer bucket resolves to its layer's name: the location names the bucket.
        expect({ name, location: resolved?.location }).toEqual({
          name,
          location: `s3://${table.layer}/${table.prefix}`,
        });
        expect(resolved?.properties).toEqual({
          'format-version': '2',
          'write.delete.mode': 'copy-on-write',
          'write.update.mode': 'copy-on-write',
          'write.merge.mode': 'copy-on-write',
          'write.parquet.compression-codec': 'zstd',
          'commit.manifest.min-count-to-merge': '10',
        });
      }
      const silverBucket = Object.entries(storage.findResources('AWS::S3::Bucket')).find(
        ([, b]) => (b.Metadata as Record<string, string> | undefined)?.['txlake:layer'] === 'silver',
      )?.[0];
      expect(iceberg('silver_transactions').Location).toEqual({
        'Fn::Join': ['', ['s3://', { Ref: silverBucket }, '/transactions']],
      });
    });

    test('the local runner reads back the contract: columns in Glue notation, the partition spec', () => {
      for (const [name, table] of Object.entries(CONTRACT.tables)) {
        const resolved = resolvedTables.find((t) => t.name === name);
        expect({ name, columns: resolved?.columns, spec: resolved?.partitionSpec }).toEqual({
          name,
          columns: table.columns,
          spec: table.partitionSpec,
        });
      }
    });

    test('silver: field ids 1..n in column order, Iceberg types, partitioned by months(transaction_ts)', () => {
      const silver = iceberg('silver_transactions');
      expect(silver.Schema).toEqual({
        Type: 'struct',
        SchemaId: 0,
        Fields: [
          { Id: 1, Name: 'transaction_id', Type: 'string', Required: false },
          { Id: 2, Name: 'customer_id', Type: 'string', Required: false },
          { Id: 3, Name: 'amount', Type: 'decimal(16, 2)', Required: false },
          { Id: 4, Name: 'currency', Type: 'string', Required: false },
          { Id: 5, Name: 'transaction_ts', Type: 'timestamptz', Required: false },
          { Id: 6, Name: 'ingest_date', Type: 'date', Required: false },
          { Id: 7, Name: 'source_file', Type: 'string', Required: false },
          { Id: 8, Name: 'source_record', Type: 'long', Required: false },
          { Id: 9, Name: 'run_id', Type: 'string', Required: false },
        ],
      });
      expect(silver.PartitionSpec).toEqual({
        SpecId: 0,
        Fields: [{ FieldId: 1000, Name: 'transaction_ts_month', SourceId: 5, Transform: 'month' }],
      });
    });

    test('quarantine and condemned: error_codes is a list<string> (the Iceberg type JSON), identity(ingest_date)', () => {
      for (const name of ['quarantine_transactions', 'condemned_transactions']) {
        const table = iceberg(name);
        const fields = table.Schema.Fields;
        // Ids depth first: error_codes' element takes the id after it, so columns added at the end
        // later get the ids Iceberg's ADD COLUMN gives them (last id + 1).
        expect(fields.map((f) => [f.Id, f.Name])).toEqual(
          CONTRACT.tables[name].columns.map((c, i) => [i < 6 ? i + 1 : i + 2, c.name]),
        );
        const errorCodes = fields.find((f) => f.Name === 'error_codes');
        expect(errorCodes?.Id).toBe(6);
        // CloudFormation's IcebergStructField.Type is a String: a nested type is its JSON document as text.
        expect(JSON.parse(errorCodes?.Type ?? 'null')).toEqual({
          type: 'list',
          'element-id': 7,
          'element-required': false,
          element: 'string',
        });
        expect(fields.find((f) => f.Name === 'ingest_date')).toMatchObject({ Id: 11, Type: 'date' });
        expect(table.PartitionSpec).toEqual({
          SpecId: 0,
          Fields: [{ FieldId: 1000, Name: 'ingest_date', SourceId: 11, Transform: 'identity' }],
        });
      }
    });

    test('gold: partitioned by identity(year), identity(month)', () => {
      const gold = iceberg('gold_monthly_balances');
      expect(gold.Schema.Fields.map((f) => [f.Id, f.Name, f.Type])).toEqual([
        [1, 'account_id', 'string'],
        [2, 'currency', 'string'],
        [3, 'month_start', 'date'],
        [4, 'balance', 'decimal(38, 2)'],
        [5, 'year', 'string'],
        [6, 'month', 'string'],
      ]);
      expect(gold.PartitionSpec?.Fields).toEqual([
        { FieldId: 1000, Name: 'year', SourceId: 5, Transform: 'identity' },
        { FieldId: 1001, Name: 'month', SourceId: 6, Transform: 'identity' },
      ]);
    });
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

  describe('the Glue job on the Iceberg tables', () => {
    const jobs = resolvePipeline([storage.toJSON() as CfnTemplate, pipeline.toJSON() as CfnTemplate]).jobs;
    const args = Object.values(jobs)[0].defaultArguments;

    test('Iceberg through the Glue Data Catalog: --datalake-formats and one chained --conf (catalog txlake)', () => {
      expect(Object.keys(jobs)).toHaveLength(1);
      expect(args['--datalake-formats']).toBe('iceberg');
      // Glue's documented form: one --conf value chaining the settings with " --conf ".
      expect(args['--conf'].split(' --conf ')).toEqual([
        'spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions',
        'spark.sql.catalog.txlake=org.apache.iceberg.spark.SparkCatalog',
        'spark.sql.catalog.txlake.warehouse=s3://silver/', // the silver bucket (named by its layer locally)
        'spark.sql.catalog.txlake.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog',
        'spark.sql.catalog.txlake.io-impl=org.apache.iceberg.aws.s3.S3FileIO',
      ]);
      expect(args['--catalog_name']).toBe('txlake');
      expect(args['--database']).toBe('txlake_dev');
    });

    test('the tables by name, the staging keys per run and the maintenance settings; no staged Parquet', () => {
      expect(args).toMatchObject({
        '--job_mode': 'transform',
        '--silver_table': 'silver_transactions',
        '--quarantine_table': 'quarantine_transactions',
        '--condemned_table': 'condemned_transactions',
        '--gold_table': 'gold_monthly_balances',
        '--bronze_root': 's3://bronze',
        '--staging_root': 's3://staging',
        '--landing_summary_key': 'runs/{run_id}/landing.json',
        '--counts_prefix': 'runs/{run_id}/counts/',
        '--publish_result_key': 'runs/{run_id}/published.json',
        '--gold_refresh_prefix': 'gold-refresh/',
        '--snapshot_retention_days': '30',
        '--snapshots_to_keep': '10',
        '--orphan_file_age_hours': '72',
        '--condemned_retention_years': '7',
      });
      for (const gone of ['--silver_root', '--quarantine_root', '--silver_table_prefix', '--quarantine_table_prefix']) {
        expect(args).not.toHaveProperty([gone]);
      }
      expect(Object.keys(args).filter((k) => k.startsWith('--staged_'))).toEqual([]);
      // Glue reserves these for itself (the job's mode is --job_mode).
      for (const reserved of ['--mode', '--debug', '--JOB_NAME', '--endpoint'])
        expect(args).not.toHaveProperty([reserved]);
    });

    test('the job says it writes audit branches and publishes', () => {
      pipeline.hasResourceProperties('AWS::Glue::Job', {
        Description: Match.stringLikeRegexp('Iceberg audit branches.*publishes'),
      });
    });
  });

  test('six traced Node.js Lambda steps (the Glue job makes the Iceberg commits)', () => {
    const functions = pipeline.findResources('AWS::Lambda::Function', {
      Properties: { TracingConfig: { Mode: 'Active' } },
    });
    const handlers = Object.values(functions).map((f) => (f.Metadata as Record<string, string>)['txlake:handler']);
    expect(handlers.sort()).toEqual([
      'publish',
      'quality-gate',
      'record-run',
      'release-lease',
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
    const entry = (resolved.definition as { States: Record<string, Record<string, unknown>> }).States;
    const batches = Object.values(resolved.stateMachines).find((m) => m.name === 'txlake-dev-dates');
    const states = statesOf(batches?.definition as never) as unknown as Record<string, Record<string, unknown>>;

    test('the entry resolves the run into monthly batches and starts one child execution per batch, in order', () => {
      expect(
        Object.values(resolved.stateMachines)
          .map((m) => m.name)
          .sort(),
      ).toEqual(['txlake-dev-dates', 'txlake-dev-pipeline']);
      expect(entry.ResolveRun.Next).toBe('MoreBatches');
      expect(entry.ProcessDates.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
      expect((entry.ProcessDates.Parameters as { StateMachineArn: string }).StateMachineArn).toBe(batches?.arn);
      expect((entry.ProcessDates.Parameters as { Input: Record<string, string> }).Input).toMatchObject({
        'execution_id.$': '$.execution_id',
        'lease_holder.$': '$$.Execution.Id',
        'dates.$': 'States.ArrayGetItem($.batches, $.index)',
      });
      // A failed batch fails the entry execution at ProcessDates: a redrive starts that batch again.
      expect(entry.ProcessDates.Catch).toBeUndefined();
      expect(entry.ProcessDates.Next).toBe('NextBatch');
      expect(entry.NextBatch.Next).toBe('MoreBatches');
      expect(entry.MoreBatches.Default).toBe('ReleaseLease');
      expect(entry.ReleaseLease.Next).toBe('AllDatesDone');
    });

    test('a batch: confirm the lease, then per date: validate → Glue write (.sync) → gate → Glue publish → gold → files → record', () => {
      const jobMode = (state: string): unknown =>
        (states[state].Parameters as { Arguments: Record<string, unknown> }).Arguments['--job_mode'];
      expect(states.ResolveBatch.Next).toBe('MoreDates');
      expect(states.NextDate.Next).toBe('ValidateLanding');
      expect(states.TransformRows.Resource).toBe('arn:aws:states:::glue:startJobRun.sync');
      expect(jobMode('TransformRows')).toBe('transform');
      expect(states.TransformRows.Next).toBe('QualityGate');
      expect(states.QualityGate.Next).toBe('PublishTables');
      expect(jobMode('PublishTables')).toBe('publish');
      expect(states.PublishTables.Next).toBe('GoldChanged');
      expect(states.RefreshGold.Type).toBe('Map');
      expect(states.RefreshGold.ItemsPath).toBe('$.current.gate.gold.chunks');
      expect(states.RefreshGoldChunk.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
      expect(states.RefreshGold.Next).toBe('PublishGold');
      expect(jobMode('PublishGold')).toBe('publish-gold');
      expect(states.PublishGold.Next).toBe('BalanceReport');
      expect(states.BalanceReport.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
      expect(states.BalanceReport.Next).toBe('Publish');
      expect(states.Publish.Next).toBe('RecordSucceeded');
      expect(states.RecordSucceeded.Next).toBe('Advance');
      expect(states.MoreDates.Default).toBe('BatchDone');
    });

    test('each chunk of the gold refresh writes to a fresh target, on every attempt, and the Map retries as a whole', () => {
      const selector = states.RefreshGold.ItemSelector as Record<string, string>;
      expect(selector['target.$']).toBe(
        "States.Format('gold-refresh/{}/{}-{}/', $.current.run_id, $$.Map.Item.Value.from_month, States.UUID())",
      );
      expect(states.RefreshGoldChunk.Retry).toBeUndefined();
      const query = (states.RefreshGoldChunk.Parameters as Record<string, string>)['QueryString.$'];
      expect(query).toMatch(/^States\.Format\('UNLOAD \(.*TO \\'s3:\/\/staging\/\{\}\\' WITH .*', \$\.target\)$/s);
      expect((states.RefreshGold.Retry as { ErrorEquals: string[] }[])[0].ErrorEquals).toContain(
        'Athena.TooManyRequestsException',
      );
      const targets = (states.PublishGold.Parameters as { Arguments: Record<string, string> }).Arguments;
      expect(targets['--gold_refresh_targets.$']).toBe('States.JsonToString($.current.gold_refresh)');
    });

    test('Glue retries transient errors three times with exponential backoff', () => {
      const retry = (
        states.TransformRows.Retry as { ErrorEquals: string[]; MaxAttempts: number; BackoffRate: number }[]
      )[0];
      expect(retry.MaxAttempts).toBe(3);
      expect(retry.BackoffRate).toBe(2);
      expect(retry.ErrorEquals).toContain('Glue.ConcurrentRunsExceededException');
    });

    test('data errors are not retried; every step is caught into record SUCCEEDED (if committed) or restore → record → notify → fail', () => {
      for (const name of [
        'ValidateLanding',
        'TransformRows',
        'QualityGate',
        'PublishTables',
        'Publish',
        'RefreshGold',
        'PublishGold',
        'BalanceReport',
        'RecordSucceeded',
      ]) {
        const retries = (states[name].Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
        expect(retries).not.toContain('States.ALL');
        expect(retries).not.toContain('QUALITY_GATE_FAILED');
        expect(states[name].Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.current.error', Next: 'RestoreNeeded' },
        ]);
      }
      // Once Publish has run the date is committed: it is recorded SUCCEEDED, nothing is restored.
      // Once the gate passed, the date may have published tables: they are restored.
      expect(states.RestoreNeeded.Choices).toEqual([
        { Variable: '$.current.publish', IsPresent: true, Next: 'RecordCommitted' },
        { Variable: '$.current.gate', IsPresent: true, Next: 'RestoreTables' },
      ]);
      expect(states.RecordCommitted.Next).toBe('Advance');
      expect((states.RecordCommitted.Parameters as Record<string, unknown>).status).toBe('SUCCEEDED');
      expect(states.RestoreNeeded.Default).toBe('RecordFailed');
      expect((states.RestoreTables.Parameters as { Arguments: Record<string, unknown> }).Arguments['--job_mode']).toBe(
        'restore',
      );
      expect(states.RestoreTables.Next).toBe('RecordFailed');
      expect(states.RecordFailed.Next).toBe('NotifyFailure');
      expect(states.NotifyFailure.Resource).toBe('arn:aws:states:::sns:publish');
      expect(states.NotifyFailure.Next).toBe('ReleaseLeaseAfterFailure');
      // The batch releases the entry execution's lease (it holds it) before it fails.
      expect((states.ReleaseLeaseAfterFailure.Parameters as Record<string, string>)['execution_id.$']).toBe(
        '$.lease_holder',
      );
      expect(states.ReleaseLeaseAfterFailure.Next).toBe('DateFailed');
      expect(states.DateFailed.Type).toBe('Fail');
    });

    test('every Task state has a timeout, so a stuck step fails its date', () => {
      const tasks = Object.entries({ ...entry, ...states }).filter(([, st]) => st.Type === 'Task');
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
