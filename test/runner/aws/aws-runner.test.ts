import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { executionName, inputDates, type RunRequest } from '../../../core/run-plan';
import type { RunRecord } from '../../../core/run-record';
import { runOnAws } from '../../../runner/aws/aws-runner';
import type { ProgressEvent } from '../../../runner/pipeline-runner';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:txlake-dev-pipeline';
const BUCKET = 'txlake-dev-staging-bucket';
const NOW = new Date('2024-02-01T10:20:30Z');

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'aws-runner-'));
  writeFileSync(
    path.join(root, 'cdk.json'),
    JSON.stringify({
      app: 'true',
      context: {
        'txlake:defaultEnvironment': 'dev',
        'txlake:environments': {
          dev: { scheduleTimeZone: 'UTC', region: 'eu-west-1' },
          prod: { scheduleTimeZone: 'Europe/Zurich' },
        },
      },
    }),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sfnClient = new SFNClient({ region: 'eu-west-1' });
const s3Client = new S3Client({ region: 'eu-west-1' });
const cfnClient = new CloudFormationClient({ region: 'eu-west-1' });
const sfn = mockClient(sfnClient);
const s3 = mockClient(s3Client);
const cfn = mockClient(cfnClient);
const clients = { sfn: sfnClient, s3: s3Client, cloudFormation: cfnClient };

beforeEach(() => {
  sfn.reset();
  s3.reset();
  cfn.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Txlake-dev-Pipeline',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: ARN },
          { OutputKey: 'StagingBucketName', OutputValue: BUCKET },
        ],
      },
    ],
  });
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
});

// ---- history builders -------------------------------------------------------------------------
const t0 = Date.parse('2024-02-01T10:20:31Z');
let nextId = 1;
const at = (seconds: number): Date => new Date(t0 + seconds * 1000);
function entered(name: string, seconds: number, type = 'TaskStateEntered'): HistoryEvent {
  const id = nextId++;
  return {
    id,
    previousEventId: id - 1,
    type: type as HistoryEvent['type'],
    timestamp: at(seconds),
    stateEnteredEventDetails: { name },
  };
}
function exited(name: string, seconds: number, output?: unknown, type = 'TaskStateExited'): HistoryEvent {
  const id = nextId++;
  return {
    id,
    previousEventId: id - 1,
    type: type as HistoryEvent['type'],
    timestamp: at(seconds),
    stateExitedEventDetails: { name, ...(output ? { output: JSON.stringify(output) } : {}) },
  };
}
function scheduled(seconds: number): HistoryEvent {
  const id = nextId++;
  return { id, previousEventId: id - 1, type: 'TaskScheduled', timestamp: at(seconds) };
}
function taskFailed(seconds: number, error: string, cause: string): HistoryEvent {
  const id = nextId++;
  return {
    id,
    previousEventId: id - 1,
    type: 'TaskFailed',
    timestamp: at(seconds),
    taskFailedEventDetails: { error, cause, resource: 'startJobRun.sync', resourceType: 'glue' },
  };
}
function executionEvent(type: string, seconds: number): HistoryEvent {
  const id = nextId++;
  return { id, previousEventId: id - 1, type: type as HistoryEvent['type'], timestamp: at(seconds) };
}
/** A task state that succeeds: entered, scheduled, exited. */
const task = (name: string, from: number, to: number, output?: unknown): HistoryEvent[] => [
  entered(name, from),
  scheduled(from),
  exited(name, to, output),
];
const pass = (name: string, s: number, output?: unknown): HistoryEvent[] => [
  entered(name, s, 'PassStateEntered'),
  exited(name, s, output, 'PassStateExited'),
];

/**
 * Fakes an execution whose history grows by one batch per poll: DescribeExecution answers RUNNING
 * until the last batch is visible, then `final`. History pages hold 3 events, newest first.
 */
