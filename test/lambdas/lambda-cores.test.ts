import * as fc from 'fast-check';
import { PipelineError } from '../../core/errors';
import { monthOfKey, isCalendarDate } from '../../core/lake-layout';
import {
  auditCounts,
  qualityGate,
  summarize,
  type JobCounts,
  type LandingSummary,
} from '../../lambdas/quality-gate/core';
import { isDataFile, isUnloadDataFile, nextMonth, publish } from '../../lambdas/publish/core';
import { publishGold } from '../../lambdas/publish-gold/core';
import { failureCode, recordRun, type RecordEvent } from '../../lambdas/record-run/core';
import { commitRun, recoverPendingJournals, rollbackRun } from '../../lambdas/shared/journal';
import type { ObjectStore } from '../../lambdas/shared/object-store';
import {
  BUCKETS,
  commitAndClear,
  contents,
  copyLake,
  crashes,
  mutationsOf,
  diskDirs,
  diskFiles,
  publishedState,
  rejectionsJson,
  seed,
  stage,
  stageAndPublish,
  tempLake,
  type TempLake,
} from '../helpers/lambda-cores';

let lake: TempLake;
beforeEach(() => {
  lake = tempLake();
});
afterEach(() => lake.cleanup());

// ---------------------------------------------------------------------------------------------
// Quality gate
// ---------------------------------------------------------------------------------------------

const landing = (records: number, over: Partial<LandingSummary> = {}): LandingSummary => ({
  files_total: 1,
  accepted: 1,
  rejected: 0,
  records,
  reasons: {},
  ...over,
});

const counts = (
  read: number,
  silver: number,
  quarantined: number,
  condemned: number,
  over: Partial<JobCounts> = {},
): JobCounts => ({
  read,
  silver,
  quarantined,
  condemned,
  reasons: {},
  read_by_file: {},
  silver_months: [],
  ...over,
});

/** The PipelineError `fn` throws (fails the test when it throws nothing or something else). */
function pipelineError(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineError);
    return error as PipelineError;
  }
  throw new Error('expected a PipelineError');
}

