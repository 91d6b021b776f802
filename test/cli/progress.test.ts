import { Writable } from 'node:stream';
import { type ProgressStream, startProgress } from '../../cli/progress';
import type { RunRecord } from '../../core/run-record';
import type { ProgressEvent } from '../../runner/pipeline-runner';

const T0 = Date.parse('2024-02-01T10:00:00Z');

const record = (date: string, read: number, status: RunRecord['status'] = 'SUCCEEDED'): RunRecord => ({
  ingest_date: date,
  run_id: `${date}_x`,
  status,
  files: { accepted: read > 0 ? 1 : 0, rejected: 0 },
  rows: { read, silver: read > 0 ? read - 2 : 0, quarantined: read > 0 ? 1 : 0, condemned: read > 0 ? 1 : 0 },
  reasons: {},
});

/**
 * A backfill of three dates as a runner reports it: each state entered and ended, each date's
 * record; `clock` follows the events.
 */
function backfill(clock: { now: number }): ProgressEvent[] {
  const events: ProgressEvent[] = [{ kind: 'plan', total: 3, from: '2024-01-16', to: '2024-01-18' }];
  let current: string | undefined;
  const state = (date: string | undefined, name: string, seconds: number): void => {
    events.push({ kind: 'entered', date: current, state: name });
    clock.now += seconds * 1000;
    current = date;
    events.push({ kind: 'state', date, state: name, outcome: 'ok', seconds, at: clock.now });
  };
  state(undefined, 'ResolveRun', 1);
  const days: [string, number][] = [
    ['2024-01-16', 40],
    ['2024-01-17', 0],
    ['2024-01-18', 20],
  ];
  for (const [date, read] of days) {
    state(date, 'NextDate', 0);
    state(date, 'ValidateLanding', 0.5);
    if (read > 0) state(date, 'TransformRows', 10);
    state(date, read > 0 ? 'RecordSucceeded' : 'RecordNoData', 0.5);
    events.push({ kind: 'date', record: record(date, read, read > 0 ? 'SUCCEEDED' : 'NO_DATA') });
  }
  events.push({ kind: 'note', level: 'detail', text: 'execution x (txlake-dev-dates): 40 of 25000 history events' });
  return events;
}

/** Events delivered one by one, the clock moved to each event's time first (as it happens live). */
function play(events: ProgressEvent[], progress: (e: ProgressEvent) => void, clock: { now: number }): void {
  for (const event of events) {
    if (event.kind === 'state' && event.at !== undefined) clock.now = event.at;
    progress(event);
  }
}

test('not a terminal: one plain line per finished date, nothing per state', async () => {
  const built = { now: T0 };
  const events = backfill(built);
  const clock = { now: T0 };
  let text = '';
  const reporter = await startProgress({ write: (t) => (text += t), now: () => clock.now });
  expect(reporter.mode).toBe('plain');
  play(events, reporter.progress, clock);
  reporter.stop();
  expect(text.split('\n')).toEqual([
    '[txlake] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 11.0s',
    '[txlake] 2024-01-17 NO_DATA read=0 silver=0 quarantined=0 condemned=0 1.0s',
    '[txlake] 2024-01-18 SUCCEEDED read=20 silver=18 quarantined=1 condemned=1 11.0s',
    '',
  ]);
});

test('--json on a terminal still prints plain lines; a failed date names its error', async () => {
  let text = '';
  const stream = Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: true, columns: 100 });
  const reporter = await startProgress({ write: (t) => (text += t), stream, json: true });
  expect(reporter.mode).toBe('plain');
  reporter.progress({ kind: 'plan', total: 1, from: '2024-01-16', to: '2024-01-16' });
  reporter.progress({ kind: 'note', level: 'info', text: 'started execution cli-1 of txlake-dev-pipeline (dev)' });
  reporter.progress({ kind: 'state', date: '2024-01-16', state: 'QualityGate', outcome: 'failed', detail: 'X' });
  reporter.progress({
    kind: 'date',
    record: { ...record('2024-01-16', 40, 'FAILED'), error: 'QUALITY_GATE_FAILED', error_detail: 'too many' },
  });
  reporter.stop();
  expect(text.split('\n')).toEqual([
    '[txlake] started execution cli-1 of txlake-dev-pipeline (dev)',
    '[txlake] 2024-01-16 FAILED QUALITY_GATE_FAILED read=40 silver=38 quarantined=1 condemned=1 0.0s',
    '',
  ]);
});

