/**
 * The CLI's `--target aws` commands against moto's server (real SDK requests over HTTP to
 * 127.0.0.1): land, balance-history, maintain and runs find the deployment through the pipeline
 * stack's outputs and work on the resources they name; report reads the run records from staging.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AthenaClient, CreateWorkGroupCommand, GetQueryExecutionCommand } from '@aws-sdk/client-athena';
import {
  CreateDatabaseCommand,
  CreateJobCommand,
  GetJobRunCommand,
  GlueClient,
  StartJobRunCommand,
} from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { addDays } from '../../core/calendar';
import { runRecordKey } from '../../core/lake-layout';
import { balanceHistoryParameters } from '../../core/quarter';
import type { RunRecord } from '../../core/run-record';
import { loadSql } from '../../core/sql-files';
import { LAND_PART_SIZE, LandingConflictError, landOnAws } from '../../runner/aws/aws-land';
import { MAINTAIN_ARGUMENTS } from '../../runner/aws/aws-glue';
import { DEPLOYMENT_OUTPUTS } from '../../runner/aws/deployment';
import { type CliResult, expectUsageError, txlakeWithEnv } from '../helpers/cli';
import { tempDirs } from '../helpers/lake';
import { createPipelineStack, MOTO_ACCOUNT, MOTO_REGION, useMoto } from '../helpers/moto';

const moto = useMoto();
const scratch = tempDirs('txlake-aws-cli-');

const BRONZE = 'txlake-dev-bronze-moto';
const STAGING = 'txlake-dev-staging-moto';
const WORKGROUP = 'txlake-dev';
const DATABASE = 'txlake_dev';
const JOB = 'txlake-dev-ingestion';
const MACHINE = 'txlake-dev-pipeline';
const MACHINE_ARN = `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:stateMachine:${MACHINE}`;
const DATE = '2024-01-16';

/** The real CLI entry in-process, its aws clients sent to moto (TXLAKE_AWS_ENDPOINT). */
const txlake = (args: string[], env: Readonly<Record<string, string>> = moto().env): Promise<CliResult> =>
  txlakeWithEnv(args, env);

let s3: S3Client;
let glue: GlueClient;
let sfn: SFNClient;
let athena: AthenaClient;

