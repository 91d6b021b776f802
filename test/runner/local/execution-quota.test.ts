import {
  DATA_LIMIT_EXCEEDED,
  ExecutionAccount,
  HISTORY_LIMIT_EXCEEDED,
  MAX_HISTORY_EVENTS,
  MAX_PAYLOAD_BYTES,
} from '../../../runner/local/execution-quota';
import { runLocal } from '../../../runner/local/local-runner';
import { synthesizeTemplates } from '../../../runner/local/template-resolver';
import { ROOT } from '../../helpers/cli';
import { tempLake } from '../../helpers/lake';

const STATES = {
  Start: { Type: 'Pass' },
  Step: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:step' },
  Job: { Type: 'Task', Resource: 'arn:aws:states:::glue:startJobRun.sync' },
  Decide: { Type: 'Choice' },
};
const state = (name: string, extra: Record<string, unknown> = {}) => ({ name, input: {}, output: {}, ...extra });

describe('ExecutionAccount (the Step Functions history event model)', () => {
  test('Pass/Choice 2, Lambda Task 5, .sync Task 6, a retry of a .sync attempt 4 more, start and end 1 each', () => {
    const account = new ExecutionAccount(STATES);
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
    const account = new ExecutionAccount(STATES);
    const sized = (bytes: number): string => 'x'.repeat(bytes - 2); // JSON adds the two quotes
    account.record({ type: 'StateExited', state: state('Start', { output: sized(MAX_PAYLOAD_BYTES) }) });
    expect(account.exceeded).toBeUndefined();
    expect(account.largestPayloadBytes).toBe(MAX_PAYLOAD_BYTES);
    account.record({ type: 'StateExited', state: state('Step', { output: sized(MAX_PAYLOAD_BYTES + 1) }) });
    expect(account.exceeded?.code).toBe(DATA_LIMIT_EXCEEDED);
    expect(account.exceeded?.detail).toMatch(/the output of Step is 262145 bytes/);
  });

  test('25,000 events pass; the next one is over the quota', () => {
    const account = new ExecutionAccount(STATES);
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

  test('a backfill whose single execution would pass 25,000 events fails as in AWS', async () => {
    // 1,400 empty dates × 18 events: over the quota before the last date.
    const result = await run('2031-01-01', '2034-10-31');
    expect(result.status).toBe('FAILED');
    expect(result.error?.code).toBe(HISTORY_LIMIT_EXCEEDED);
    expect(result.quota.events).toBeGreaterThan(MAX_HISTORY_EVENTS);
    expect(result.records.length).toBeLessThan(1400);
  });
});