test('--verbose: a line per state (as the runners print them), per date, and the notes', async () => {
  const clock = { now: T0 };
  let text = '';
  const reporter = await startProgress({ write: (t) => (text += t), verbose: true, now: () => clock.now });
  expect(reporter.mode).toBe('verbose');
  play(backfill({ now: T0 }), reporter.progress, clock);
  reporter.stop();
  const lines = text.trimEnd().split('\n');
  expect(lines.slice(0, 6)).toEqual([
    '[txlake] -          ResolveRun       ok      1.00s',
    '[txlake] 2024-01-16 NextDate         ok      0.00s',
    '[txlake] 2024-01-16 ValidateLanding  ok      0.50s',
    '[txlake] 2024-01-16 TransformRows    ok      10.00s',
    '[txlake] 2024-01-16 RecordSucceeded  ok      0.50s',
    '[txlake] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 11.0s',
  ]);
  expect(lines[lines.length - 1]).toBe('[txlake] execution x (txlake-dev-dates): 40 of 25000 history events');
});

test('a terminal: one live line drawn by cli-progress, ending on 3/3 and the last date', async () => {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    }),
    { isTTY: true, columns: 120 },
  ) as ProgressStream;
  let plain = '';
  const clock = { now: T0 };
  const reporter = await startProgress({ write: (t) => (plain += t), stream, now: () => clock.now, env: {} });
  expect(reporter.mode).toBe('live');
  play(backfill({ now: T0 }), reporter.progress, clock);
  clock.now = T0 + 23_000;
  reporter.stop();
  await new Promise((resolve) => setImmediate(resolve));

  expect(plain).toBe(''); // nothing printed as plain lines: the live line is all
  const drawn = chunks.filter((c) => c.startsWith('[txlake] '));
  expect(drawn.length).toBeGreaterThan(0);
  const last = drawn[drawn.length - 1];
  expect(last).toContain('3/3 dates | 2024-01-18 RecordSucceeded |');
  expect(last).toMatch(/ 2\.6 rows\/s \| 0:23$/); // 60 rows read in 23 s
  expect(last.length).toBeLessThan(120);
  // cli-progress redraws in place (cursor to column 1, clear to the end) and ends with a newline.
  expect(chunks.join('')).toContain('\x1b[1G');
  expect(chunks[chunks.length - 1]).toBe('\n');
  expect(chunks.join('')).not.toContain('\x1b[?7l'); // the terminal's line wrapping is left alone
});

test('a terminal: a note before the line starts is printed at once, one during it once the line is done', async () => {
  const stream = Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: true, columns: 80 });
  let plain = '';
  const reporter = await startProgress({ write: (t) => (plain += t), stream, env: {} });
  reporter.progress({ kind: 'note', level: 'info', text: 'started execution cli-1' });
  expect(plain).toBe('[txlake] started execution cli-1\n');
  reporter.progress({ kind: 'plan', total: 2, from: '2024-01-16', to: '2024-01-17' });
  reporter.progress({ kind: 'note', level: 'info', text: 'later' });
  reporter.progress({ kind: 'note', level: 'detail', text: 'quota figures: --verbose only' });
  expect(plain).toBe('[txlake] started execution cli-1\n');
  reporter.stop();
  expect(plain).toBe('[txlake] started execution cli-1\n[txlake] later\n');
});

test('TERM=dumb: no live line', async () => {
  const stream = Object.assign(new Writable({ write: (_c, _e, done) => done() }), { isTTY: true, columns: 80 });
  const reporter = await startProgress({ write: () => undefined, stream, env: { TERM: 'dumb' } });
  expect(reporter.mode).toBe('plain');
});
