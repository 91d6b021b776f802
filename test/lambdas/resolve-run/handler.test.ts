import { LAKE_LEASE_KEY, runRecordKey, scheduleTickKey } from '../../../core/lake-layout';
import { ZERO_COUNTS } from '../../../core/run-record';
import { handle } from '../../../lambdas/resolve-run/handler';
import { releaseLakeLease } from '../../../lambdas/shared/lake-lease';
import type { HandlerRuntime } from '../../../lambdas/shared/runtime';
import { storeLakePerTest } from '../../helpers/lake';
import { contents } from '../../helpers/lake-state';

const lake = storeLakePerTest();

const env = { STAGING_BUCKET: 'staging', SCHEDULE_TIME_ZONE: 'Europe/Zurich' };
const arn = (name: string) => `arn:aws:states:eu-west-1:111122223333:execution:txlake-dev:${name}`;

/** Executions in `running` are running; the lake's store is the per-test lake. */
const runtime = (...running: string[]): HandlerRuntime => ({
  store: lake.store,
  env,
  isExecutionRunning: async (id) => running.includes(id),
});

const event = (name: string, input: unknown, startTime = '2024-01-17T10:00:00Z') => ({
  input,
  execution_id: arn(name),
  execution_name: name,
  start_time: startTime,
});

const release = (name: string) => releaseLakeLease(arn(name), { store: lake.store, stagingBucket: 'staging' });

