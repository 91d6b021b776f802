import * as fc from 'fast-check';
import { isCalendarDate, nextMonth } from '../../../core/calendar';
import { isDataFile, isUnloadDataFile, monthOfKey } from '../../../core/lake-layout';
import { publish } from '../../../lambdas/publish/core';
import { commitRun } from '../../../lambdas/shared/journal';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { BUCKETS, storeLakePerTest, tempStoreLake } from '../../helpers/lake';
import { contents, diskDirs, diskFiles, publishedObjects } from '../../helpers/lake-state';
import {
  commitAndClear,
  crashes,
  mutationsOf,
  rejectionsJson,
  seed,
  stage,
  stageAndPublish,
} from '../../helpers/staged-runs';

const lake = storeLakePerTest();

describe('isUnloadDataFile', () => {
  test('Athena UNLOAD files (no extension) and Parquet files; not markers, hidden or metadata files', () => {
    expect(
      isUnloadDataFile(
        'gold-refresh/year=2024/month=01/20240701_144951_00037_v74wa_1ad6f92e-a1e0-471e-933c-0e33736726fd',
      ),
    ).toBe(true);
    expect(isUnloadDataFile('gold-refresh/year=2024/month=01/x.parquet')).toBe(true);
    expect(isUnloadDataFile('gold-refresh/year=2024/month=01/_SUCCESS')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/year=2024/month=01/.x.crc')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/year=2024/month=01/x.crc')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/q-manifest.csv.metadata')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/q.manifest')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/year=2024_$folder$')).toBe(false);
    expect(isUnloadDataFile('gold-refresh/year=2024/month=01/')).toBe(false);
  });
});

describe('isDataFile', () => {
  test('Spark data files only', () => {
    expect(isDataFile('a/part-00000-x.c000.snappy.parquet')).toBe(true);
    expect(isDataFile('x.parquet')).toBe(true);
    expect(isDataFile('a/_SUCCESS')).toBe(false);
    expect(isDataFile('a/.part-00000-x.c000.snappy.parquet.crc')).toBe(false);
    expect(isDataFile('a/._SUCCESS.crc')).toBe(false);
    expect(isDataFile('a/_temporary.parquet')).toBe(false);
    expect(isDataFile('a/.hidden.parquet')).toBe(false);
    expect(isDataFile('a/part-00000.json')).toBe(false);
  });
});