beforeAll(async () => {
  const m = moto();
  s3 = new S3Client(m.config);
  glue = new GlueClient(m.config);
  sfn = new SFNClient(m.config);
  athena = new AthenaClient(m.config);
  for (const bucket of [BRONZE, STAGING]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await athena.send(new CreateWorkGroupCommand({ Name: WORKGROUP }));
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DATABASE } }));
  await glue.send(
    new CreateJobCommand({
      Name: JOB,
      Role: `arn:aws:iam::${MOTO_ACCOUNT}:role/glue`,
      Command: { Name: 'glueetl', ScriptLocation: 's3://assets/txlake_job.py' },
      DefaultArguments: { '--job_mode': 'transform', '--database': DATABASE },
      ExecutionProperty: { MaxConcurrentRuns: 10 },
      GlueVersion: '5.0',
      WorkerType: 'G.1X',
      NumberOfWorkers: 2,
    }),
  );
  await sfn.send(
    new CreateStateMachineCommand({
      name: MACHINE,
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/sfn`,
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
    }),
  );
  await createPipelineStack(m, 'dev', {
    [DEPLOYMENT_OUTPUTS.stateMachineArn]: MACHINE_ARN,
    [DEPLOYMENT_OUTPUTS.stagingBucket]: STAGING,
    [DEPLOYMENT_OUTPUTS.bronzeBucket]: BRONZE,
    [DEPLOYMENT_OUTPUTS.workGroup]: WORKGROUP,
    [DEPLOYMENT_OUTPUTS.database]: DATABASE,
    [DEPLOYMENT_OUTPUTS.glueJob]: JOB,
  });
  // A stack deployed before the CLI read more than the state machine and staging bucket.
  await createPipelineStack(m, 'staging', {
    [DEPLOYMENT_OUTPUTS.stateMachineArn]: MACHINE_ARN,
    [DEPLOYMENT_OUTPUTS.stagingBucket]: STAGING,
  });
});

const objectText = async (bucket: string, key: string): Promise<Buffer> => {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
};
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');
const landingKey = (date: string, name: string): string => `transactions/ingest_date=${date}/${name}`;

describe('land --target aws', () => {
  const csv = (rows: number, seed = ''): Buffer =>
    Buffer.from(
      `TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n${Array.from(
        { length: rows },
        (_, i) => `T${seed}${i},C${i},1.00,EUR,2024-01-15T10:00:00Z`,
      ).join('\n')}\n`,
    );

  test('one file: uploaded byte-identical with its SHA-256; the key on stdout', async () => {
    const dir = scratch();
    const file = path.join(dir, 'one.csv');
    writeFileSync(file, csv(3));
    const result = await txlake(['land', file, '--date', DATE, '--target', 'aws']);
    expect(result.stderr).toMatch(
      /uploaded one\.csv to s3:\/\/txlake-dev-bronze-moto\/transactions\/ingest_date=2024-01-16\/one\.csv/,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`bronze/${landingKey(DATE, 'one.csv')}\n`);
    expect((await objectText(BRONZE, landingKey(DATE, 'one.csv'))).equals(csv(3))).toBe(true);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'one.csv'), ChecksumMode: 'ENABLED' }),
    );
    expect(head.ChecksumSHA256).toBe(sha256(csv(3)));
  });

  test('several files and a directory (its regular files, sorted, not its subdirectories): one JSON document', async () => {
    const dir = scratch();
    const single = path.join(dir, 'single.csv');
    writeFileSync(single, csv(1, 's'));
    const folder = path.join(dir, 'drop');
    mkdirSync(path.join(folder, 'nested'), { recursive: true });
    writeFileSync(path.join(folder, 'b.csv'), csv(2, 'b'));
    writeFileSync(path.join(folder, 'a.csv'), csv(4, 'a'));
    writeFileSync(path.join(folder, 'nested', 'deep.csv'), csv(1, 'd'));
    const result = await txlake(['land', single, folder, '--date', '2024-01-17', '--target', 'aws', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      landed: [
        { key: `bronze/${landingKey('2024-01-17', 'single.csv')}`, bytes: csv(1, 's').length },
        { key: `bronze/${landingKey('2024-01-17', 'a.csv')}`, bytes: csv(4, 'a').length },
        { key: `bronze/${landingKey('2024-01-17', 'b.csv')}`, bytes: csv(2, 'b').length },
      ],
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BRONZE, Prefix: landingKey('2024-01-17', '') }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      ['a.csv', 'b.csv', 'single.csv'].map((n) => landingKey('2024-01-17', n)),
    );
    expect((await objectText(BRONZE, landingKey('2024-01-17', 'a.csv'))).equals(csv(4, 'a'))).toBe(true);
  });

  test('a file larger than a part goes multipart, and its checksum and size are verified', async () => {
    const dir = scratch();
    const file = path.join(dir, 'large.csv');
    const bytes = randomBytes(LAND_PART_SIZE + 1024 * 1024);
    writeFileSync(file, bytes);
    const result = await txlake(['land', file, '--date', DATE, '--target', 'aws']);
    expect(result.stderr).toBe(
      `[txlake] uploaded large.csv to s3://${BRONZE}/${landingKey(DATE, 'large.csv')} (${bytes.length} bytes)\n`,
    );
    expect(result.code).toBe(0);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'large.csv') }));
    expect(head.ETag).toMatch(/-2"$/); // two parts
    expect(head.ContentLength).toBe(bytes.length);
    expect((await objectText(BRONZE, landingKey(DATE, 'large.csv'))).equals(bytes)).toBe(true);
    // Landing it again compares by the composite checksum: nothing uploaded.
    const again = await txlake(['land', file, '--date', DATE, '--target', 'aws', '--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already holds large\.csv/);
    const after = await s3.send(new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'large.csv') }));
    expect(after.LastModified).toEqual(head.LastModified);
  });

  test('the same bytes again are already landed (exit 0, object untouched); other bytes are refused (exit 2)', async () => {
    const dir = scratch();
    const file = path.join(dir, 'again.csv');
    writeFileSync(file, csv(5));
    expect((await txlake(['land', file, '--date', DATE, '--target', 'aws'])).code).toBe(0);
    const before = await s3.send(new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'again.csv') }));

    const same = await txlake(['land', file, '--date', DATE, '--target', 'aws']);
    expect(same.code).toBe(0);
    expect(same.stdout).toBe(`bronze/${landingKey(DATE, 'again.csv')}\n`);
    const after = await s3.send(new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'again.csv') }));
    expect(after.LastModified).toEqual(before.LastModified);

    // Other bytes under the name, landed with a new file: refused before anything is uploaded.
    const other = path.join(scratch(), 'again.csv');
    writeFileSync(other, csv(6));
    const fresh = path.join(path.dirname(other), 'fresh.csv');
    writeFileSync(fresh, csv(1));
    const refused = await txlake(['land', fresh, other, '--date', DATE, '--target', 'aws']);
    expectUsageError(
      refused,
      /^txlake: bronze already holds a different again\.csv for 2024-01-16; bronze is immutable\n$/,
    );
    expect((await objectText(BRONZE, landingKey(DATE, 'again.csv'))).equals(csv(5))).toBe(true);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'fresh.csv') })),
    ).rejects.toThrow();
  });

  test('an object put by another writer (no checksum) is compared by its bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BRONZE, Key: landingKey(DATE, 'plain.csv'), Body: csv(2) }));
    const file = path.join(scratch(), 'plain.csv');
    writeFileSync(file, csv(2));
    expect((await txlake(['land', file, '--date', DATE, '--target', 'aws'])).code).toBe(0);
    writeFileSync(file, csv(2, 'x'));
    expect((await txlake(['land', file, '--date', DATE, '--target', 'aws'])).code).toBe(2);
  });

  test('a name created between the check and the upload is compared, never overwritten (If-None-Match)', async () => {
    const dir = scratch();
    const file = path.join(dir, 'late.csv');
    writeFileSync(file, csv(2, 'mine'));
    /** An S3 client whose first PutObject is preceded by another writer's put of `theirs` under the key. */
    const racing = (theirs: Buffer): S3Client => {
      const client = new S3Client(moto().config);
      let raced = false;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'PutObjectCommand' && !raced) {
            raced = true;
            await s3.send(
              new PutObjectCommand({ Bucket: BRONZE, Key: landingKey('2024-02-01', 'late.csv'), Body: theirs }),
            );
          }
          return next(args);
        },
        { step: 'initialize' },
      );
      return client;
    };
    const land = (client: S3Client, date: string) =>
      landOnAws({
        s3: client,
        bucket: BRONZE,
        ingestDate: date,
        files: [{ path: file, name: 'late.csv' }],
        progress: () => {},
      });

    await expect(land(racing(csv(2, 'theirs')), '2024-02-01')).rejects.toBeInstanceOf(LandingConflictError);
    expect((await objectText(BRONZE, landingKey('2024-02-01', 'late.csv'))).equals(csv(2, 'theirs'))).toBe(true);

    // The other writer landed the same bytes: already landed.
    await s3.send(new DeleteObjectCommand({ Bucket: BRONZE, Key: landingKey('2024-02-01', 'late.csv') }));
    expect(await land(racing(csv(2, 'mine')), '2024-02-01')).toEqual([
      { key: landingKey('2024-02-01', 'late.csv'), bytes: csv(2, 'mine').length, uploaded: false },
    ]);
  });

  test('two landers racing for one name: one lands, the other is refused, never an overwrite', async () => {
    const dir = scratch();
    const [first, second] = ['1', '2'].map((n) => {
      mkdirSync(path.join(dir, n));
      const file = path.join(dir, n, 'race.csv');
      writeFileSync(file, csv(3, n));
      return file;
    });
    const land = (file: string) =>
      landOnAws({
        s3,
        bucket: BRONZE,
        ingestDate: DATE,
        files: [{ path: file, name: 'race.csv' }],
        progress: () => {},
      });
    const outcomes = await Promise.allSettled([land(first), land(second)]);
    const won = outcomes.findIndex((o) => o.status === 'fulfilled');
    const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult | undefined;
    expect(won).toBeGreaterThanOrEqual(0);
    expect(lost?.reason).toBeInstanceOf(LandingConflictError);
    expect((await objectText(BRONZE, landingKey(DATE, 'race.csv'))).equals(csv(3, String(won + 1)))).toBe(true);
  });
});

