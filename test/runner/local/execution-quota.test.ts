import {
  DATA_LIMIT_EXCEEDED,
  ExecutionAccount,
  HISTORY_LIMIT_EXCEEDED,
  MAX_HISTORY_EVENTS,
  MAX_PAYLOAD_BYTES,
} from '../../../runner/local/execution-quota';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { batchRun, type DateBatch, dateRange } from '../../../core/run-plan';
import { runLocal, type TaskWrapper } from '../../../runner/local/local-runner';
import { resolvePipeline, synthesizeTemplates } from '../../../runner/local/template-resolver';
import { ROOT } from '../../helpers/cli';
import { landFiles, tempLake } from '../../helpers/lake';
import { serviceStandIns } from '../../helpers/service-stand-ins';

const STATES = {
  Start: { Type: 'Pass' },
  Step: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:step' },
  Job: { Type: 'Task', Resource: 'arn:aws:states:::glue:startJobRun.sync' },
  Decide: { Type: 'Choice' },
};
const state = (name: string, extra: Record<string, unknown> = {}) => ({ name, input: {}, output: {}, ...extra });

describe('ExecutionAccount (the Step Functions history event model)', () => {
  test('Pass/Choice 2, Lambda Task 5, .sync Task 6, a retry of a .sync attempt 4 more, start and end 1 each', () => {
    const account = new ExecutionAccount({ States: STATES });
    const events = [
      { type: 'ExecutionStarted', input: {} },
      { type: 'StateEntered', state: state('Start') },
      { type: 'StateExited', state: state('Start') },
      { type: 'StateEntered', state: state('Step') },
      { type: 'StateExited', state: state('Step') },
      { type: 'StateEntered', state: state('Job') },
      { type: 'StateRetried', state: state('Job') },
      { type: 'StateExited', state: state('Job') },
      { type: 'StateEntered', state: state('Decide') },
      { type: 'StateExited', state: state('Decide') },
      { type: 'ExecutionSucceeded' },
    ];
    for (const event of events) account.record(event);
    expect(account.events).toBe(1 + 2 + 5 + (6 + 4) + 2 + 1);
    expect(account.exceeded).toBeUndefined();
  });

  test('a payload of exactly 256 KB passes; one byte more is over the quota', () => {
    const account = new ExecutionAccount({ States: STATES });
    const sized = (bytes: number): string => 'x'.repeat(bytes - 2); // JSON adds the two quotes
    account.record({ type: 'StateExited', state: state('Start', { output: sized(MAX_PAYLOAD_BYTES) }) });
    expect(account.exceeded).toBeUndefined();
    expect(account.largestPayloadBytes).toBe(MAX_PAYLOAD_BYTES);
    account.record({ type: 'StateExited', state: state('Step', { output: sized(MAX_PAYLOAD_BYTES + 1) }) });
    expect(account.exceeded?.code).toBe(DATA_LIMIT_EXCEEDED);
    expect(account.exceeded?.detail).toMatch(/the output of Step is 262145 bytes/);
  });

  test('25,000 events pass; the next one is over the quota', () => {
    const account = new ExecutionAccount({ States: STATES });
    for (let i = 0; i < MAX_HISTORY_EVENTS / 2; i += 1) {
      account.record({ type: 'StateEntered', state: state('Start') });
      account.record({ type: 'StateExited', state: state('Start') });
    }
    expect(account.events).toBe(MAX_HISTORY_EVENTS);
    expect(account.exceeded).toBeUndefined();
    account.record({ type: 'ExecutionSucceeded' });
    expect(account.exceeded?.code).toBe(HISTORY_LIMIT_EXCEEDED);
  });
});

