import { scheduleTickKey } from '../../../core/lake-layout';
import { handle } from '../../../lambdas/resolve-run/handler';
import { tempStoreLake } from '../../helpers/lake';

const env = {
  BRONZE_BUCKET: 'bronze',
  SILVER_BUCKET: 'silver',
  GOLD_BUCKET: 'gold',
  QUARANTINE_BUCKET: 'quarantine',
  CONDEMNED_BUCKET: 'condemned',
  STAGING_BUCKET: 'staging',
  SCHEDULE_TIME_ZONE: 'Europe/Zurich',
  JOURNAL_RECOVERY_MIN_AGE_MINUTES: '0',
};

describe('resolve-run handler', () => {
  test('a duplicate delivery of a schedule tick processes nothing', async () => {
    const store = tempStoreLake().store;
    const tick = { scheduled_time: '2024-01-17T01:00:00Z' }; // 02:00 in Zurich
    const first = await handle(
      { input: tick, execution_name: 'sched-a', start_time: '2024-01-17T01:00:03Z' },
      { store, env },
    );
    expect(first).toEqual({
      execution_id: 'sched-a',
      dates: ['2024-01-16'],
      run_ids: ['2024-01-16_sched-a'],
      count: 1,
      index: 0,
    });
    const again = await handle(
      { input: tick, execution_name: 'sched-b', start_time: '2024-01-17T01:00:09Z' },
      { store, env },
    );
    expect(again).toEqual({ execution_id: 'sched-b', dates: [], run_ids: [], count: 0, index: 0 });
    expect(JSON.parse((await store.getText('staging', scheduleTickKey(tick.scheduled_time)))!)).toEqual({
      scheduled_time: '2024-01-17T01:00:00Z',
      execution_id: 'sched-a',
      dates: ['2024-01-16'],
    });
    // The next night's tick is a new claim.
    const next = await handle(
      {
        input: { scheduled_time: '2024-01-18T01:00:00Z' },
        execution_name: 'sched-c',
        start_time: '2024-01-18T01:00:02Z',
      },
      { store, env },
    );
    expect(next).toMatchObject({ dates: ['2024-01-17'], count: 1 });
  });

  test('a retry of the same execution keeps its own claim', async () => {
    const store = tempStoreLake().store;
    const event = {
      input: { scheduled_time: '2024-01-17T01:00:00Z' },
      execution_name: 'sched-a',
      start_time: '2024-01-17T01:00:03Z',
    };
    expect(await handle(event, { store, env })).toMatchObject({ dates: ['2024-01-16'], count: 1 });
    expect(await handle(event, { store, env })).toMatchObject({ dates: ['2024-01-16'], count: 1 });
  });

  test('dates and ranges are never deduplicated: a rerun is always allowed', async () => {
    const store = tempStoreLake().store;
    for (const name of ['run-1', 'run-2']) {
      const r = await handle(
        { input: { date: '2024-01-16' }, execution_name: name, start_time: '2024-01-17T10:00:00Z' },
        { store, env },
      );
      expect(r).toMatchObject({ dates: ['2024-01-16'], count: 1 });
    }
  });

  test('putIfAbsent writes once', async () => {
    const store = tempStoreLake().store;
    expect(await store.putIfAbsent('staging', 'a/b.json', 'one')).toBe(true);
    expect(await store.putIfAbsent('staging', 'a/b.json', 'two')).toBe(false);
    expect(await store.getText('staging', 'a/b.json')).toBe('one');
  });
});