describe('auditCounts', () => {
  test('a ratio exactly at the limit passes; one more quarantined row fails', () => {
    expect(auditCounts(landing(10), counts(10, 9, 1, 0), 0.1).rows).toEqual({
      read: 10,
      silver: 9,
      quarantined: 1,
      condemned: 0,
    });
    const e = pipelineError(() => auditCounts(landing(10), counts(10, 8, 2, 0), 0.1));
    expect(e.name).toBe('QUALITY_GATE_FAILED');
    expect(e.code).toBe('QUALITY_GATE_FAILED');
    expect(e.message).toBe('2 of 10 rows quarantined (20.00%), above the limit of 10.00%');

    expect(auditCounts(landing(100), counts(100, 88, 10, 2), 0.1).rows.quarantined).toBe(10);
    expect(pipelineError(() => auditCounts(landing(100), counts(100, 87, 11, 2), 0.1)).name).toBe(
      'QUALITY_GATE_FAILED',
    );
    // Decimal ratios that are not exact binary fractions.
    expect(auditCounts(landing(100), counts(100, 93, 7, 0), 0.07).rows.quarantined).toBe(7);
    expect(pipelineError(() => auditCounts(landing(100), counts(100, 92, 8, 0), 0.07)).name).toBe(
      'QUALITY_GATE_FAILED',
    );
    expect(auditCounts(landing(10), counts(10, 7, 3, 0), 0.3).rows.quarantined).toBe(3);
    expect(auditCounts(landing(3), counts(3, 2, 1, 0), 1 / 3).rows.quarantined).toBe(1);
    expect(pipelineError(() => auditCounts(landing(3), counts(3, 1, 2, 0), 1 / 3)).name).toBe('QUALITY_GATE_FAILED');
  });

  test('condemned rows do not count towards the quarantine ratio', () => {
    expect(auditCounts(landing(10), counts(10, 1, 1, 8), 0.1).rows).toEqual({
      read: 10,
      silver: 1,
      quarantined: 1,
      condemned: 8,
    });
  });

  test('ratio 0 allows no quarantined row; ratio 1 allows all', () => {
    expect(auditCounts(landing(5), counts(5, 5, 0, 0), 0).rows.silver).toBe(5);
    expect(pipelineError(() => auditCounts(landing(5), counts(5, 4, 1, 0), 0)).message).toBe(
      '1 of 5 rows quarantined (20.00%), above the limit of 0.00%',
    );
    expect(auditCounts(landing(5), counts(5, 0, 5, 0), 1).rows.quarantined).toBe(5);
  });

  test('read 0 passes (no division by zero), whatever the ratio', () => {
    for (const ratio of [0, 0.1, 1]) {
      expect(auditCounts(landing(0, { accepted: 1 }), counts(0, 0, 0, 0), ratio)).toEqual({
        files: { accepted: 1, rejected: 0 },
        rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
        reasons: {},
      });
    }
  });

  test('RECONCILIATION_FAILED when the job read a different count than the landing check', () => {
    const e = pipelineError(() => auditCounts(landing(10), counts(9, 9, 0, 0), 0.1));
    expect(e.name).toBe('RECONCILIATION_FAILED');
    expect(e.message).toBe('the job read 9 records but the landing check counted 10');
    expect(pipelineError(() => auditCounts(landing(0), counts(1, 1, 0, 0), 0.1)).name).toBe('RECONCILIATION_FAILED');
  });

  test('RECONCILIATION_FAILED when read != silver + quarantined + condemned (either way)', () => {
    const e = pipelineError(() => auditCounts(landing(10), counts(10, 8, 1, 0), 0.1));
    expect(e.name).toBe('RECONCILIATION_FAILED');
    expect(e.message).toBe('read 10 records but silver + quarantined + condemned = 9');
    expect(pipelineError(() => auditCounts(landing(10), counts(10, 9, 1, 1), 0.1)).message).toBe(
      'read 10 records but silver + quarantined + condemned = 11',
    );
  });

  test('reconciliation is checked before the ratio', () => {
    expect(pipelineError(() => auditCounts(landing(10), counts(10, 0, 9, 0), 0.1)).name).toBe('RECONCILIATION_FAILED');
  });

  test('the summary merges row reasons and rejected-file reasons', () => {
    const summary = auditCounts(
      landing(100, { files_total: 3, accepted: 2, rejected: 1, reasons: { MISSING_HEADER: 1, DUPLICATE_ROW: 1 } }),
      counts(100, 95, 3, 2, { reasons: { INVALID_CURRENCY: 1, DUPLICATE_ROW: 2, MAX_ATTEMPTS_EXCEEDED: 2 } }),
      0.1,
    );
    expect(summary).toEqual({
      files: { accepted: 2, rejected: 1 },
      rows: { read: 100, silver: 95, quarantined: 3, condemned: 2 },
      reasons: { INVALID_CURRENCY: 1, DUPLICATE_ROW: 3, MAX_ATTEMPTS_EXCEEDED: 2, MISSING_HEADER: 1 },
    });
  });

  test('summarize does not mutate its inputs', () => {
    const c = counts(1, 1, 0, 0, { reasons: { A: 1 } });
    const l = landing(1, { reasons: { A: 2, B: 1 } });
    expect(summarize(l, c).reasons).toEqual({ A: 3, B: 1 });
    expect(c.reasons).toEqual({ A: 1 });
    expect(l.reasons).toEqual({ A: 2, B: 1 });
  });

  test('property: passes iff reconciled and 100*quarantined <= k*read for ratio k/100', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (read, k, extra, qShare, cShare) => {
          const quarantined = Math.floor(read * qShare);
          const condemned = Math.floor((read - quarantined) * cShare);
          const silver = read - quarantined - condemned;
          const ratio = k / 100;
          const ok = 100 * quarantined <= k * read;
          const run = () => auditCounts(landing(read), counts(read, silver, quarantined, condemned), ratio);
          if (ok) expect(run().rows).toEqual({ read, silver, quarantined, condemned });
          else expect(pipelineError(run).name).toBe('QUALITY_GATE_FAILED');
          // Any mismatch is a reconciliation failure, whatever the ratio.
          if (extra > 0) {
            expect(
              pipelineError(() => auditCounts(landing(read + extra), counts(read, silver, quarantined, condemned), 1))
                .name,
            ).toBe('RECONCILIATION_FAILED');
            expect(
              pipelineError(() =>
                auditCounts(landing(read + extra), counts(read + extra, silver, quarantined, condemned), 1),
              ).name,
            ).toBe('RECONCILIATION_FAILED');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('qualityGate (reads the job counts from staging)', () => {
  const jobLine = (c: JobCounts) => `${JSON.stringify(c)}\n`;

  test('skips _SUCCESS, .crc and empty part files; uses the first non-empty line', async () => {
    const c = counts(10, 9, 1, 0, {
      reasons: { INVALID_AMOUNT: 1 },
      read_by_file: { 'a.csv': 10 },
      silver_months: ['2024-01'],
    });
    await seed(lake.store, {
      staging: {
        'runs/R/counts/_SUCCESS': '',
        'runs/R/counts/.part-00000.json.crc': 'junk',
        'runs/R/counts/part-00000-a.json': '',
        'runs/R/counts/part-00001-a.json': `\n  \n${jobLine(c)}`,
        'runs/RX/counts/part-00000-a.json': jobLine(counts(1, 0, 1, 0)),
      },
    });
    const deps = { store: lake.store, stagingBucket: 'staging', maxQuarantineRatio: 0.1 };
    expect(await qualityGate({ runId: 'R', landing: landing(10, { reasons: { EMPTY_FILE: 1 } }) }, deps)).toEqual({
      files: { accepted: 1, rejected: 0 },
      rows: { read: 10, silver: 9, quarantined: 1, condemned: 0 },
      reasons: { INVALID_AMOUNT: 1, EMPTY_FILE: 1 },
    });
    await expect(
      qualityGate({ runId: 'R', landing: landing(10) }, { ...deps, maxQuarantineRatio: 0.09 }),
    ).rejects.toMatchObject({
      name: 'QUALITY_GATE_FAILED',
    });
  });

  test('no counts: RECONCILIATION_FAILED', async () => {
    await seed(lake.store, { staging: { 'runs/R/counts/_SUCCESS': '' } });
    await expect(
      qualityGate(
        { runId: 'R', landing: landing(0) },
        { store: lake.store, stagingBucket: 'staging', maxQuarantineRatio: 0.1 },
      ),
    ).rejects.toMatchObject({ name: 'RECONCILIATION_FAILED', message: 'the job left no counts for run R' });
  });
});

// ---------------------------------------------------------------------------------------------
// Publish
// ---------------------------------------------------------------------------------------------

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
    expect(await publishedState(lake.store)).toEqual({
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
    const published = await publishedState(lake.store);
    await commitRun(lake.store, 'staging', R1);
    expect(await contents(lake.store, 'staging')).toEqual({
      ...stagingBefore,
      [`runs/${R1}/rejections.json`]: rejectionsJson(D, R1, ['bad.csv']),
    });
    expect(await publishedState(lake.store)).toEqual(published);
    // Nothing but the published objects on disk (no temporary files).
    const disk = await diskFiles(lake.root);
    expect(Object.keys(disk).filter((k) => !k.startsWith('staging/'))).toEqual(
      Object.keys(await publishedState(lake.store)),
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
    expect(await publishedState(lake.store)).toEqual({
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
    const dirs = await diskDirs(lake.root);
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
    expect(await publishedState(lake.store)).toEqual({
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
    const state = await publishedState(lake.store);
    const second = await publish({ ingestDate: D, runId: R2 }, { store: lake.store, buckets: BUCKETS });
    expect(await publishedState(lake.store)).toEqual(state);
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
    expect(await publishedState(lake.store)).toEqual({
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
        const l = tempLake();
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

// ---------------------------------------------------------------------------------------------
// Publish gold
// ---------------------------------------------------------------------------------------------

describe('publishGold', () => {
  const GOLD_BEFORE = {
    'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
    'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
    'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
    'monthly_balances/year=2024/month=03/r0_00000.parquet': 'g-2024-03',
    'monthly_balances/year=2024/month=03/r0_00001.parquet': 'g-2024-03b',
    'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
    'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
  };

  test('keeps months before from_month, swaps the rest for the refresh output, drops months it no longer produces', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: {
        'gold-refresh/year=2024/month=02/aaa.parquet': 'n-2024-02a',
        'gold-refresh/year=2024/month=02/bbb.parquet': 'n-2024-02b',
        'gold-refresh/year=2024/month=02/.aaa.parquet.crc': 'crc',
        'gold-refresh/_SUCCESS': '',
        'runs/x/keep.json': 'keep',
      },
    });
    const result = await publishGold({ runId: 'R9', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS });
    expect(result).toEqual({ from_month: '2024-02', partitions_written: 1, files_written: 2 });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/R9_00000.parquet': 'n-2024-02a',
      'monthly_balances/year=2024/month=02/R9_00001.parquet': 'n-2024-02b',
      // Reports are left to record-run, which replaces the quarter's report with the new one.
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
    expect(await diskDirs(lake.root)).not.toContain('gold/monthly_balances/year=2024/month=03');
    // Pending until the date is recorded: the journal and the backups of what it replaced.
    const pending = Object.fromEntries(
      Object.entries(await contents(lake.store, 'staging')).filter(([k]) => !k.startsWith('gold-refresh/')),
    );
    expect(Object.keys(pending)).toEqual([
      'journal/R9/000-publish-gold.json',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=02/r0_00000.parquet',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00000.parquet',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00001.parquet',
      'runs/x/keep.json',
    ]);
    expect(pending['runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00001.parquet']).toBe('g-2024-03b');
    // Committed and cleared (record-run): the rest of staging is untouched.
    await commitAndClear(lake.store, 'R9');
    expect(
      Object.fromEntries(
        Object.entries(await contents(lake.store, 'staging')).filter(([k]) => !k.startsWith('gold-refresh/')),
      ),
    ).toEqual({ 'runs/x/keep.json': 'keep' });
  });

  test('REGRESSION (bug 1): Athena UNLOAD output files without an extension are published', async () => {
    await seed(lake.store, {
      gold: {
        'monthly_balances/year=2024/month=02/r0_00000.parquet': 'old-feb',
        'monthly_balances/year=2024/month=01/r0_00000.parquet': 'jan',
      },
      staging: {
        // Athena UNLOAD names its Parquet files <queryid>_<uuid>, without an extension
        'gold-refresh/year=2024/month=02/20240701_144951_00037_v74wa_1ad6f92e-a1e0-471e-933c-0e33736726fd': 'new-feb',
        'gold-refresh/year=2024/month=03/20240701_144951_00037_v74wa_2bd6f92e-a1e0-471e-933c-0e33736726fd': 'new-mar',
        'gold-refresh/year=2024/month=03/20240701_144951_00037_v74wa_2bd6f92e.metadata': 'meta',
        'gold-refresh/year=2024/month=03/_SUCCESS': '',
      },
    });
    const result = await publishGold({ runId: 'R', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS });
    expect(result).toEqual({ from_month: '2024-02', partitions_written: 2, files_written: 2 });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'jan',
      'monthly_balances/year=2024/month=02/R_00000.parquet': 'new-feb',
      'monthly_balances/year=2024/month=03/R_00001.parquet': 'new-mar',
    });
  });

  test('a retried publishGold starts from gold as it was before its first attempt', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: { 'gold-refresh/year=2024/month=03/a': 'n-03' },
    });
    const run = (store: ObjectStore) => publishGold({ runId: 'R', fromMonth: '2024-03' }, { store, buckets: BUCKETS });
    await run(lake.store);
    const once = await contents(lake.store, 'gold');
    expect(once).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
      'monthly_balances/year=2024/month=03/R_00000.parquet': 'n-03',
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
    // Retried after it finished (e.g. the Lambda's response was lost): the same gold.
    await seed(lake.store, { staging: { 'gold-refresh/year=2024/month=03/a': 'n-03' } });
    await run(lake.store);
    expect(await contents(lake.store, 'gold')).toEqual(once);
    expect(await rollbackRun(lake.store, 'staging', 'R')).toEqual(['publish-gold']);
    expect(await contents(lake.store, 'gold')).toEqual(GOLD_BEFORE);
  });

  test('adds new months after the existing ones; reports stay', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: {
        'gold-refresh/year=2024/month=03/a.parquet': 'n-03',
        'gold-refresh/year=2024/month=04/a.parquet': 'n-04',
        'gold-refresh/year=2025/month=01/a.parquet': 'n-2501',
      },
    });
    expect(await publishGold({ runId: 'R', fromMonth: '2024-03' }, { store: lake.store, buckets: BUCKETS })).toEqual({
      from_month: '2024-03',
      partitions_written: 3,
      files_written: 3,
    });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
      'monthly_balances/year=2024/month=03/R_00000.parquet': 'n-03',
      'monthly_balances/year=2024/month=04/R_00001.parquet': 'n-04',
      'monthly_balances/year=2025/month=01/R_00002.parquet': 'n-2501',
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
  });

  test('an empty refresh removes every month from from_month on', async () => {
    await seed(lake.store, { gold: GOLD_BEFORE });
    expect(await publishGold({ runId: 'R', fromMonth: '2024-01' }, { store: lake.store, buckets: BUCKETS })).toEqual({
      from_month: '2024-01',
      partitions_written: 0,
      files_written: 0,
    });
    expect(Object.keys(await contents(lake.store, 'gold', 'monthly_balances/'))).toEqual([
      'monthly_balances/year=2023/month=12/r0_00000.parquet',
    ]);
  });

  test('refresh output before from_month is refused and nothing changes', async () => {
    await seed(lake.store, { gold: GOLD_BEFORE, staging: { 'gold-refresh/year=2024/month=01/a.parquet': 'early' } });
    const before = await diskFiles(lake.root);
    await expect(
      publishGold({ runId: 'R', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS }),
    ).rejects.toThrow(
      'unexpected gold refresh output gold-refresh/year=2024/month=01/a.parquet (refresh starts at 2024-02)',
    );
    expect(await diskFiles(lake.root)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Record run
// ---------------------------------------------------------------------------------------------

describe('failureCode', () => {
  test('maps step errors to codes', () => {
    expect(failureCode(undefined)).toEqual({ code: 'PIPELINE_FAILED', detail: 'unknown failure' });
    expect(
      failureCode({
        Error: 'QUALITY_GATE_FAILED',
        Cause: JSON.stringify({
          errorType: 'QUALITY_GATE_FAILED',
          errorMessage: '2 of 10 rows quarantined',
          trace: [],
        }),
      }),
    ).toEqual({ code: 'QUALITY_GATE_FAILED', detail: '2 of 10 rows quarantined' });
    expect(failureCode({ Error: 'RECONCILIATION_FAILED', Cause: 'plain text' })).toEqual({
      code: 'RECONCILIATION_FAILED',
      detail: 'plain text',
    });
    expect(failureCode({ Error: 'INVALID_RUN_INPUT' })).toEqual({ code: 'INVALID_RUN_INPUT', detail: '' });
    expect(failureCode({ Error: 'States.TaskFailed', Cause: 'boom' })).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'States.TaskFailed: boom',
    });
    expect(
      failureCode({ Error: 'Error', Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'ENOENT x' }) }),
    ).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'Error: ENOENT x',
    });
    expect(failureCode({ Error: 'Lambda.ServiceException', Cause: '{"errorMessage":' })).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'Lambda.ServiceException: {"errorMessage":',
    });
    // A JSON cause without errorMessage is kept whole.
    expect(failureCode({ Error: 'GLUE_FAILED', Cause: '{"JobRunState":"FAILED"}' })).toEqual({
      code: 'GLUE_FAILED',
      detail: '{"JobRunState":"FAILED"}',
    });
  });
});