describe('the local run keeps the quotas of the synthesized definition', () => {
  const templates = synthesizeTemplates({ root: ROOT });
  const run = (from: string, to: string) =>
    runLocal({ root: ROOT, lake: tempLake(), input: { from, to }, templates, retryIntervalMs: 0 });

  test('an empty date costs 18 history events in one execution, as in AWS', async () => {
    const one = await run('2031-01-01', '2031-01-01');
    const two = await run('2031-01-01', '2031-01-02');
    expect([one.status, two.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(two.quota.events - one.quota.events).toBe(18);
    expect(one.quota.largestPayloadBytes).toBeGreaterThan(0);
    expect(one.quota.largestPayloadBytes).toBeLessThan(MAX_PAYLOAD_BYTES);
  });
});

describe('backfills of years stay within the quotas of every execution (orchestration at scale)', () => {
  // Three years of dates, a file on every other one; the Glue and Athena steps are instant
  // stand-ins (test/helpers/service-stand-ins), everything else is the real run.
  const templates = synthesizeTemplates({ root: ROOT });
  const pipeline = resolvePipeline(templates);
  const sample = readFileSync(path.join(ROOT, 'samples/transactions/ingest_date=2024-01-16/transactions_20240116.csv'));
  const landEveryOtherDate = (lake: string, dates: string[]): string[] => {
    const withFiles = dates.filter((_, i) => i % 2 === 0);
    for (const date of withFiles) landFiles(lake, date, { [`transactions_${date.replace(/-/g, '')}.csv`]: sample });
    return withFiles;
  };
  const run = (lake: string, input: Record<string, string>, wrapTask: TaskWrapper) =>
    runLocal({ root: ROOT, lake, input, templates, retryIntervalMs: 0, wrapTask });

  test('a backfill over three years (1,096 dates, a file on 548) completes, each execution far below 25,000 events and 256 KB', async () => {
    const lake = tempLake();
    const dates = dateRange('2022-01-01', '2024-12-31');
    expect(dates).toHaveLength(1096);
    const withFiles = landEveryOtherDate(lake, dates);
    const result = await run(
      lake,
      { from: '2022-01-01', to: '2024-12-31' },
      serviceStandIns(lake, pipeline.athenaOutputLocation),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(result.records.map((r) => r.ingest_date)).toEqual(dates);
    expect(result.records.filter((r) => r.status === 'SUCCEEDED').map((r) => r.ingest_date)).toEqual(withFiles);
    expect(result.records.filter((r) => r.status === 'NO_DATA')).toHaveLength(dates.length - withFiles.length);
    // One entry execution and one child per month.
    const executions = result.quota.executions;
    expect(executions.filter((e) => e.stateMachine === 'txlake-dev-pipeline')).toHaveLength(1);
    expect(executions.filter((e) => e.stateMachine === 'txlake-dev-dates')).toHaveLength(36);
    expect(result.quota.events).toBeLessThan(MAX_HISTORY_EVENTS / 5);
    expect(result.quota.largestPayloadBytes).toBeLessThan(MAX_PAYLOAD_BYTES / 4);
    process.stdout.write(
      `three-year backfill: ${executions.length} executions; entry ${executions.find((e) => e.stateMachine === 'txlake-dev-pipeline')?.events} events; ` +
        `largest child ${Math.max(...executions.filter((e) => e.stateMachine === 'txlake-dev-dates').map((e) => e.events))} events; ` +
        `largest payload ${result.quota.largestPayloadBytes} bytes\n`,
    );
  }, 600_000);

  test('the old design shape, one execution looping over 400 dates with files, fails the account as AWS would', async () => {
    const lake = tempLake();
    const dates = dateRange('2021-01-01', '2022-02-04');
    expect(dates).toHaveLength(400);
    for (const date of dates) landFiles(lake, date, { [`transactions_${date.replace(/-/g, '')}.csv`]: sample });
    const standIns = serviceStandIns(lake, pipeline.athenaOutputLocation);
    // The entry hands all 400 dates to one child, which loops over them: the design before #12.
    const oneExecution: TaskWrapper = async (state, input, invoke) => {
      if (state === 'ResolveRun') {
        const plan = (await invoke()) as { execution_id: string };
        return { ...plan, batches: [dates], count: 1, index: 0 };
      }
      if (state === 'ResolveBatch') return batchRun((input as { batch: DateBatch }).batch, new Set());
      return standIns(state, input, invoke);
    };
    const result = await run(lake, { from: dates[0], to: dates[dates.length - 1] }, oneExecution);
    expect(result.status).toBe('FAILED');
    expect(result.records.filter((r) => r.status === 'FAILED')).toEqual([]);
    expect(result.error?.code).toBe(HISTORY_LIMIT_EXCEEDED);
    expect(result.quota.events).toBeGreaterThan(MAX_HISTORY_EVENTS);
    expect(result.records.length).toBeGreaterThan(250);
    expect(result.records.length).toBeLessThan(400);
  }, 600_000);
});