function fakeExecution(batches: HistoryEvent[][], final: { status: string; error?: string; cause?: string }) {
  let polls = 0;
  const historyCalls: Array<{ nextToken?: string; reverseOrder?: boolean }> = [];
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `${ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: NOW,
  }));
  sfn.on(DescribeExecutionCommand).callsFake(() => {
    polls = Math.min(polls + 1, batches.length);
    const done = polls === batches.length;
    return done ? { status: final.status, error: final.error, cause: final.cause } : { status: 'RUNNING' };
  });
  sfn.on(GetExecutionHistoryCommand).callsFake((input: { nextToken?: string; reverseOrder?: boolean }) => {
    historyCalls.push({ nextToken: input.nextToken, reverseOrder: input.reverseOrder });
    const visible = batches.slice(0, polls).flat();
    const newestFirst = input.reverseOrder ? [...visible].reverse() : visible;
    const offset = input.nextToken ? Number(input.nextToken) : 0;
    const page = newestFirst.slice(offset, offset + 3);
    return { events: page, ...(offset + 3 < newestFirst.length ? { nextToken: String(offset + 3) } : {}) };
  });
  return { historyCalls };
}

const record = (date: string, executionId: string, overrides: Partial<RunRecord> = {}): RunRecord => ({
  ingest_date: date,
  run_id: `${date}_${executionId}`,
  status: 'SUCCEEDED',
  files: { accepted: 1, rejected: 0 },
  rows: { read: 100, silver: 95, quarantined: 3, condemned: 2 },
  reasons: { INVALID_CURRENCY: 1, DUPLICATE_ROW: 2 },
  ...overrides,
});

/** Stores objects in the fake staging bucket; listings come back two keys per page. */
function fakeBucket(objects: Record<string, string>) {
  const listCalls: Array<string | undefined> = [];
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string; ContinuationToken?: string }) => {
    expect(input.Bucket).toBe(BUCKET);
    listCalls.push(input.ContinuationToken);
    const keys = Object.keys(objects).filter((k) => k.startsWith(input.Prefix));
    const offset = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const more = offset + 2 < keys.length;
    return {
      Contents: keys.slice(offset, offset + 2).map((Key) => ({ Key })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(offset + 2) } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const text = objects[input.Key];
    if (text === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => text } };
  });
  return { listCalls };
}

// ---- tests ---------------------------------------------------------------------------------------
describe('runOnAws', () => {
  beforeEach(() => {
    nextId = 1;
  });

  test('runs two dates, follows the history page by page and returns the records sorted by date', async () => {
    const name = 'cli-2024-01-16_2024-01-17-20240201102030';
    const current = (d: string) => ({ current: { ingest_date: d, run_id: `${d}_${name}` } });
    const batches = [
      [
        executionEvent('ExecutionStarted', 0),
        ...task('ResolveRun', 0, 1),
        entered('MoreDates', 1, 'ChoiceStateEntered'),
      ],
      [
        exited('MoreDates', 1, undefined, 'ChoiceStateExited'),
        ...pass('NextDate', 1, current('2024-01-16')),
        ...task('ValidateLanding', 1, 2.5, current('2024-01-16')),
        ...task('TransformRows', 2.5, 60, current('2024-01-16')),
      ],
      [
        ...task('RecordSucceeded', 60, 61, current('2024-01-16')),
        ...pass('NextDate', 61, current('2024-01-17')),
        ...task('ValidateLanding', 61, 62, current('2024-01-17')),
        ...task('RecordNoData', 62, 63, current('2024-01-17')),
        ...pass('Advance', 63, { index: 2 }),
        executionEvent('ExecutionSucceeded', 63),
      ],
    ];
    const { historyCalls } = fakeExecution(batches, { status: 'SUCCEEDED' });
    const { listCalls } = fakeBucket({
      [`run-records/${name}/2024-01-17.json`]: JSON.stringify(
        record('2024-01-17', name, {
          status: 'NO_DATA',
          files: { accepted: 0, rejected: 0 },
          rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
          reasons: {},
        }),
      ),
      [`run-records/${name}/2024-01-16.json`]: JSON.stringify(record('2024-01-16', name)),
      [`run-records/${name}/notes.txt`]: 'not a record',
      [`run-records/${name}-other/2024-01-16.json`]: 'not this execution',
    });
    const lines: string[] = [];

    const records = await runOnAws({
      input: { from: '2024-01-16', to: '2024-01-17' },
      root,
      progress: (l) => lines.push(l),
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });

    expect(records).toEqual([
      record('2024-01-16', name),
      record('2024-01-17', name, {
        status: 'NO_DATA',
        files: { accepted: 0, rejected: 0 },
        rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
        reasons: {},
      }),
    ]);
    const start = sfn.commandCalls(StartExecutionCommand);
    expect(start).toHaveLength(1);
    expect(start[0].args[0].input).toEqual({
      stateMachineArn: ARN,
      name,
      input: '{"from":"2024-01-16","to":"2024-01-17"}',
    });
    expect(sfn.commandCalls(ListExecutionsCommand)[0].args[0].input).toMatchObject({
      stateMachineArn: ARN,
      statusFilter: 'RUNNING',
    });
    expect(cfn.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'Txlake-dev-Pipeline' });

    // One line per state exit, each printed once although every poll pages back through the history.
    expect(lines.map((l) => l.replace(/\s+/g, ' '))).toEqual([
      `started execution ${name} of txlake-dev-pipeline (dev)`,
      '- ResolveRun ok 1.00s',
      '- MoreDates ok 0.00s',
      '2024-01-16 NextDate ok 0.00s',
      '2024-01-16 ValidateLanding ok 1.50s',
      '2024-01-16 TransformRows ok 57.50s',
      '2024-01-16 RecordSucceeded ok 1.00s',
      '2024-01-17 NextDate ok 0.00s',
      '2024-01-17 ValidateLanding ok 1.00s',
      '2024-01-17 RecordNoData ok 1.00s',
      '2024-01-17 Advance ok 0.00s',
      `execution ${name} SUCCEEDED`,
    ]);
    // Three polls; each reads newest first and stops at the first event already seen.
    expect(historyCalls.every((c) => c.reverseOrder === true)).toBe(true);
    const pagesPerPoll = (() => {
      const counts: number[] = [];
      for (const c of historyCalls) {
        if (c.nextToken === undefined) counts.push(1);
        else counts[counts.length - 1] += 1;
      }
      return counts;
    })();
    // Poll 1: 5 events → 2 pages. Poll 2: 9 new of 14 → 4 pages, the last one stops on an event
    // already seen. Poll 3: 14 new of 28 → 5 pages.
    expect(pagesPerPoll).toEqual([2, 4, 5]);
    // The listing was paginated and only the execution's prefix was read.
    expect(listCalls).toEqual([undefined, '2']);
    expect(
      s3
        .commandCalls(GetObjectCommand)
        .map((c) => c.args[0].input.Key)
        .sort(),
    ).toEqual([`run-records/${name}/2024-01-16.json`, `run-records/${name}/2024-01-17.json`]);
  });

  test('a failing date: its FAILED record is returned and the failed state is reported', async () => {
    const name = 'cli-2024-01-16-20240201102030';
    const current = { current: { ingest_date: '2024-01-16', run_id: `2024-01-16_${name}` } };
    fakeExecution(
      [
        [
          executionEvent('ExecutionStarted', 0),
          ...task('ResolveRun', 0, 1),
          ...pass('NextDate', 1, current),
          ...task('ValidateLanding', 1, 2, current),
          entered('QualityGate', 2),
          scheduled(2),
          taskFailed(
            4,
            'QUALITY_GATE_FAILED',
            '{"errorType":"QUALITY_GATE_FAILED","errorMessage":"too many quarantined rows"}',
          ),
          ...task('RecordFailed', 4, 5),
          ...task('NotifyFailure', 5, 6),
          entered('DateFailed', 6, 'FailStateEntered'),
          executionEvent('ExecutionFailed', 6),
        ],
      ],
      {
        status: 'FAILED',
        error: 'DATE_FAILED',
        cause: 'A date failed; the run stops at the first failed date (see its run record)',
      },
    );
    const failed = record('2024-01-16', name, {
      status: 'FAILED',
      error: 'QUALITY_GATE_FAILED',
      error_detail: 'too many quarantined rows',
      rows: { read: 100, silver: 60, quarantined: 38, condemned: 2 },
    });
    fakeBucket({ [`run-records/${name}/2024-01-16.json`]: JSON.stringify(failed) });
    const lines: string[] = [];

    const records = await runOnAws({
      input: { date: '2024-01-16' },
      envName: 'dev',
      root,
      progress: (l) => lines.push(l),
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });

    expect(records).toEqual([failed]);
    const normalised = lines.map((l) => l.replace(/\s+/g, ' '));
    expect(normalised).toContain('2024-01-16 QualityGate failed 2.00s QUALITY_GATE_FAILED');
    expect(normalised).toContain('2024-01-16 RecordFailed ok 1.00s');
    expect(normalised[normalised.length - 1]).toBe(
      `execution ${name} FAILED DATE_FAILED: A date failed; the run stops at the first failed date (see its run record)`,
    );
  });

  test('a failed execution without any run record throws its error and cause on one line', async () => {
    fakeExecution(
      [
        [
          executionEvent('ExecutionStarted', 0),
          entered('ResolveRun', 0),
          scheduled(0),
          taskFailed(1, 'INVALID_RUN_INPUT', 'a run covers\nat most 3660 dates'),
          executionEvent('ExecutionFailed', 1),
        ],
      ],
      { status: 'FAILED', error: 'INVALID_RUN_INPUT', cause: 'a run covers\nat most 3660 dates' },
    );
    fakeBucket({});
    const lines: string[] = [];
    const run = runOnAws({
      input: { date: '2024-01-16' },
      root,
      progress: (l) => lines.push(l),
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });
    await expect(run).rejects.toThrow(
      'execution cli-2024-01-16-20240201102030 FAILED: INVALID_RUN_INPUT: a run covers at most 3660 dates',
    );
    expect(lines.map((l) => l.replace(/\s+/g, ' '))).toContain('- ResolveRun failed 1.00s INVALID_RUN_INPUT');
  });

  test('an execution that times out mid-backfill reports the unfinished date as FAILED', async () => {
    const name = 'cli-2024-01-16_2024-01-18-20240201102030';
    fakeExecution([[executionEvent('ExecutionStarted', 0), executionEvent('ExecutionTimedOut', 86400)]], {
      status: 'TIMED_OUT',
      error: 'States.Timeout',
    });
    fakeBucket({ [`run-records/${name}/2024-01-16.json`]: JSON.stringify(record('2024-01-16', name)) });

    const records = await runOnAws({
      input: { from: '2024-01-16', to: '2024-01-18' },
      root,
      progress: () => undefined,
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });

    expect(records.map((r) => [r.ingest_date, r.status, r.error])).toEqual([
      ['2024-01-16', 'SUCCEEDED', undefined],
      ['2024-01-17', 'FAILED', 'EXECUTION_TIMED_OUT'],
    ]);
    expect(records[1].run_id).toBe(`2024-01-17_${name}`);
    expect(records[1].error_detail).toBe('States.Timeout');
  });

  test('progress events: the plan, each state, and each date with the run record read from S3', async () => {
    const name = 'cli-2024-01-16-20240201102030';
    const current = { execution_id: name, current: { ingest_date: '2024-01-16', run_id: `2024-01-16_${name}` } };
    fakeExecution(
      [
        [
          executionEvent('ExecutionStarted', 0),
          ...task('ResolveRun', 0, 1),
          ...pass('NextDate', 1, current),
          ...task('TransformRows', 1, 31, current),
          ...task('RecordSucceeded', 31, 32, current),
          executionEvent('ExecutionSucceeded', 32),
        ],
      ],
      { status: 'SUCCEEDED' },
    );
    fakeBucket({ [`run-records/${name}/2024-01-16.json`]: JSON.stringify(record('2024-01-16', name)) });
    const events: ProgressEvent[] = [];
    const lines: string[] = [];

    const records = await runOnAws({
      input: { date: '2024-01-16' },
      root,
      progress: (l) => lines.push(l),
      events: (e) => events.push(e),
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });

    expect(records).toEqual([record('2024-01-16', name)]);
    expect(events.filter((e) => e.kind !== 'entered' && e.kind !== 'state')).toEqual([
      { kind: 'note', level: 'info', text: `started execution ${name} of txlake-dev-pipeline (dev)` },
      { kind: 'plan', total: 1, from: '2024-01-16', to: '2024-01-16' },
      { kind: 'date', record: record('2024-01-16', name) },
      { kind: 'note', level: 'detail', text: `execution ${name} SUCCEEDED` },
    ]);
    const transform = events.find((e) => e.kind === 'state' && e.state === 'TransformRows');
    expect(transform).toEqual({
      kind: 'state',
      date: '2024-01-16',
      state: 'TransformRows',
      outcome: 'ok',
      seconds: 30,
      at: t0 + 31_000,
    });
    // The date event comes right after the state that recorded it; the lines are unchanged.
    const recorded = events.findIndex((e) => e.kind === 'state' && e.state === 'RecordSucceeded');
    expect(events[recorded + 1]).toEqual({ kind: 'date', record: record('2024-01-16', name) });
    expect(lines.map((l) => l.replace(/\s+/g, ' '))).toEqual([
      `started execution ${name} of txlake-dev-pipeline (dev)`,
      '- ResolveRun ok 1.00s',
      '2024-01-16 NextDate ok 0.00s',
      '2024-01-16 TransformRows ok 30.00s',
      '2024-01-16 RecordSucceeded ok 1.00s',
      `execution ${name} SUCCEEDED`,
    ]);
  });

  test('a malformed run record is reported with its key', async () => {
    const name = 'cli-2024-01-16-20240201102030';
    fakeExecution([[executionEvent('ExecutionSucceeded', 1)]], { status: 'SUCCEEDED' });
    fakeBucket({
      [`run-records/${name}/2024-01-16.json`]: JSON.stringify({ ingest_date: '2024-01-16', status: 'DONE' }),
    });
    await expect(
      runOnAws({
        input: { date: '2024-01-16' },
        root,
        progress: () => undefined,
        clients,
        pollIntervalMs: 0,
        now: () => NOW,
      }),
    ).rejects.toThrow(`s3://${BUCKET}/run-records/${name}/2024-01-16.json is not a run record: run_id`);
  });
});