describe('recordRun', () => {
  const DATE = '2024-01-16';
  const RUN = `${DATE}_exec1`;
  const gate = {
    files: { accepted: 1, rejected: 1 },
    rows: { read: 100, silver: 95, quarantined: 3, condemned: 2 },
    reasons: { INVALID_CURRENCY: 1, DUPLICATE_ROW: 2, MISSING_HEADER: 1 },
  };
  const landingOut = { files_total: 2, accepted: 1, rejected: 1, records: 100, reasons: { MISSING_HEADER: 1 } };

  async function seedRun(): Promise<void> {
    await seed(lake.store, {
      staging: {
        [`runs/${RUN}/landing.json`]: '{}',
        [`runs/${RUN}/silver/year=2024/month=01/part-0.parquet`]: 's',
        [`runs/${RUN}/counts/part-00000.json`]: `${JSON.stringify({
          read: 100,
          silver: 90,
          quarantined: 8,
          condemned: 2,
          reasons: { INVALID_AMOUNT: 8, MISSING_HEADER: 2 },
          read_by_file: { 'a.csv': 100 },
          silver_months: ['2024-01'],
        })}\n`,
        [`runs/${RUN}x/keep.parquet`]: 'other run',
        'run-records/older/2024-01-15.json': 'older',
        'athena/results/q1.csv': 'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
      },
    });
  }

  test('SUCCEEDED: SPEC §5 record, staging of the run cleared, report copied to gold', async () => {
    await seedRun();
    const event: RecordEvent = {
      status: 'SUCCEEDED',
      execution_id: 'exec1',
      current: {
        ingest_date: DATE,
        run_id: RUN,
        landing: landingOut,
        gate,
        report: { output_location: 's3://staging/athena/results/q1.csv' },
      },
    };
    const out = await recordRun(event, {
      store: lake.store,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      reportQuarter: '2024-Q1',
    });
    const expected = { ingest_date: DATE, run_id: RUN, status: 'SUCCEEDED', ...gate };
    expect(out.record).toEqual(expected);
    expect(Object.keys(out.record)).toEqual(['ingest_date', 'run_id', 'status', 'files', 'rows', 'reasons']);
    expect(await contents(lake.store, 'staging')).toEqual({
      [`runs/${RUN}x/keep.parquet`]: 'other run',
      'run-records/older/2024-01-15.json': 'older',
      [`run-records/exec1/${DATE}.json`]: JSON.stringify(expected, null, 2),
      'athena/results/q1.csv': 'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
    });
    expect(await contents(lake.store, 'gold')).toEqual({
      'reports/balance_history/quarter=2024-Q1/balance_history.csv':
        'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
    });
    expect(out.notification).toEqual({
      subject: `txlake SUCCEEDED ${DATE}`,
      message: [
        `ingest date: ${DATE}`,
        `run id: ${RUN}`,
        'status: SUCCEEDED',
        'files: 1 accepted, 1 rejected',
        'rows: 100 read, 95 silver, 3 quarantined, 2 condemned',
      ].join('\n'),
    });
  });

  test('FAILED after the job: counts come from the job, error code and detail recorded, no report copied', async () => {
    await seedRun();
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: landingOut,
          error: {
            Error: 'QUALITY_GATE_FAILED',
            Cause: JSON.stringify({ errorType: 'QUALITY_GATE_FAILED', errorMessage: '8 of 100 rows quarantined' }),
          },
          report: { output_location: 's3://staging/athena/results/q1.csv' },
        },
      },
      { store: lake.store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    const expected = {
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 1, rejected: 1 },
      rows: { read: 100, silver: 90, quarantined: 8, condemned: 2 },
      reasons: { INVALID_AMOUNT: 8, MISSING_HEADER: 3 },
      error: 'QUALITY_GATE_FAILED',
      error_detail: '8 of 100 rows quarantined',
    };
    expect(out.record).toEqual(expected);
    expect(JSON.parse((await lake.store.getText('staging', `run-records/exec1/${DATE}.json`))!)).toEqual(expected);
    expect(await lake.store.list('staging', `runs/${RUN}/`)).toEqual([]);
    expect(await contents(lake.store, 'gold')).toEqual({});
    expect(out.notification.subject).toBe(`txlake FAILED ${DATE} QUALITY_GATE_FAILED`);
    expect(out.notification.message).toBe(
      [
        `ingest date: ${DATE}`,
        `run id: ${RUN}`,
        'status: FAILED (QUALITY_GATE_FAILED)',
        'detail: 8 of 100 rows quarantined',
        'files: 1 accepted, 1 rejected',
        'rows: 100 read, 90 silver, 8 quarantined, 2 condemned',
      ].join('\n'),
    );
  });

  test('FAILED before the job: landing counts only; unknown step error is PIPELINE_FAILED', async () => {
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: landingOut,
          error: { Error: 'States.Timeout', Cause: 'took too long' },
        },
      },
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.record).toEqual({
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 1, rejected: 1 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: { MISSING_HEADER: 1 },
      error: 'PIPELINE_FAILED',
      error_detail: 'States.Timeout: took too long',
    });
  });

  test('FAILED with nothing known (e.g. validate-landing itself failed)', async () => {
    const out = await recordRun(
      { status: 'FAILED', execution_id: 'exec1', current: { ingest_date: DATE, run_id: RUN } },
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.record).toEqual({
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 0, rejected: 0 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: {},
      error: 'PIPELINE_FAILED',
      error_detail: 'unknown failure',
    });
  });

  test('NO_DATA', async () => {
    const out = await recordRun(
      {
        status: 'NO_DATA',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: { files_total: 0, accepted: 0, rejected: 0, records: 0, reasons: {} },
        },
      },
      { store: lake.store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    expect(out.record).toEqual({
      ingest_date: DATE,
      run_id: RUN,
      status: 'NO_DATA',
      files: { accepted: 0, rejected: 0 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: {},
    });
    expect(await contents(lake.store, 'staging')).toEqual({
      [`run-records/exec1/${DATE}.json`]: JSON.stringify(out.record, null, 2),
    });
    expect(out.notification.subject).toBe(`txlake NO_DATA ${DATE}`);
  });

  describe("the date's publishes: committed when it succeeds, rolled back when it fails", () => {
    const D = '2024-03-05';
    const R1 = `${D}_e1`;
    const R2 = `${D}_e2`;
    async function publishedRun(): Promise<{ before: Record<string, string>; after: Record<string, string> }> {
      await stageAndPublish(lake.store, D, R1, {
        silver: { '2024-01': ['old-jan'], '2024-02': ['old-feb'] },
        quarantine: ['old-q'],
        rejected: { 'r.csv': 'old-r' },
      });
      await seed(lake.store, {
        gold: {
          'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-01',
          'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-02',
          'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report',
        },
      });
      const before = await publishedState(lake.store);
      await stage(lake.store, D, R2, {
        silver: { '2024-02': ['new-feb'] },
        condemned: ['new-c'],
        rejected: { 'r.csv': 'new-r' },
      });
      const result = await publish({ ingestDate: D, runId: R2 }, { store: lake.store, buckets: BUCKETS });
      expect(result.from_month).toBe('2024-01');
      await seed(lake.store, { staging: { 'gold-refresh/year=2024/month=02/20240701_q_1': 'g-new-02' } });
      await publishGold({ runId: R2, fromMonth: result.from_month! }, { store: lake.store, buckets: BUCKETS });
      const after = await publishedState(lake.store);
      expect(after).toEqual({
        [`condemned/transactions/ingest_date=${D}/${R2}_00000.parquet`]: 'new-c',
        [`gold/monthly_balances/year=2024/month=02/${R2}_00000.parquet`]: 'g-new-02',
        // the report is replaced by record-run, with the date's commit
        'gold/reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report',
        [`quarantine/file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R2, ['r.csv']),
        [`quarantine/files/ingest_date=${D}/r.csv`]: 'new-r',
        [`silver/transactions/year=2024/month=02/${D}_${R2}_00000.parquet`]: 'new-feb',
      });
      return { before, after };
    }
    const event = (status: 'SUCCEEDED' | 'FAILED' | 'NO_DATA'): RecordEvent => ({
      status,
      execution_id: 'e2',
      current: {
        ingest_date: D,
        run_id: R2,
        ...(status === 'FAILED' ? { error: { Error: 'REPORT_FAILED', Cause: 'x' } } : {}),
      },
    });

    test('FAILED after publish and publishGold: silver, quarantine, condemned and gold exactly as before', async () => {
      const { before } = await publishedRun();
      await recordRun(event('FAILED'), { store: lake.store, stagingBucket: 'staging' });
      expect(await publishedState(lake.store)).toEqual(before);
      expect(await lake.store.list('staging', 'journal/')).toEqual([]);
      expect(await lake.store.list('staging', `runs/${R2}/`)).toEqual([]);
      expect(await recoverPendingJournals(lake.store, 'staging')).toEqual([]);
      expect(await publishedState(lake.store)).toEqual(before);
    });

    test.each(['SUCCEEDED', 'NO_DATA'] as const)(
      '%s: the after state is final (a later rollback changes nothing)',
      async (status) => {
        const { after } = await publishedRun();
        await recordRun(event(status), { store: lake.store, stagingBucket: 'staging' });
        expect(await publishedState(lake.store)).toEqual(after);
        expect(await lake.store.list('staging', 'journal/')).toEqual([]);
        expect(await lake.store.list('staging', `runs/${R2}/`)).toEqual([]);
        expect(await rollbackRun(lake.store, 'staging', R2)).toEqual([]);
        expect(await recoverPendingJournals(lake.store, 'staging')).toEqual([]);
        expect(await publishedState(lake.store)).toEqual(after);
      },
    );

    test('SUCCEEDED with a report: the report is replaced with the commit; a crash before it rolls back with gold', async () => {
      const { before, after } = await publishedRun();
      await seed(lake.store, { staging: { 'athena/results/q.csv': 'new-report' } });
      const succeeded: RecordEvent = {
        ...event('SUCCEEDED'),
        current: { ...event('SUCCEEDED').current, report: { output_location: 's3://staging/athena/results/q.csv' } },
      };
      const record = (store: ObjectStore) =>
        recordRun(succeeded, { store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' });
      const committed = {
        ...after,
        'gold/reports/balance_history/quarter=2024-Q1/balance_history.csv': 'new-report',
      };
      const log = await mutationsOf(lake.store, record);
      const outcomes = new Set<string>();
      for (let k = 1; k <= log.length; k++) {
        const probe = tempLake();
        try {
          await copyLake(lake.store, probe.store);
          // (a crash in the clean-up after the commit point is swallowed: the run is committed)
          await crashes(record, probe.store, k);
          // what the next execution does with a dead run's journals: roll them back
          await recoverPendingJournals(probe.store, 'staging');
          const state = await publishedState(probe.store);
          if (JSON.stringify(state) === JSON.stringify(before)) outcomes.add('before');
          else {
            expect(state).toEqual(committed);
            outcomes.add('after');
          }
        } finally {
          probe.cleanup();
        }
      }
      expect([...outcomes].sort()).toEqual(['after', 'before']);
      await record(lake.store);
      expect(await publishedState(lake.store)).toEqual(committed);
      // a retried record-run (the Lambda's response was lost) keeps the same state
      await record(lake.store);
      expect(await publishedState(lake.store)).toEqual(committed);
    });

    test('REGRESSION (bug 2): a crashed publish recorded FAILED is rolled back; later runs do not fail', async () => {
      await stageAndPublish(lake.store, D, R1, { silver: { '2024-01': ['old-jan'] }, rejected: { 'r.csv': 'old-r' } });
      const before = await publishedState(lake.store);
      await stage(lake.store, D, R2, { silver: { '2024-01': ['new-jan'], '2024-02': ['new-feb'] } });
      const run = (store: ObjectStore) => publish({ ingestDate: D, runId: R2 }, { store, buckets: BUCKETS });
      // publish dies (timeout / Lambda crash) after writing its journal and the first copy
      const log = await mutationsOf(lake.store, run);
      const k = log.findIndex((op) => op.startsWith('copy ') && op.includes('-> silver/')) + 1;
      expect(k).toBeGreaterThan(1);
      expect(await crashes(run, lake.store, k)).toBe(true);
      expect(await publishedState(lake.store)).not.toEqual(before);
      // the state machine catches the failure and records the date
      const out = await recordRun(
        {
          status: 'FAILED',
          execution_id: 'e2',
          current: { ingest_date: D, run_id: R2, error: { Error: 'Lambda.Unknown', Cause: 'timeout' } },
        },
        { store: lake.store, stagingBucket: 'staging' },
      );
      expect(out.record.error).toBe('PIPELINE_FAILED');
      expect(await publishedState(lake.store)).toEqual(before);
      // the next execution's resolve-run finds nothing to recover, and the next run of the date succeeds
      await expect(recoverPendingJournals(lake.store, 'staging')).resolves.toEqual([]);
      const R3 = `${D}_e3`;
      const result = await stageAndPublish(lake.store, D, R3, { silver: { '2024-02': ['n3'] } });
      expect(result.from_month).toBe('2024-01');
      expect(await publishedState(lake.store)).toEqual({
        [`silver/transactions/year=2024/month=02/${D}_${R3}_00000.parquet`]: 'n3',
      });
    });
  });

  test('the subject is cut to 99 characters', async () => {
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'e',
        current: { ingest_date: DATE, run_id: RUN, error: { Error: `X${'_LONG'.repeat(40)}` } },
      },
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.notification.subject).toHaveLength(99);
    expect(out.notification.subject.startsWith(`txlake FAILED ${DATE} X_LONG`)).toBe(true);
  });
});

describe('gold refresh start month', () => {
  test('data past the latest silver month also refreshes the months in between', async () => {
    const l = tempLake();
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
