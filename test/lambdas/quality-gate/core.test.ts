import * as fc from 'fast-check';
import { PipelineError } from '../../../core/errors';
import { type JobCounts, type LandingSummary, summarize } from '../../../core/run-record';
import { auditCounts, qualityGate, reconcileStaged } from '../../../lambdas/quality-gate/core';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { storeLakePerTest } from '../../helpers/lake';

const lake = storeLakePerTest();

const landing = (records: number, over: Partial<LandingSummary> = {}): LandingSummary => ({
  files_total: 1,
  accepted: 1,
  rejected: 0,
  records,
  reasons: {},
  ...over,
});

async function seed(store: ObjectStore, files: Record<string, Record<string, string>>): Promise<void> {
  for (const [bucket, objects] of Object.entries(files)) {
    for (const [key, value] of Object.entries(objects)) await store.put(bucket, key, value);
  }
}

const staged = (added: number, over: Partial<{ deleted_records: number; snapshot_id: string }> = {}) => ({
  branch: 'audit_R',
  base_snapshot_id: '1000000000000000001',
  snapshot_id: '9007199254740993123',
  added_records: added,
  deleted_records: 0,
  ...over,
});

/** The job's counts; its audit branches hold exactly the counted rows unless `over` says otherwise. */
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
  replaced_silver_months: [],
  latest_silver_month: null,
  staged: { silver: staged(silver), quarantine: staged(quarantined), condemned: staged(condemned) },
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

  test('passes when every staged table added exactly the rows the job counted for it (deletes do not count)', () => {
    const c = counts(100, 95, 3, 2, {
      staged: {
        silver: staged(95, { deleted_records: 120 }),
        quarantine: staged(3, { deleted_records: 4 }),
        condemned: staged(2),
      },
    });
    expect(auditCounts(landing(100), c, 0.1).rows).toEqual({ read: 100, silver: 95, quarantined: 3, condemned: 2 });
    expect(() => reconcileStaged(counts(0, 0, 0, 0))).not.toThrow();
  });

  test.each([
    [
      'silver',
      { silver: staged(94) },
      'silver_transactions: the job counted 95 silver rows but its staged snapshot 9007199254740993123 on audit_R added 94 records',
    ],
    [
      'quarantine',
      { quarantine: staged(4) },
      'quarantine_transactions: the job counted 3 quarantined rows but its staged snapshot 9007199254740993123 on audit_R added 4 records',
    ],
    [
      'condemned',
      { condemned: staged(0) },
      'condemned_transactions: the job counted 2 condemned rows but its staged snapshot 9007199254740993123 on audit_R added 0 records',
    ],
  ])('RECONCILIATION_FAILED when the staged %s snapshot does not hold the counted rows', (_table, change, message) => {
    const base = counts(100, 95, 3, 2);
    const c = counts(100, 95, 3, 2, { staged: { ...base.staged, ...change } });
    const e = pipelineError(() => auditCounts(landing(100), c, 1));
    expect(e.name).toBe('RECONCILIATION_FAILED');
    expect(e.message).toBe(message);
  });

  test('RECONCILIATION_FAILED when the counts carry no staged snapshots, or miss one table', () => {
    const e = pipelineError(() => auditCounts(landing(10), counts(10, 10, 0, 0, { staged: undefined }), 1));
    expect(e.name).toBe('RECONCILIATION_FAILED');
    expect(e.message).toBe("the job's counts name no staged snapshots (staged): nothing to audit");
    const { condemned: _dropped, ...two } = counts(10, 10, 0, 0).staged!;
    const missing = pipelineError(() => auditCounts(landing(10), counts(10, 10, 0, 0, { staged: two }), 1));
    expect(missing.name).toBe('RECONCILIATION_FAILED');
    expect(missing.message).toBe("the job's counts name no staged snapshot of condemned_transactions");
  });

  test('the staged reconciliation comes before the ratio', () => {
    const c = counts(10, 0, 10, 0, { staged: { ...counts(10, 0, 10, 0).staged, silver: staged(1) } });
    expect(pipelineError(() => auditCounts(landing(10), c, 0.1)).name).toBe('RECONCILIATION_FAILED');
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
          // A staged table holding other than the counted rows fails, whatever the ratio.
          if (extra > 0) {
            const c = counts(read, silver, quarantined, condemned);
            for (const table of ['silver', 'quarantine', 'condemned'] as const) {
              const off = { ...c.staged, [table]: staged(c.staged![table]!.added_records + extra) };
              expect(pipelineError(() => auditCounts(landing(read), { ...c, staged: off }, 1)).name).toBe(
                'RECONCILIATION_FAILED',
              );
            }
          }
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
      // A passing date's gold refresh, planned from the counts' months: silver read from 2024-01 on,
      // gold's balances of 2023-12.
      gold: {
        from_month: '2024-01',
        read_from_month: '2024-01',
        chunks: [
          {
            from_month: '2024-01',
            to_month: '9999-12',
            parameters: ["'2023'", "'12'", "'2024-01'", "'2024-01'", "'2024-01'", "'9999-12'"],
          },
        ],
      },
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

  test('a counts document without staged, or one the schema refuses: RECONCILIATION_FAILED; counts seen first', async () => {
    const deps = { store: lake.store, stagingBucket: 'staging', maxQuarantineRatio: 0.1 };
    const { staged: _none, ...withoutStaged } = counts(10, 10, 0, 0);
    await seed(lake.store, { staging: { 'runs/R1/counts/part-0.json': jobLine(withoutStaged as JobCounts) } });
    const seen: JobCounts[] = [];
    await expect(
      qualityGate({ runId: 'R1', landing: landing(10) }, { ...deps, onCounts: (c) => seen.push(c) }),
    ).rejects.toMatchObject({ name: 'RECONCILIATION_FAILED', message: expect.stringContaining('no staged snapshots') });
    expect(seen.map((c) => c.read)).toEqual([10]);

    const { latest_silver_month: _gone, ...old } = counts(10, 10, 0, 0);
    await seed(lake.store, { staging: { 'runs/R2/counts/part-0.json': jobLine(old as JobCounts) } });
    await expect(qualityGate({ runId: 'R2', landing: landing(10) }, deps)).rejects.toMatchObject({
      name: 'RECONCILIATION_FAILED',
      message: expect.stringContaining("the job's counts for run R2 are malformed"),
    });
    await seed(lake.store, { staging: { 'runs/R3/counts/part-0.json': '{"read": 1,' } });
    await expect(qualityGate({ runId: 'R3', landing: landing(1) }, deps)).rejects.toMatchObject({
      name: 'RECONCILIATION_FAILED',
    });
  });
});