describe('deployment lookup', () => {
  const run = (envName?: string) =>
    runOnAws({
      input: { date: '2024-01-16' },
      envName,
      root,
      progress: () => undefined,
      clients,
      pollIntervalMs: 0,
      now: () => NOW,
    });

  test('a stack that is not deployed asks for cdk deploy', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id Txlake-prod-Pipeline does not exist'), { name: 'ValidationError' }),
      );
    const error = await run('prod').catch((e: Error) => e);
    expect((error as Error).message).toBe(
      'stack Txlake-prod-Pipeline is not deployed: run "npx cdk deploy -c env=prod --all" first',
    );
    expect(cfn.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'Txlake-prod-Pipeline' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('a stack without the outputs names the missing one', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Txlake-dev-Pipeline',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: ARN }],
        },
      ],
    });
    await expect(run()).rejects.toThrow(
      'stack Txlake-dev-Pipeline has no output StagingBucketName: run "npx cdk deploy -c env=dev --all" first',
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('other CloudFormation errors stay one line', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('The security token included\nin the request is invalid'), { name: 'ExpiredToken' }),
      );
    await expect(run()).rejects.toThrow(
      'cannot read stack Txlake-dev-Pipeline: The security token included in the request is invalid',
    );
  });

  test('an environment cdk.json does not define', async () => {
    await expect(run('qa')).rejects.toThrow('unknown environment "qa": cdk.json defines dev, prod');
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });
});

