import { LAKE_LEASE_KEY, scheduleTickKey } from '../../../core/lake-layout';
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
    expect(out).toEqual({
      execution_id: 'run-1',
      dates: ['2024-01-15', '2024-01-16'],
      run_ids: ['2024-01-15_run-1', '2024-01-16_run-1'],
      count: 2,
      index: 0,
    });
    expect(JSON.parse((await lake.store.getText('staging', LAKE_LEASE_KEY))!)).toEqual({
      execution_id: arn('run-1'),
      acquired_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });

  test('a duplicate delivery of a schedule tick processes nothing', async () => {
    const tick = { scheduled_time: '2024-01-17T01:00:00Z' }; // 02:00 in Zurich
    const first = await handle(event('sched-a', tick, '2024-01-17T01:00:03Z'), runtime(arn('sched-a')));
    expect(first).toEqual({
      execution_id: 'sched-a',
      dates: ['2024-01-16'],
      run_ids: ['2024-01-16_sched-a'],
      count: 1,
      index: 0,
    });
    // The duplicate needs no lease (it changes nothing): it resolves to no dates even while the
    // first execution runs.
    const again = await handle(event('sched-b', tick, '2024-01-17T01:00:09Z'), runtime(arn('sched-a'), arn('sched-b')));
    expect(again).toEqual({ execution_id: 'sched-b', dates: [], run_ids: [], count: 0, index: 0 });
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
    expect(next).toMatchObject({ dates: ['2024-01-17'], count: 1 });
  });

  test('a retry of the same execution keeps its own claim and its lease', async () => {
    const e = event('sched-a', { scheduled_time: '2024-01-17T01:00:00Z' }, '2024-01-17T01:00:03Z');
    expect(await handle(e, runtime(arn('sched-a')))).toMatchObject({ dates: ['2024-01-16'], count: 1 });
    const state = await contents(lake.store, 'staging');
    expect(await handle(e, runtime(arn('sched-a')))).toMatchObject({ dates: ['2024-01-16'], count: 1 });
    expect(await contents(lake.store, 'staging')).toEqual(state);
  });

  test('dates and ranges are never deduplicated: a rerun is always allowed', async () => {
    for (const name of ['run-1', 'run-2']) {
      const r = await handle(event(name, { date: '2024-01-16' }), runtime(arn(name)));
      expect(r).toMatchObject({ dates: ['2024-01-16'], count: 1 });
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