describe('balance-history --target aws', () => {
  const column = (name: string, type = 'varchar') => ({ Name: name, Type: type });
  const row = (...values: (string | null)[]) => ({ Data: values.map((v) => (v === null ? {} : { VarCharValue: v })) });
  const COLUMNS = [column('account_id'), column('currency'), column('month'), column('balance', 'decimal')];

  async function queryOf(stderr: string) {
    const id = /Athena query (\S+) started in workgroup txlake-dev/.exec(stderr)?.[1];
    expect(id).toBeDefined();
    return (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!;
  }

  test('runs sql/balance_history.sql in the workgroup and database with the quarter’s parameters; CSV like local', async () => {
    await moto().api('/moto-api/static/athena/query-results', {
      account_id: MOTO_ACCOUNT,
      region: MOTO_REGION,
      results: [
        {
          column_info: COLUMNS,
          rows: [
            row('account_id', 'currency', 'month', 'balance'),
            row('A-1', 'EUR', '2024-01', '10.50'),
            row('A-1', 'EUR', '2024-02', null),
            row('B,2', 'USD', '2024-03', '-3.00'),
          ],
        },
      ],
    });
    const result = await txlake(['balance-history', '--quarter', '2024-Q1', '--target', 'aws']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'account_id,currency,month,balance\nA-1,EUR,2024-01,10.50\nA-1,EUR,2024-02,\n"B,2",USD,2024-03,-3.00\n',
    );
    const query = await queryOf(result.stderr);
    expect(query.Query).toBe(loadSql('balance_history'));
    expect(query.WorkGroup).toBe(WORKGROUP);
    expect(query.QueryExecutionContext?.Database).toBe(DATABASE);
    expect(query.ExecutionParameters).toEqual(balanceHistoryParameters('2024-Q1'));
    expect(query.ExecutionParameters?.slice(0, 2)).toEqual(["'2024'", "'01'"]);
  });

  test('--format json and an empty result', async () => {
    await moto().api('/moto-api/static/athena/query-results', {
      results: [
        {
          column_info: COLUMNS,
          rows: [row('account_id', 'currency', 'month', 'balance'), row('A', 'EUR', '2024-04', null)],
        },
      ],
    });
    const json = await txlake(['balance-history', '--quarter', '2024-Q2', '--target', 'aws', '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ account_id: 'A', currency: 'EUR', month: '2024-04', balance: null }]);
    await moto().api('/moto-api/static/athena/query-results', {
      results: [{ column_info: COLUMNS, rows: [row('account_id', 'currency', 'month', 'balance')] }],
    });
    const empty = await txlake(['balance-history', '--quarter', '2024-Q3', '--target', 'aws']);
    expect(empty.stdout).toBe('account_id,currency,month,balance\n');
  });

  test('--as-of reads gold FOR TIMESTAMP AS OF the instant (UTC, milliseconds)', async () => {
    const result = await txlake([
      'balance-history',
      '--quarter',
      '2024-Q1',
      '--target',
      'aws',
      '--as-of',
      '2024-04-01T14:30:00.25+02:00',
    ]);
    expect(result.code).toBe(0);
    const query = await queryOf(result.stderr);
    expect(query.Query).toContain(
      "FROM gold_monthly_balances FOR TIMESTAMP AS OF TIMESTAMP '2024-04-01 12:30:00.250 UTC'\n",
    );
    expect(query.Query?.replace(/ FOR TIMESTAMP AS OF TIMESTAMP '[^']*'/, '')).toBe(loadSql('balance_history'));
    expect(query.ExecutionParameters).toEqual(balanceHistoryParameters('2024-Q1'));
  });
});

describe('maintain --target aws', () => {
  test('starts the Glue job in maintain mode with the weekly trigger’s arguments and follows it to the end', async () => {
    // Each job run moves on one state per read, so the CLI sees it starting and running.
    await moto().api('/moto-api/state-manager/set-transition', {
      model_name: 'glue::job_run',
      transition: { progression: 'manual', times: 2 },
    });
    try {
      const result = await txlake(['maintain', '--target', 'aws', '--json']);
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as { job_name: string; job_run_id: string; state: string };
      expect(summary).toMatchObject({ job_name: JOB, state: 'SUCCEEDED' });
      const states = [...result.stderr.matchAll(/Glue job run \S+ ([A-Z]+)\n/g)].map((m) => m[1]);
      expect(states).toEqual(['STARTING', 'RUNNING', 'SUCCEEDED']);
      const { JobRun: run } = await glue.send(new GetJobRunCommand({ JobName: JOB, RunId: summary.job_run_id }));
      expect(run?.Arguments).toMatchObject({ ...MAINTAIN_ARGUMENTS, '--job_mode': 'maintain' });
    } finally {
      await moto().api('/moto-api/state-manager/unset-transition', { model_name: 'glue::job_run' });
    }
  });

  test('a job the stack names but Glue does not have: exit 1, one line', async () => {
    const m = moto();
    await createPipelineStack(m, 'prod', {
      [DEPLOYMENT_OUTPUTS.stateMachineArn]: MACHINE_ARN,
      [DEPLOYMENT_OUTPUTS.stagingBucket]: STAGING,
      [DEPLOYMENT_OUTPUTS.glueJob]: 'no-such-job',
    });
    const result = await txlake(['maintain', '--target', 'aws', '--env', 'prod']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^txlake: cannot start Glue job no-such-job: .+\n$/);
  });
});

describe('runs --target aws', () => {
  const record = (executionId: string, date: string, status: RunRecord['status'], error?: string): RunRecord => ({
    ingest_date: date,
    run_id: `${date}_${executionId}`,
    status,
    ...(error ? { error, error_detail: 'detail' } : {}),
    files: { accepted: 1, rejected: 0 },
    rows: { read: 10, silver: 9, quarantined: 1, condemned: 0 },
    reasons: { INVALID_CURRENCY: 1 },
    recorded_at: new Date().toISOString(),
  });

  test('executions, their dates’ records and each date’s Glue job runs (time, DPU-seconds)', async () => {
    const name = 'cli-2024-01-16_2024-01-17-20261205020000';
    const busy = 'cli-2024-01-18-20261205030000';
    await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name, input: '{}' }));
    const second = await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: busy, input: '{}' }));
    // (moto's StopExecution keeps no error and cause.)
    await sfn.send(new StopExecutionCommand({ executionArn: second.executionArn, error: 'LAKE_BUSY', cause: 'held' }));
    const records = [
      record(name, '2024-01-16', 'SUCCEEDED'),
      record(name, '2024-01-17', 'FAILED', 'QUALITY_GATE_FAILED'),
    ];
    for (const r of records) {
      await s3.send(
        new PutObjectCommand({ Bucket: STAGING, Key: runRecordKey(name, r.ingest_date), Body: JSON.stringify(r) }),
      );
    }
    for (const mode of ['transform', 'publish']) {
      await glue.send(
        new StartJobRunCommand({ JobName: JOB, Arguments: { '--job_mode': mode, '--run_id': records[0].run_id } }),
      );
    }
    await glue.send(new StartJobRunCommand({ JobName: JOB, Arguments: { '--run_id': records[1].run_id } }));

    const json = await txlake(['runs', '--target', 'aws', '--json', '--since', '2024-01-01']);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as {
      target: string;
      since: string;
      executions: {
        execution_id: string;
        status: string;
        stopped_at?: string;
        runs: (RunRecord & {
          glue_job_runs: { id: string; mode: string; execution_time_s: number; dpu_seconds: number }[];
        })[];
      }[];
    };
    expect(document).toMatchObject({ target: 'aws', since: '2024-01-01' });
    const byId = new Map(document.executions.map((e) => [e.execution_id, e]));
    expect(byId.get(busy)).toMatchObject({ status: 'ABORTED', runs: [] });
    expect(byId.get(busy)?.stopped_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const first = byId.get(name)!;
    expect(first.status).toBe('RUNNING');
    expect(first.runs.map((r) => [r.ingest_date, r.status, r.error])).toEqual([
      ['2024-01-16', 'SUCCEEDED', undefined],
      ['2024-01-17', 'FAILED', 'QUALITY_GATE_FAILED'],
    ]);
    expect(first.runs[0].rows).toEqual(records[0].rows);
    // moto reports ExecutionTime 123 s, no DPUSeconds and no MaxCapacity: 2 G.1X workers × 1 DPU × 123 s.
    expect(first.runs[0].glue_job_runs.map((g) => [g.mode, g.execution_time_s, g.dpu_seconds]).sort()).toEqual([
      ['publish', 123, 246],
      ['transform', 123, 246],
    ]);
    expect(first.runs[1].glue_job_runs.map((g) => g.mode)).toEqual(['transform']);

    const text = await txlake(['runs', '--target', 'aws']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^EXECUTION\s+STATUS\s+STARTED\s+DATE\s+RESULT\s+FILES\s+READ\s+SILVER\s+QUARANTINED\s+CONDEMNED\s+GLUE RUNS\s+GLUE S\s+DPU-S\s+ERROR$/,
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            `^${name}\\s+RUNNING\\s+\\S+ \\S+\\s+2024-01-16\\s+SUCCEEDED\\s+1\\+0\\s+10\\s+9\\s+1\\s+0\\s+2\\s+246\\s+492$`,
          ),
        ),
        expect.stringMatching(/2024-01-17\s+FAILED\s+.*\s+1\s+123\s+246\s+QUALITY_GATE_FAILED$/),
        expect.stringMatching(new RegExp(`^${busy}\\s+ABORTED\\s+\\S+ \\S+(\\s+-){7,10}$`)),
      ]),
    );
  });

  test('--since after the records: only what ran since', async () => {
    const future = await txlake(['runs', '--target', 'aws', '--json', '--since', '2999-01-01']);
    expect(future.code).toBe(0);
    // Running executions are still running on any later date; ended ones and older records are not listed.
    const { executions } = JSON.parse(future.stdout) as { executions: { status: string; runs: unknown[] }[] };
    expect(executions.every((e) => e.status === 'RUNNING' && e.runs.length === 0)).toBe(true);
  });
});