describe('concurrent runs', () => {
  function running(executions: Array<{ name: string; input: unknown; startDate?: Date }>, pageSize = 1) {
    sfn.on(ListExecutionsCommand).callsFake((input: { nextToken?: string; statusFilter?: string }) => {
      expect(input.statusFilter).toBe('RUNNING');
      const offset = input.nextToken ? Number(input.nextToken) : 0;
      const page = executions.slice(offset, offset + pageSize);
      return {
        executions: page.map((e) => ({
          executionArn: `arn:exec:${e.name}`,
          stateMachineArn: ARN,
          name: e.name,
          status: 'RUNNING',
          startDate: e.startDate ?? NOW,
        })),
        ...(offset + pageSize < executions.length ? { nextToken: String(offset + pageSize) } : {}),
      };
    });
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
      const e = executions.find((x) => `arn:exec:${x.name}` === input.executionArn);
      if (!e) throw new Error(`unexpected DescribeExecution ${input.executionArn}`);
      return {
        executionArn: input.executionArn,
        name: e.name,
        status: 'RUNNING',
        input: JSON.stringify(e.input),
        startDate: e.startDate ?? NOW,
      };
    });
  }
  const run = (input: RunRequest) =>
    runOnAws({ input, root, progress: () => undefined, clients, pollIntervalMs: 0, now: () => NOW });

  test('refuses dates a running backfill is processing, found on a later page', async () => {
    running([
      { name: 'cli-2024-01-10-20240201090000', input: { date: '2024-01-10' } },
      { name: 'cli-2024-01-15_2024-01-20-20240201090000', input: { from: '2024-01-15', to: '2024-01-20' } },
    ]);
    await expect(run({ from: '2024-01-18', to: '2024-01-25' })).rejects.toThrow(
      'another execution (cli-2024-01-15_2024-01-20-20240201090000) is already processing 2024-01-18..2024-01-20',
    );
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, '1']);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('refuses the date a running schedule tick processes (the day before, in the schedule zone)', async () => {
    running([{ name: 'scheduled-tick', input: { scheduled_time: '2024-01-17T02:00:00Z' } }]);
    await expect(run({ date: '2024-01-16' })).rejects.toThrow(
      'another execution (scheduled-tick) is already processing 2024-01-16',
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('starts when the running executions process other dates', async () => {
    running([
      { name: 'cli-2024-01-10-20240201090000', input: { date: '2024-01-10' } },
      { name: 'scheduled-tick', input: { scheduled_time: '2024-02-01T02:00:00Z' } },
    ]);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:mine', startDate: NOW });
    sfn.on(DescribeExecutionCommand, { executionArn: 'arn:exec:mine' }).resolves({ status: 'SUCCEEDED' });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const name = 'cli-2024-01-16-20240201102030';
    fakeBucket({ [`run-records/${name}/2024-01-16.json`]: JSON.stringify(record('2024-01-16', name)) });
    await expect(run({ date: '2024-01-16' })).resolves.toEqual([record('2024-01-16', name)]);
  });
});

describe('helpers', () => {
  test('execution names are readable, unique per second and valid for Step Functions', () => {
    expect(executionName({ from: '2024-01-16', to: '2024-01-16' }, NOW)).toBe('cli-2024-01-16-20240201102030');
    const range = executionName({ from: '2024-01-01', to: '2024-12-31' }, NOW);
    expect(range).toBe('cli-2024-01-01_2024-12-31-20240201102030');
    expect(range).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  test('input dates', () => {
    expect(inputDates({ date: '2024-01-16' }, undefined, undefined)).toEqual({ from: '2024-01-16', to: '2024-01-16' });
    expect(inputDates({ from: '2024-01-01', to: '2024-01-31' }, undefined, undefined)).toEqual({
      from: '2024-01-01',
      to: '2024-01-31',
    });
    // 2024-01-16T23:30Z is already the 17th in Zurich, so the tick processes the 16th.
    expect(inputDates({ scheduled_time: '2024-01-16T23:30:00Z' }, undefined, 'Europe/Zurich')).toEqual({
      from: '2024-01-16',
      to: '2024-01-16',
    });
    expect(inputDates({}, new Date('2024-01-16T12:00:00Z'), 'UTC')).toEqual({ from: '2024-01-15', to: '2024-01-15' });
    expect(inputDates({ scheduled_time: '2024-01-16T23:30:00Z' }, undefined, undefined)).toBeUndefined();
    expect(inputDates('x', undefined, 'UTC')).toBeUndefined();
  });
});
