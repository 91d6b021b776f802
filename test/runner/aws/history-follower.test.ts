import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { HistoryFollower } from '../../../runner/aws/history-follower';

const ENTRY = 'arn:aws:states:eu-west-1:111122223333:execution:txlake-dev-pipeline:cli-1';
const CHILD = 'arn:aws:states:eu-west-1:111122223333:execution:txlake-dev-dates:0a1b';
const T0 = Date.parse('2024-02-01T10:00:00Z');

/**
 * Histories by execution ARN, growing as the test appends; served newest first, as asked, or oldest
 * first (an emulator that ignores `reverseOrder`, as moto 5.2.6 does).
 */
class FakeHistories {
  readonly histories = new Map<string, HistoryEvent[]>();
  readonly calls: string[] = [];

  constructor(private readonly oldestFirst = false) {}

  add(arn: string, type: string, seconds: number, details: Partial<HistoryEvent> = {}): void {
    const events = this.histories.get(arn) ?? [];
    const id = events.length + 1;
    events.push({
      id,
      previousEventId: id - 1,
      type: type as HistoryEvent['type'],
      timestamp: new Date(T0 + seconds * 1000),
      ...details,
    });
    this.histories.set(arn, events);
  }

  client(): SFNClient {
    return {
      send: async (command: unknown) => {
        if (!(command instanceof GetExecutionHistoryCommand)) throw new Error('unexpected command');
        const arn = command.input.executionArn ?? '';
        this.calls.push(arn);
        const events = [...(this.histories.get(arn) ?? [])];
        return { events: this.oldestFirst ? events : events.reverse() };
      },
    } as unknown as SFNClient;
  }
}

const state = (h: FakeHistories, arn: string, name: string, from: number, to: number, output?: unknown) => {
  h.add(arn, 'TaskStateEntered', from, { stateEnteredEventDetails: { name } });
  h.add(arn, 'TaskStateExited', to, {
    stateExitedEventDetails: { name, ...(output ? { output: JSON.stringify(output) } : {}) },
  });
};

test("the child executions a backfill starts are followed: each month's steps print as they end", async () => {
  const h = new FakeHistories();
  const lines: string[] = [];
  const follower = new HistoryFollower(h.client(), ENTRY, (l) => lines.push(l));
  h.add(ENTRY, 'ExecutionStarted', 0);
  state(h, ENTRY, 'ResolveRun', 0, 1);
  h.add(ENTRY, 'TaskStateEntered', 1, { stateEnteredEventDetails: { name: 'ProcessDates' } });
  h.add(ENTRY, 'TaskSubmitted', 1, {
    taskSubmittedEventDetails: {
      resourceType: 'states',
      resource: 'startExecution.sync:2',
      output: JSON.stringify({ ExecutionArn: CHILD, StartDate: T0 }),
    },
  });
  await follower.poll();
  expect(lines).toEqual(['-          ResolveRun       ok      1.00s']);

  h.add(CHILD, 'ExecutionStarted', 1);
  state(h, CHILD, 'ResolveBatch', 1, 2);
  state(h, CHILD, 'ValidateLanding', 2, 3.5, { current: { ingest_date: '2024-01-16' } });
  await follower.poll();
  expect(lines.slice(1)).toEqual([
    '-          ResolveBatch     ok      1.00s',
    '2024-01-16 ValidateLanding  ok      1.50s',
  ]);

  state(h, CHILD, 'RecordSucceeded', 3.5, 4, { current: { ingest_date: '2024-01-16' } });
  h.add(CHILD, 'ExecutionSucceeded', 4);
  h.add(ENTRY, 'TaskStateExited', 5, { stateExitedEventDetails: { name: 'ProcessDates' } });
  h.add(ENTRY, 'ExecutionSucceeded', 5);
  await follower.poll();
  expect(lines.slice(3)).toEqual([
    '-          ProcessDates     ok      4.00s',
    '2024-01-16 RecordSucceeded  ok      0.50s',
  ]);

  // Ended executions are not read again.
  const before = h.calls.length;
  await follower.poll();
  expect(h.calls.length).toBe(before);
});

test('a history served oldest first (reverseOrder ignored) still prints each new state once', async () => {
  const h = new FakeHistories(true);
  const lines: string[] = [];
  const follower = new HistoryFollower(h.client(), ENTRY, (l) => lines.push(l));
  h.add(ENTRY, 'ExecutionStarted', 0);
  state(h, ENTRY, 'ResolveRun', 0, 1);
  await follower.poll();
  state(h, ENTRY, 'TransformRows', 1, 3, { current: { ingest_date: '2024-01-16' } });
  await follower.poll();
  await follower.poll();
  state(h, ENTRY, 'RecordSucceeded', 3, 4);
  h.add(ENTRY, 'ExecutionSucceeded', 4);
  await follower.poll();
  expect(lines).toEqual([
    '-          ResolveRun       ok      1.00s',
    '2024-01-16 TransformRows    ok      2.00s',
    '2024-01-16 RecordSucceeded  ok      1.00s',
  ]);
});