describe('report --target aws', () => {
  const record = (date: string, status: RunRecord['status'], hour: number, read: number): RunRecord => ({
    ingest_date: date,
    run_id: `${date}_exec-report`,
    status,
    files: { accepted: read > 0 ? 1 : 0, rejected: 0 },
    rows: { read, silver: read - 2, quarantined: 1, condemned: 1 },
    reasons: { INVALID_AMOUNT: 1, DUPLICATE_ROW: 1 },
    ...(status === 'FAILED' ? { error: 'QUALITY_GATE_FAILED', error_detail: 'too many rows quarantined' } : {}),
    recorded_at: `${addDays(date, 1)}T${String(hour).padStart(2, '0')}:10:00.000Z`,
  });
  const records = [
    record('2024-03-04', 'SUCCEEDED', 2, 100),
    record('2024-03-05', 'FAILED', 2, 50),
    record('2024-03-06', 'SUCCEEDED', 9, 80),
  ];
  const reproducible = { SOURCE_DATE_EPOCH: String(Date.parse('2024-04-02T06:00:00Z') / 1000) };

  test("reads every execution's run records from the staging bucket: the report a local lake with the same records gives", async () => {
    const lake = scratch();
    for (const r of records) {
      const key = runRecordKey('exec-report', r.ingest_date);
      await s3.send(new PutObjectCommand({ Bucket: STAGING, Key: key, Body: JSON.stringify(r) }));
      mkdirSync(path.dirname(path.join(lake, 'staging', key)), { recursive: true });
      writeFileSync(path.join(lake, 'staging', key), JSON.stringify(r));
    }
    const onAws = await txlake(['report', '--month', '2024-03', '--target', 'aws', '--env', 'dev'], {
      ...moto().env,
      ...reproducible,
    });
    const local = await txlake(['report', '--month', '2024-03', '--lake', lake, '--env', 'dev'], {
      ...moto().env,
      ...reproducible,
    });
    expect(onAws.code).toBe(0);
    expect(onAws.stderr).toBe(`[txlake] read 3 run records of 2024-02-01..2024-03-31 from s3://${STAGING}\n`);
    expect(local.code).toBe(0);
    // Only the environment's name differs (the deployed one, or the local lake of its settings).
    const body = (text: string) =>
      text
        .split('\n')
        .filter((line) => !line.startsWith('Subject:') && !line.startsWith('Environment '))
        .join('\n');
    expect(body(onAws.stdout)).toEqual(body(local.stdout));
    expect(onAws.stdout).toMatch(/^Subject: \[txlake dev\] March 2024 status/);
    expect(onAws.stdout).toContain('- **Dates:** 2 published, 0 without data, 1 failed, 28 missing');
    expect(onAws.stdout).toContain('- **Failed:** 2024-03-05 QUALITY_GATE_FAILED.');
  });
});

describe('the deployment comes from the pipeline stack’s outputs', () => {
  test('a stack without an output a command needs: exit 1, deploy first', async () => {
    const file = path.join(scratch(), 'x.csv');
    writeFileSync(file, 'x\n');
    const result = await txlake(['land', file, '--date', DATE, '--target', 'aws', '--env', 'staging']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'txlake: stack Txlake-staging-Pipeline has no output BronzeBucketName: run "npx cdk deploy -c env=staging --all" first\n',
    );
    const history = await txlake(['balance-history', '--quarter', '2024-Q1', '--target', 'aws', '--env', 'staging']);
    expect(history.stderr).toMatch(/has no output WorkGroupName, DatabaseName: run/);
    const maintain = await txlake(['maintain', '--target', 'aws', '--env', 'staging']);
    expect(maintain.stderr).toMatch(/has no output GlueJobName: run/);
  });

  test('no stack at all: not deployed', async () => {
    await moto().api('/moto-api/reset', {});
    const result = await txlake(['maintain', '--target', 'aws']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'txlake: stack Txlake-dev-Pipeline is not deployed: run "npx cdk deploy -c env=dev --all" first\n',
    );
  });
});