describe('resolve-run handler', () => {
  test('resolves the input and takes the lake lease for the execution', async () => {
    const out = await handle(event('run-1', { from: '2024-01-15', to: '2024-01-16' }), runtime(arn('run-1')));
    expect(out).toEqual({ execution_id: 'run-1', batches: [['2024-01-15', '2024-01-16']], count: 1, index: 0 });
    expect(JSON.parse((await lake.store.getText('staging', LAKE_LEASE_KEY))!)).toEqual({
      execution_id: arn('run-1'),
      acquired_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });

  test('a duplicate delivery of a schedule tick processes nothing', async () => {
    const tick = { scheduled_time: '2024-01-17T01:00:00Z' }; // 02:00 in Zurich
    const first = await handle(event('sched-a', tick, '2024-01-17T01:00:03Z'), runtime(arn('sched-a')));
    expect(first).toEqual({ execution_id: 'sched-a', batches: [['2024-01-16']], count: 1, index: 0 });
    // The duplicate needs no lease (it changes nothing): it resolves to no dates even while the
    // first execution runs.
    const again = await handle(event('sched-b', tick, '2024-01-17T01:00:09Z'), runtime(arn('sched-a'), arn('sched-b')));
    expect(again).toEqual({ execution_id: 'sched-b', batches: [], count: 0, index: 0 });
    expect(JSON.parse((await lake.store.getText('staging', scheduleTickKey(tick.scheduled_time)))!)).toEqual({
      scheduled_time: '2024-01-17T01:00:00Z',
      execution_id: 'sched-a',
      dates: ['2024-01-16'],
    });
    expect(JSON.parse((await lake.store.getText('staging', LAKE_LEASE_KEY))!)).toMatchObject({
      execution_id: arn('sched-a'),
    });
    // The next night's tick is a new claim.
    await release('sched-a');
    const next = await handle(
      event('sched-c', { scheduled_time: '2024-01-18T01:00:00Z' }, '2024-01-18T01:00:02Z'),
      runtime(arn('sched-c')),
    );
    expect(next).toMatchObject({ batches: [['2024-01-17']], count: 1 });
  });

  test('a retry of the same execution keeps its own claim and its lease', async () => {
    const e = event('sched-a', { scheduled_time: '2024-01-17T01:00:00Z' }, '2024-01-17T01:00:03Z');
    expect(await handle(e, runtime(arn('sched-a')))).toMatchObject({ batches: [['2024-01-16']], count: 1 });
    const state = await contents(lake.store, 'staging');
    expect(await handle(e, runtime(arn('sched-a')))).toMatchObject({ batches: [['2024-01-16']], count: 1 });
    expect(await contents(lake.store, 'staging')).toEqual(state);
  });

  test('dates and ranges are never deduplicated: a rerun is always allowed', async () => {
    for (const name of ['run-1', 'run-2']) {
      const r = await handle(event(name, { date: '2024-01-16' }), runtime(arn(name)));
      expect(r).toMatchObject({ batches: [['2024-01-16']], count: 1 });
      await release(name);
    }
  });

  test('LAKE_BUSY while another running execution holds the lease, having changed nothing', async () => {
    await handle(event('night', { date: '2024-01-16' }), runtime(arn('night')));
    const before = await contents(lake.store, 'staging');
    for (const input of [{ from: '2024-01-01', to: '2024-01-10' }, { scheduled_time: '2024-01-18T01:00:00Z' }]) {
      await expect(handle(event('console', input), runtime(arn('night'), arn('console')))).rejects.toMatchObject({
        name: 'LAKE_BUSY',
        message: expect.stringContaining(arn('night')),
      });
    }
    expect(await contents(lake.store, 'staging')).toEqual(before);
  });

  test("a lease whose execution no longer runs is taken over (a killed run's)", async () => {
    await handle(event('killed', { date: '2024-01-16' }), runtime(arn('killed')));
    expect(await handle(event('next', { date: '2024-01-16' }), runtime(arn('next')))).toMatchObject({ count: 1 });
    expect(JSON.parse((await lake.store.getText('staging', LAKE_LEASE_KEY))!)).toMatchObject({
      execution_id: arn('next'),
    });
  });

  test('invalid input fails before the lease is taken', async () => {
    await expect(handle(event('bad', { date: '2024-02-30' }), runtime())).rejects.toMatchObject({
      name: 'INVALID_RUN_INPUT',
    });
    expect(await contents(lake.store, 'staging')).toEqual({});
  });

  test('the event must carry the execution id; the runtime must bind the execution port', async () => {
    const { execution_id: _omitted, ...withoutId } = event('run-1', { date: '2024-01-16' });
    await expect(handle(withoutId, runtime())).rejects.toThrow(/execution_id/);
    await expect(handle(event('run-1', { date: '2024-01-16' }), { store: lake.store, env })).rejects.toThrow(
      'the runtime binds no isExecutionRunning port',
    );
  });
});

describe('resolve-run handler in a child execution (one batch of dates)', () => {
  const batch = (name: string, dates: string[]) => ({
    batch: { execution_id: name, lease_holder: arn(name), dates },
  });
  const recordOf = (name: string, date: string, status: string) =>
    lake.store.put(
      'staging',
      runRecordKey(name, date),
      JSON.stringify({ ...ZERO_COUNTS, ingest_date: date, run_id: `${date}_${name}`, status }),
    );

  test("the batch's dates with their run ids, under the entry execution's lease", async () => {
    await handle(event('entry', { from: '2024-01-30', to: '2024-02-02' }), runtime(arn('entry')));
    const out = await handle(batch('entry', ['2024-01-30', '2024-01-31']), runtime(arn('entry')));
    expect(out).toEqual({
      execution_id: 'entry',
      lease_holder: arn('entry'),
      dates: ['2024-01-30', '2024-01-31'],
      run_ids: ['2024-01-30_entry', '2024-01-31_entry'],
      count: 2,
      index: 0,
    });
  });

  test('a redriven batch skips the dates its execution finished and runs the failed one again', async () => {
    await recordOf('entry', '2024-01-30', 'SUCCEEDED');
    await recordOf('entry', '2024-01-31', 'NO_DATA');
    await recordOf('entry', '2024-02-01', 'FAILED');
    await recordOf('other', '2024-02-02', 'SUCCEEDED');
    const out = await handle(
      batch('entry', ['2024-01-30', '2024-01-31', '2024-02-01', '2024-02-02']),
      runtime(arn('entry')),
    );
    expect(out).toMatchObject({ dates: ['2024-02-01', '2024-02-02'], count: 2 });
    // The failed batch had released the lease: the redrive takes it again for the entry execution.
    expect(JSON.parse((await lake.store.getText('staging', LAKE_LEASE_KEY))!)).toMatchObject({
      execution_id: arn('entry'),
    });
  });

  test('LAKE_BUSY when another running execution took the lake meanwhile', async () => {
    await handle(event('night', { date: '2024-01-16' }), runtime(arn('night')));
    await expect(handle(batch('entry', ['2024-01-10']), runtime(arn('night'), arn('entry')))).rejects.toMatchObject({
      name: 'LAKE_BUSY',
    });
  });

  test('a malformed batch is refused (a batch is at most one month of calendar dates)', async () => {
    await expect(handle(batch('entry', ['2024-02-30']), runtime())).rejects.toThrow(/calendar date/);
    const many = Array.from({ length: 32 }, (_, i) => `2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
    await expect(handle(batch('entry', many), runtime())).rejects.toThrow();
    expect(await contents(lake.store, 'staging')).toEqual({});
  });
});