describe('publish', () => {
  const D = '2024-03-05';
  const R1 = `${D}_e1`;

  test('first run: moves the staged outputs into the layers with their final names', async () => {
    await stage(lake.store, D, R1, {
      silver: { '2024-01': ['S-jan-0', 'S-jan-1'], '2024-03': ['S-mar-0'] },
      quarantine: ['Q-0'],
      condemned: ['C-0'],
      rejected: { 'bad.csv': 'raw,bad\r\n\u00ff' },
    });
    // Output of the job for another ingest date inside this run's staging is not this date's.
    await seed(lake.store, {
      staging: { [`runs/${R1}/quarantine/ingest_date=2024-03-04/part-00000.parquet`]: 'other-date' },
    });
    // A stale gold refresh output is cleared (UNLOAD needs an empty target).
    await seed(lake.store, { staging: { 'gold-refresh/year=2023/month=01/stale.parquet': 'stale' } });
    const stagingBefore = await contents(lake.store, 'staging', `runs/${R1}/`);

    const result = await publish({ ingestDate: D, runId: R1 }, { store: lake.store, buckets: BUCKETS });

    expect(result).toEqual({
      ingest_date: D,
      run_id: R1,
      from_month: '2024-01',
      gold_parameters: ["'2024-01'"],
      published: { silver: 3, quarantine: 1, condemned: 1, rejected_files: 1 },
    });
    expect(await publishedObjects(lake.store)).toEqual({
      [`condemned/transactions/ingest_date=${D}/${R1}_00000.parquet`]: 'C-0',
      [`quarantine/file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R1, ['bad.csv']),
      [`quarantine/files/ingest_date=${D}/bad.csv`]: 'raw,bad\r\n\u00ff',
      [`quarantine/transactions/ingest_date=${D}/${R1}_00000.parquet`]: 'Q-0',
      [`silver/transactions/year=2024/month=01/${D}_${R1}_00000.parquet`]: 'S-jan-0',
      [`silver/transactions/year=2024/month=01/${D}_${R1}_00001.parquet`]: 'S-jan-1',
      [`silver/transactions/year=2024/month=03/${D}_${R1}_00002.parquet`]: 'S-mar-0',
    });
    // Rejected files are byte-identical.
    expect(
      (await lake.store.getBytes('quarantine', `files/ingest_date=${D}/bad.csv`)).equals(
        Buffer.from('raw,bad\r\n\u00ff'),
      ),
    ).toBe(true);
    // Staging: the run's area is kept (record-run clears it) plus the rejections document and the
    // pending journal (nothing replaced, so no backups); no refresh leftovers.
    const { [`journal/${R1}/000-publish.json`]: journal, ...staging } = await contents(lake.store, 'staging');
    expect(staging).toEqual({ ...stagingBefore, [`runs/${R1}/rejections.json`]: rejectionsJson(D, R1, ['bad.csv']) });
    expect(JSON.parse(journal)).toMatchObject({ name: 'publish', runId: R1, deletes: [] });
    // Committing drops the journal and changes nothing published.
    const published = await publishedObjects(lake.store);
    await commitRun(lake.store, 'staging', R1);
    expect(await contents(lake.store, 'staging')).toEqual({
      ...stagingBefore,
      [`runs/${R1}/rejections.json`]: rejectionsJson(D, R1, ['bad.csv']),
    });
    expect(await publishedObjects(lake.store)).toEqual(published);
    // Nothing but the published objects on disk (no temporary files).
    const disk = diskFiles(lake.root);
    expect(Object.keys(disk).filter((k) => !k.startsWith('staging/'))).toEqual(
      Object.keys(await publishedObjects(lake.store)),
    );
  });

  test('rerun of the same date with fewer months replaces that date only', async () => {
    const D2 = '2024-03-04';
    await stageAndPublish(lake.store, D, R1, {
      silver: { '2024-01': ['d-jan'], '2024-02': ['d-feb'], '2024-03': ['d-mar-0', 'd-mar-1'] },
      quarantine: ['d-q0', 'd-q1'],
      condemned: ['d-c0'],
      rejected: { 'old.csv': 'old', 'same.csv': 'same-v1' },
    });
    const R0 = `${D2}_e0`;
    await stageAndPublish(lake.store, D2, R0, {
      silver: { '2024-02': ['o-feb'], '2024-03': ['o-mar'] },
      quarantine: ['o-q0'],
      condemned: ['o-c0'],
      rejected: { 'x.csv': 'x' },
    });

    const R2 = `${D}_e2`;
    const result = await stageAndPublish(lake.store, D, R2, {
      silver: { '2024-03': ['n-mar-0', 'n-mar-1'] },
      quarantine: ['n-q0'],
      rejected: { 'same.csv': 'same-v2', 'new.csv': 'new' },
    });

    expect(result).toEqual({
      ingest_date: D,
      run_id: R2,
      from_month: '2024-01', // the earlier run of the date had January
      gold_parameters: ["'2024-01'"],
      published: { silver: 2, quarantine: 1, condemned: 0, rejected_files: 2 },
    });
    expect(await publishedObjects(lake.store)).toEqual({
      [`condemned/transactions/ingest_date=${D2}/${R0}_00000.parquet`]: 'o-c0',
      [`quarantine/file_rejections/ingest_date=${D2}/rejections.json`]: rejectionsJson(D2, R0, ['x.csv']),
      [`quarantine/file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R2, ['same.csv', 'new.csv']), // manifest order
      [`quarantine/files/ingest_date=${D2}/x.csv`]: 'x',
      [`quarantine/files/ingest_date=${D}/new.csv`]: 'new',
      [`quarantine/files/ingest_date=${D}/same.csv`]: 'same-v2',
      [`quarantine/transactions/ingest_date=${D2}/${R0}_00000.parquet`]: 'o-q0',
      [`quarantine/transactions/ingest_date=${D}/${R2}_00000.parquet`]: 'n-q0',
      [`silver/transactions/year=2024/month=02/${D2}_${R0}_00000.parquet`]: 'o-feb',
      [`silver/transactions/year=2024/month=03/${D2}_${R0}_00001.parquet`]: 'o-mar',
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00000.parquet`]: 'n-mar-0',
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00001.parquet`]: 'n-mar-1',
    });
    // January held only the rerun date's file: its folder is gone too (S3 has no empty folders).
    const dirs = diskDirs(lake.root);
    expect(dirs).not.toContain('silver/transactions/year=2024/month=01');
    expect(dirs).not.toContain(`condemned/transactions/ingest_date=${D}`);
    expect(dirs).toContain('silver/transactions/year=2024/month=02');
    expect(await contents(lake.store, 'staging')).toEqual({});
  });

  test('a rerun without rejected files removes the earlier rejected files and rejections.json', async () => {
    await stageAndPublish(lake.store, D, R1, { silver: { '2024-03': ['a'] }, rejected: { 'bad.csv': 'bad' } });
    await stageAndPublish(lake.store, '2024-03-06', '2024-03-06_e1', { rejected: { 'bad.csv': 'other' } });
    const R2 = `${D}_e2`;
    const result = await stageAndPublish(lake.store, D, R2, { silver: { '2024-03': ['b'] } });
    expect(result.published).toEqual({ silver: 1, quarantine: 0, condemned: 0, rejected_files: 0 });
    expect(await publishedObjects(lake.store)).toEqual({
      'quarantine/file_rejections/ingest_date=2024-03-06/rejections.json': rejectionsJson(
        '2024-03-06',
        '2024-03-06_e1',
        ['bad.csv'],
      ),
      'quarantine/files/ingest_date=2024-03-06/bad.csv': 'other',
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00000.parquet`]: 'b',
    });
  });

  test('from_month: earliest of the old and the new silver months of the date; null when neither has any', async () => {
    const run = (n: number) => `${D}_e${n}`;
    expect((await stageAndPublish(lake.store, D, run(1), { silver: { '2024-05': ['a'] } })).from_month).toBe('2024-05');
    // new months earlier than the old ones
    expect(
      (await stageAndPublish(lake.store, D, run(2), { silver: { '2024-03': ['b'], '2024-05': ['c'] } })).from_month,
    ).toBe('2024-03');
    // new months later: the old March must still be refreshed (its balances lose rows)
    expect((await stageAndPublish(lake.store, D, run(3), { silver: { '2024-06': ['d'] } })).from_month).toBe('2024-03');
    // other dates' months do not count
    await stageAndPublish(lake.store, '2024-03-01', '2024-03-01_e1', { silver: { '2023-01': ['o'] } });
    // no new silver at all: the old June is still a change
    const r4 = await stageAndPublish(lake.store, D, run(4), { quarantine: ['q'] });
    expect(r4.from_month).toBe('2024-06');
    expect(r4.gold_parameters).toEqual(["'2024-06'"]);
    // silver unchanged (nothing before, nothing now)
    const r5 = await stageAndPublish(lake.store, D, run(5), { quarantine: ['q2'] });
    expect(r5.from_month).toBeNull();
    expect(r5.gold_parameters).toEqual([]);
    expect(await contents(lake.store, 'silver')).toEqual({
      'transactions/year=2023/month=01/2024-03-01_2024-03-01_e1_00000.parquet': 'o',
    });
    // years: December before January
    await stageAndPublish(lake.store, D, run(6), { silver: { '2024-01': ['j'] } });
    expect((await stageAndPublish(lake.store, D, run(7), { silver: { '2023-12': ['x'] } })).from_month).toBe('2023-12');
  });

  test('publishing the same run twice (a retried step) gives the same state', async () => {
    await stageAndPublish(lake.store, D, R1, {
      silver: { '2024-01': ['a', 'b'] },
      quarantine: ['q'],
      rejected: { 'r.csv': 'r' },
    });
    const R2 = `${D}_e2`;
    await stage(lake.store, D, R2, { silver: { '2024-02': ['c'] }, condemned: ['c'], rejected: { 's.csv': 's' } });
    const first = await publish({ ingestDate: D, runId: R2 }, { store: lake.store, buckets: BUCKETS });
    const state = await publishedObjects(lake.store);
    const second = await publish({ ingestDate: D, runId: R2 }, { store: lake.store, buckets: BUCKETS });
    expect(await publishedObjects(lake.store)).toEqual(state);
    // The retry starts from the layers as they were before the first attempt: January still counts.
    expect(first.from_month).toBe('2024-01');
    expect(second.from_month).toBe('2024-01');
    expect(second).toEqual(first);
    expect(await lake.store.list('staging', `journal/${R2}/`)).toEqual([
      { key: `journal/${R2}/000-publish.json`, size: expect.any(Number) },
    ]);
    expect(Object.keys(state)).toEqual([
      `condemned/transactions/ingest_date=${D}/${R2}_00000.parquet`,
      `quarantine/file_rejections/ingest_date=${D}/rejections.json`,
      `quarantine/files/ingest_date=${D}/s.csv`,
      `silver/transactions/year=2024/month=02/${D}_${R2}_00000.parquet`,
    ]);
  });

  test('REGRESSION (bug 3): a retried publish after a crash mid-way computes from_month from the pre-run state', async () => {
    await stageAndPublish(lake.store, D, R1, { silver: { '2024-01': ['old-jan'], '2024-03': ['old-mar'] } });
    const R2 = `${D}_e2`;
    await stage(lake.store, D, R2, { silver: { '2024-03': ['new-mar'] } });
    const run = (store: ObjectStore) => publish({ ingestDate: D, runId: R2 }, { store, buckets: BUCKETS });
    const log = await mutationsOf(lake.store, run);
    // The first attempt dies right after deleting the old January file.
    const k = log.findIndex((op) => op.startsWith('delete silver/transactions/year=2024/month=01/')) + 1;
    expect(k).toBeGreaterThan(0);
    expect(await crashes(run, lake.store, k)).toBe(true);
    expect(Object.keys(await contents(lake.store, 'silver'))).not.toContain(
      `transactions/year=2024/month=01/${D}_${R1}_00000.parquet`,
    );
    // Step Functions retries the step.
    const retry = await run(lake.store);
    await commitAndClear(lake.store, R2);
    expect(await publishedObjects(lake.store)).toEqual({
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00000.parquet`]: 'new-mar',
    });
    // January lost rows, so the gold refresh must start in January.
    expect(retry.from_month).toBe('2024-01');
    expect(retry.gold_parameters).toEqual(["'2024-01'"]);
  });

  test('property: after any sequence of publishes, each date shows exactly its LAST publish', async () => {
    const DATES = ['2024-01-31', '2024-02-01', '2024-02-29', '2024-03-01'];
    const MONTHS = ['2023-12', '2024-01', '2024-02', '2024-03'];
    const step = fc.record({
      date: fc.constantFrom(...DATES),
      months: fc.subarray(MONTHS),
      files: fc.integer({ min: 1, max: 2 }),
      quarantine: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 7 }), async (steps) => {
        const l = tempStoreLake();
        try {
          const last = new Map<string, { runId: string; months: string[]; files: number; quarantine: number }>();
          for (const [i, s] of steps.entries()) {
            const runId = `${s.date}_x${i}`;
            const silver = Object.fromEntries(
              s.months.map((m) => [m, Array.from({ length: s.files }, (_, j) => `${runId}|${m}|${j}`)]),
            );
            const quarantine = Array.from({ length: s.quarantine }, (_, j) => `${runId}|q|${j}`);
            const result = await stageAndPublish(l.store, s.date, runId, { silver, quarantine });
            const before = last.get(s.date)?.months ?? [];
            // Months touched by the old and the new publish of the date; data past silver's latest
            // month also needs the months in between (gold carries every pair up to the latest month).
            const latest = [...last.values()]
              .flatMap((v) => v.months)
              .sort()
              .pop();
            const touched = [...before, ...s.months];
            const newest = [...s.months].sort().pop();
            if (latest && newest && newest > latest) touched.push(nextMonth(latest));
            expect(result.from_month).toBe(touched.sort()[0] ?? null);
            last.set(s.date, { runId, months: [...s.months].sort(), files: s.files, quarantine: s.quarantine });
          }
          const expectedSilver: Record<string, string> = {};
          const expectedQuarantine: Record<string, string> = {};
          for (const [date, p] of last) {
            let n = 0;
            for (const m of p.months) {
              const [y, mm] = m.split('-');
              for (let j = 0; j < p.files; j += 1) {
                expectedSilver[
                  `transactions/year=${y}/month=${mm}/${date}_${p.runId}_${String(n).padStart(5, '0')}.parquet`
                ] = `${p.runId}|${m}|${j}`;
                n += 1;
              }
            }
            for (let j = 0; j < p.quarantine; j += 1) {
              expectedQuarantine[`transactions/ingest_date=${date}/${p.runId}_${String(j).padStart(5, '0')}.parquet`] =
                `${p.runId}|q|${j}`;
            }
          }
          const sortKeys = (r: Record<string, string>) =>
            Object.fromEntries(Object.entries(r).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
          expect(await contents(l.store, 'silver')).toEqual(sortKeys(expectedSilver));
          expect(Object.keys(await contents(l.store, 'silver'))).toEqual(Object.keys(sortKeys(expectedSilver)));
          expect(await contents(l.store, 'quarantine')).toEqual(sortKeys(expectedQuarantine));
          expect(await contents(l.store, 'condemned')).toEqual({});
          expect(await contents(l.store, 'staging')).toEqual({});
          // Every silver key's month partition is a real month and its name carries a real date.
          for (const key of Object.keys(expectedSilver)) {
            expect(MONTHS).toContain(monthOfKey(key));
            expect(isCalendarDate(key.slice(key.lastIndexOf('/') + 1, key.lastIndexOf('/') + 11))).toBe(true);
          }
        } finally {
          l.cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('gold refresh start month', () => {
  test('data past the latest silver month also refreshes the months in between', async () => {
    const l = tempStoreLake();
    await stageAndPublish(l.store, '2024-01-05', '2024-01-05_a', { silver: { '2023-07': ['a'] }, quarantine: [] });
    const later = await stageAndPublish(l.store, '2024-01-06', '2024-01-06_b', {
      silver: { '2023-12': ['b'] },
      quarantine: [],
    });
    expect(later.from_month).toBe('2023-08');
    expect(later.gold_parameters).toEqual(["'2023-08'"]);
    expect(nextMonth('2023-12')).toBe('2024-01');
  });
});
