import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import type { RunRecord } from '../../../core/run-record';
import { HistoryFollower } from '../../../runner/aws/history-follower';
import type { ProgressEvent } from '../../../runner/pipeline-runner';

const ARN = 'arn:aws:states:eu-west-1:111122223333:execution:txlake-dev-dates:0a1b';
const T0 = Date.parse('2024-02-01T10:00:00Z');

/** One execution's history, served newest first. */
function history(): { events: HistoryEvent[]; client: SFNClient } {
  const events: HistoryEvent[] = [];
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof GetExecutionHistoryCommand)) throw new Error('unexpected command');
      return { events: [...events].reverse() };
    },
  } as unknown as SFNClient;
  return { events, client };
}

test('the follower reports each state as an event and each recorded date with its run record', async () => {
  const { events, client } = history();
  const add = (type: string, seconds: number, details: Partial<HistoryEvent> = {}) =>
    events.push({
      id: events.length + 1,
      previousEventId: events.length,
      type: type as HistoryEvent['type'],
      timestamp: new Date(T0 + seconds * 1000),
      ...details,
    });
  const state = (name: string, from: number, to: number, date?: string) => {
    add('TaskStateEntered', from, { stateEnteredEventDetails: { name } });
    const output = date ? JSON.stringify({ execution_id: 'cli-1', current: { ingest_date: date } }) : undefined;
    add('TaskStateExited', to, { stateExitedEventDetails: { name, output } });
  };
  add('ExecutionStarted', 0);
  state('ResolveBatch', 0, 1);
  state('ValidateLanding', 1, 2, '2024-01-16');
  add('TaskStateEntered', 2, { stateEnteredEventDetails: { name: 'QualityGate' } });
  add('TaskFailed', 3, {
    taskFailedEventDetails: {
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'QUALITY_GATE_FAILED',
      cause: 'too many',
    },
  });
  state('RecordFailed', 3, 4, '2024-01-16');
  add('ExecutionFailed', 4);

  const failed: RunRecord = {
    ingest_date: '2024-01-16',
    run_id: '2024-01-16_cli-1',
    status: 'FAILED',
    error: 'QUALITY_GATE_FAILED',
    files: { accepted: 1, rejected: 0 },
    rows: { read: 10, silver: 5, quarantined: 5, condemned: 0 },
    reasons: {},
  };
  const reads: string[] = [];
  const lines: string[] = [];
  const seen: ProgressEvent[] = [];
  const follower = new HistoryFollower(client, ARN, (l) => lines.push(l), {
    events: (e) => seen.push(e),
    readRecord: async (date) => {
      reads.push(date);
      return failed;
    },
  });
  await follower.poll();

  expect(reads).toEqual(['2024-01-16']);
  expect(seen).toEqual([
    { kind: 'entered', state: 'ResolveBatch' },
    { kind: 'state', state: 'ResolveBatch', outcome: 'ok', seconds: 1, at: T0 + 1000 },
    { kind: 'entered', state: 'ValidateLanding' },
    { kind: 'state', date: '2024-01-16', state: 'ValidateLanding', outcome: 'ok', seconds: 1, at: T0 + 2000 },
    { kind: 'entered', date: '2024-01-16', state: 'QualityGate' },
    {
      kind: 'state',
      date: '2024-01-16',
      state: 'QualityGate',
      outcome: 'failed',
      seconds: 1,
      at: T0 + 3000,
      detail: 'QUALITY_GATE_FAILED',
    },
    { kind: 'entered', date: '2024-01-16', state: 'RecordFailed' },
    { kind: 'state', date: '2024-01-16', state: 'RecordFailed', outcome: 'ok', seconds: 1, at: T0 + 4000 },
    { kind: 'date', record: failed },
  ]);
  // The lines are the events' text, as before.
  expect(lines.map((l) => l.replace(/\s+/g, ' '))).toEqual([
    '- ResolveBatch ok 1.00s',
    '2024-01-16 ValidateLanding ok 1.00s',
    '2024-01-16 QualityGate failed 1.00s QUALITY_GATE_FAILED',
    '2024-01-16 RecordFailed ok 1.00s',
  ]);
});
