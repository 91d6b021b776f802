import * as fc from 'fast-check';
import {
  applyJournal,
  commitRun,
  recoverPendingJournals,
  rollbackJournal,
  rollbackRun,
  type PublishJournal,
} from '../../../lambdas/shared/journal';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { publish } from '../../../lambdas/publish/core';
import { publishGold } from '../../../lambdas/publish-gold/core';
import { recordRun } from '../../../lambdas/record-run/core';
import { BUCKETS, tempStoreLake, type StoreLake } from '../../helpers/lake';
import { allObjects, contents, publishedObjects } from '../../helpers/lake-state';
import {
  CrashingStore,
  commitAndClear,
  crashes,
  mutationsOf,
  rejectionsJson,
  seed,
  stage,
  stageAndPublish,
  type StageSpec,
} from '../../helpers/staged-runs';

const lakes: StoreLake[] = [];
const newLake = (): StoreLake => {
  const l = tempStoreLake();
  lakes.push(l);
  return l;
};
afterEach(() => {
  for (const l of lakes.splice(0)) l.cleanup();
});

const HOUR = 3_600_000;
const journalKeys = async (store: ObjectStore, runId?: string): Promise<string[]> =>
  (await store.list('staging', runId ? `journal/${runId}/` : 'journal/')).map((e) => e.key);

/** Sets the clock (Date only; timers, ticks and I/O stay real) for the duration of `fn`. */
async function at<T>(time: number, fn: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({
    now: time,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  try {
    return await fn();
  } finally {
    jest.useRealTimers();
  }
}

// -------------------------------------------------------------------------------------------
// The journal itself, on a small synthetic lake
// -------------------------------------------------------------------------------------------

/** A small lake and a journal that overwrites, adds and deletes across buckets. */
const BEFORE = {
  silver: {
    'transactions/year=2024/month=01/old_a.parquet': 'old-a',
    'transactions/year=2024/month=02/old_b.parquet': 'old-b',
    'keep.parquet': 'keep',
  },
  quarantine: { 'transactions/ingest_date=2024-01-02/old.parquet': 'old-q' },
  gold: { 'monthly_balances/year=2024/month=01/g.parquet': 'g' },
  staging: {
    'runs/R/silver/1.parquet': 'new-1',
    'runs/R/silver/2.parquet': 'new-2',
    'runs/R/silver/3.parquet': 'new-3',
    'runs/R/quarantine/q.parquet': 'new-q',
  },
};
const BEFORE_PUBLISHED = {
  'gold/monthly_balances/year=2024/month=01/g.parquet': 'g',
  'quarantine/transactions/ingest_date=2024-01-02/old.parquet': 'old-q',
  'silver/keep.parquet': 'keep',
  'silver/transactions/year=2024/month=01/old_a.parquet': 'old-a',
  'silver/transactions/year=2024/month=02/old_b.parquet': 'old-b',
};
const JOURNAL: PublishJournal = {
  name: 'publish',
  runId: 'R',
  copies: [
    {
      sourceBucket: 'staging',
      sourceKey: 'runs/R/silver/1.parquet',
      targetBucket: 'silver',
      targetKey: 'transactions/year=2024/month=01/old_a.parquet',
    },
    {
      sourceBucket: 'staging',
      sourceKey: 'runs/R/silver/2.parquet',
      targetBucket: 'silver',
      targetKey: 'transactions/year=2024/month=03/new_2.parquet',
    },
    {
      sourceBucket: 'staging',
      sourceKey: 'runs/R/silver/3.parquet',
      targetBucket: 'silver',
      targetKey: 'transactions/year=2024/month=03/new_3.parquet',
    },
    {
      sourceBucket: 'staging',
      sourceKey: 'runs/R/quarantine/q.parquet',
      targetBucket: 'quarantine',
      targetKey: 'transactions/ingest_date=2024-01-02/R_0.parquet',
    },
  ],
  deletes: [
    // replaced by a copy to the same key
    { bucket: 'silver', key: 'transactions/year=2024/month=01/old_a.parquet' },
    { bucket: 'silver', key: 'transactions/year=2024/month=02/old_b.parquet' },
    { bucket: 'quarantine', key: 'transactions/ingest_date=2024-01-02/old.parquet' },
  ],
};
const AFTER_PUBLISHED = {
  'gold/monthly_balances/year=2024/month=01/g.parquet': 'g',
  'quarantine/transactions/ingest_date=2024-01-02/R_0.parquet': 'new-q',
  'silver/keep.parquet': 'keep',
  'silver/transactions/year=2024/month=01/old_a.parquet': 'new-1',
  'silver/transactions/year=2024/month=03/new_2.parquet': 'new-2',
  'silver/transactions/year=2024/month=03/new_3.parquet': 'new-3',
};
/** A second journal of the same run, on another bucket (like publish-gold after publish). */
const GOLD_JOURNAL: PublishJournal = {
  name: 'publish-gold',
  runId: 'R',
  copies: [
    {
      sourceBucket: 'staging',
      sourceKey: 'runs/R/quarantine/q.parquet',
      targetBucket: 'gold',
      targetKey: 'monthly_balances/year=2024/month=01/R_0.parquet',
    },
  ],
  deletes: [{ bucket: 'gold', key: 'monthly_balances/year=2024/month=01/g.parquet' }],
};

const copyOp = (sb: string, sk: string, tb: string, tk: string) => `copy ${sb}/${sk} -> ${tb}/${tk}`;

describe('applyJournal', () => {
  test('writes the journal, backs up what it replaces, copies, then deletes what no copy overwrote', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    const counting = new CrashingStore(l.store, Infinity);
    const t0 = Date.now();
    await applyJournal(counting, 'staging', JOURNAL);
    const t1 = Date.now();
    expect(counting.log).toEqual([
      'put staging/journal/R/000-publish.json',
      ...JOURNAL.deletes.map((d) => copyOp(d.bucket, d.key, 'staging', `runs/R/superseded/${d.bucket}/${d.key}`)),
      ...JOURNAL.copies.map((c) => copyOp(c.sourceBucket, c.sourceKey, c.targetBucket, c.targetKey)),
      'delete silver/transactions/year=2024/month=02/old_b.parquet',
      'delete quarantine/transactions/ingest_date=2024-01-02/old.parquet',
    ]);
    expect(await publishedObjects(l.store)).toEqual(AFTER_PUBLISHED);
    // The journal stays pending (with its start time) and the backups hold the replaced bytes.
    const staging = await contents(l.store, 'staging');
    const { 'journal/R/000-publish.json': journalText, ...rest } = staging;
    const stored = JSON.parse(journalText) as PublishJournal & { startedAt: string };
    expect(stored).toEqual({ ...JOURNAL, startedAt: expect.any(String) });
    expect(Date.parse(stored.startedAt)).toBeGreaterThanOrEqual(t0);
    expect(Date.parse(stored.startedAt)).toBeLessThanOrEqual(t1);
    expect(rest).toEqual({
      ...BEFORE.staging,
      'runs/R/superseded/quarantine/transactions/ingest_date=2024-01-02/old.parquet': 'old-q',
      'runs/R/superseded/silver/transactions/year=2024/month=01/old_a.parquet': 'old-a',
      'runs/R/superseded/silver/transactions/year=2024/month=02/old_b.parquet': 'old-b',
    });
  });

  test('a second journal of the run gets the next sequence number', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    await applyJournal(l.store, 'staging', JOURNAL);
    await applyJournal(l.store, 'staging', GOLD_JOURNAL);
    expect(await journalKeys(l.store)).toEqual(['journal/R/000-publish.json', 'journal/R/001-publish-gold.json']);
  });
});

describe('commitRun / rollbackRun / rollbackJournal', () => {
  test('commitRun makes the after state final: journals dropped, a later rollback changes nothing', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    await applyJournal(l.store, 'staging', JOURNAL);
    await commitRun(l.store, 'staging', 'R');
    expect(await journalKeys(l.store)).toEqual([]);
    expect(await publishedObjects(l.store)).toEqual(AFTER_PUBLISHED);
    const lakeAfter = await allObjects(l.store);
    expect(await rollbackRun(l.store, 'staging', 'R')).toEqual([]);
    expect(await recoverPendingJournals(l.store, 'staging')).toEqual([]);
    expect(await allObjects(l.store)).toEqual(lakeAfter);
  });

  test('rollbackRun restores the before state exactly and drops the journals', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    await applyJournal(l.store, 'staging', JOURNAL);
    await applyJournal(l.store, 'staging', GOLD_JOURNAL);
    expect(await publishedObjects(l.store)).not.toEqual(BEFORE_PUBLISHED);
    expect(await rollbackRun(l.store, 'staging', 'R')).toEqual(['publish', 'publish-gold']);
    expect(await publishedObjects(l.store)).toEqual(BEFORE_PUBLISHED);
    expect(await journalKeys(l.store)).toEqual([]);
    // Rolling back again is a no-op.
    expect(await rollbackRun(l.store, 'staging', 'R')).toEqual([]);
    expect(await publishedObjects(l.store)).toEqual(BEFORE_PUBLISHED);
  });

  test('rollbackRun undoes the newest journal first (a later journal replacing an earlier one’s object)', async () => {
    const l = newLake();
    await seed(l.store, { staging: { a: 'A', b: 'B' }, gold: { other: 'o' } });
    const first: PublishJournal = {
      name: 'one',
      runId: 'R',
      copies: [{ sourceBucket: 'staging', sourceKey: 'a', targetBucket: 'gold', targetKey: 'x' }],
      deletes: [],
    };
    const second: PublishJournal = {
      name: 'two',
      runId: 'R',
      copies: [{ sourceBucket: 'staging', sourceKey: 'b', targetBucket: 'gold', targetKey: 'x' }],
      deletes: [{ bucket: 'gold', key: 'x' }],
    };
    await applyJournal(l.store, 'staging', first);
    await applyJournal(l.store, 'staging', second);
    expect(await contents(l.store, 'gold')).toEqual({ other: 'o', x: 'B' });
    expect(await rollbackRun(l.store, 'staging', 'R')).toEqual(['one', 'two']);
    expect(await contents(l.store, 'gold')).toEqual({ other: 'o' });
  });

  test('rollbackJournal undoes only the named journal', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    await applyJournal(l.store, 'staging', JOURNAL);
    await applyJournal(l.store, 'staging', GOLD_JOURNAL);
    expect(await rollbackJournal(l.store, 'staging', 'R', 'publish-gold')).toBe(true);
    expect(await publishedObjects(l.store)).toEqual(AFTER_PUBLISHED);
    expect(await journalKeys(l.store)).toEqual(['journal/R/000-publish.json']);
    expect(await rollbackJournal(l.store, 'staging', 'R', 'publish-gold')).toBe(false);
    expect(await rollbackJournal(l.store, 'staging', 'OTHER', 'publish')).toBe(false);
    expect(await publishedObjects(l.store)).toEqual(AFTER_PUBLISHED);
  });

  test('runs are independent: rolling back one leaves the other', async () => {
    const l = newLake();
    await seed(l.store, { ...BEFORE, staging: { ...BEFORE.staging, 'runs/S/x': 'S-x' } });
    await applyJournal(l.store, 'staging', JOURNAL);
    await applyJournal(l.store, 'staging', {
      name: 'publish',
      runId: 'S',
      copies: [{ sourceBucket: 'staging', sourceKey: 'runs/S/x', targetBucket: 'condemned', targetKey: 'c/x' }],
      deletes: [],
    });
    await rollbackRun(l.store, 'staging', 'S');
    expect(await publishedObjects(l.store)).toEqual(AFTER_PUBLISHED);
    await commitRun(l.store, 'staging', 'R');
    expect(await journalKeys(l.store)).toEqual([]);
  });
});

describe('crash at any point of applyJournal, or of the rollback itself', () => {
  test('recovery ends exactly in the before state; a clean apply + commit in the after state', async () => {
    const apply = (s: ObjectStore) => applyJournal(s, 'staging', JOURNAL);
    const setup = async () => {
      const l = newLake();
      await seed(l.store, BEFORE);
      return l;
    };
    const total = (await mutationsOf((await setup()).store, apply)).length;
    expect(total).toBe(1 + 3 + 4 + 2);
    for (let k = 0; k <= total; k += 1) {
      const probe = await setup();
      expect(await crashes(apply, probe.store, k)).toBe(k < total);
      const rollbackOps = (await mutationsOf(probe.store, (s) => recoverPendingJournals(s, 'staging'))).length;
      for (let r = 0; r <= rollbackOps; r += 1) {
        const l = await setup();
        await crashes(apply, l.store, k);
        // The first recovery may crash too (before its r-th mutation); the next one finishes the job.
        await crashes((s) => rollbackRun(s, 'staging', 'R'), l.store, r);
        expect(await recoverPendingJournals(l.store, 'staging')).toEqual(k === 0 || r === rollbackOps ? [] : ['R']);
        expect({ k, r, state: await publishedObjects(l.store) }).toEqual({ k, r, state: BEFORE_PUBLISHED });
        expect(await journalKeys(l.store)).toEqual([]);
      }
    }
  });

  test('property: random journals over random lakes (crash anywhere, rollback crash anywhere)', async () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd');
    const bucket = fc.constantFrom('silver', 'quarantine', 'gold');
    const target = fc.record({ bucket, key: fc.tuple(name, name).map(([x, y]) => `t/${x}/${y}`) });
    const id = (t: { bucket: string; key: string }) => `${t.bucket}/${t.key}`;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(target, { maxLength: 6, selector: id }),
        fc.uniqueArray(target, { maxLength: 6, selector: id }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.nat(20),
        fc.nat(20),
        async (existing, copyTargets, dropMask, crashAt, rollbackCrashAt) => {
          const existingIds = new Set(existing.map(id));
          const copyIds = new Set(copyTargets.map(id));
          // The journal's deletes: every existing object it overwrites, plus some it just drops.
          const deletes = existing.filter((t, i) => copyIds.has(id(t)) || dropMask[i]);
          const journal: PublishJournal = {
            name: 'publish-x',
            runId: 'R',
            copies: copyTargets.map((t, i) => ({
              sourceBucket: 'staging',
              sourceKey: `runs/R/src/${i}`,
              targetBucket: t.bucket,
              targetKey: t.key,
            })),
            deletes: deletes.map((t) => ({ bucket: t.bucket, key: t.key })),
          };
          const setup = async (): Promise<StoreLake> => {
            const l = newLake();
            for (const t of existing) await l.store.put(t.bucket, t.key, `old ${id(t)}`);
            for (const [i] of copyTargets.entries()) await l.store.put('staging', `runs/R/src/${i}`, `new ${i}`);
            return l;
          };
          const before = await publishedObjects((await setup()).store);
          const deleted = new Set(deletes.map(id));
          const expectedAfter: Record<string, string> = {};
          for (const t of existing) if (!deleted.has(id(t))) expectedAfter[id(t)] = `old ${id(t)}`;
          copyTargets.forEach((t, i) => {
            expectedAfter[id(t)] = `new ${i}`;
          });
          expect([...copyIds].filter((c) => existingIds.has(c)).every((c) => deleted.has(c))).toBe(true);

          // Clean apply + commit: the after state.
          const clean = await setup();
          await applyJournal(clean.store, 'staging', journal);
          await commitRun(clean.store, 'staging', 'R');
          expect(await publishedObjects(clean.store)).toEqual(
            Object.fromEntries(
              Object.entries(expectedAfter).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
            ),
          );
          const committed = await publishedObjects(clean.store);
          await rollbackRun(clean.store, 'staging', 'R');
          expect(await publishedObjects(clean.store)).toEqual(committed);

          // Crash anywhere, rollback crashing anywhere, then recovery: the before state.
          const l = await setup();
          await crashes((s) => applyJournal(s, 'staging', journal), l.store, crashAt);
          await crashes((s) => recoverPendingJournals(s, 'staging'), l.store, rollbackCrashAt);
          await recoverPendingJournals(l.store, 'staging');
          expect(await publishedObjects(l.store)).toEqual(before);
          expect(await journalKeys(l.store)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('recoverPendingJournals', () => {
  test('nothing pending: nothing done', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    const before = await allObjects(l.store);
    expect(await recoverPendingJournals(l.store, 'staging')).toEqual([]);
    expect(await allObjects(l.store)).toEqual(before);
  });

  test('rolls back every pending run (default age 0) and returns their ids', async () => {
    const l = newLake();
    await seed(l.store, { ...BEFORE, staging: { ...BEFORE.staging, 'runs/S/x': 'S-x' } });
    await applyJournal(l.store, 'staging', JOURNAL);
    await applyJournal(l.store, 'staging', GOLD_JOURNAL);
    await applyJournal(l.store, 'staging', {
      name: 'publish',
      runId: 'S',
      copies: [{ sourceBucket: 'staging', sourceKey: 'runs/S/x', targetBucket: 'condemned', targetKey: 'c/x' }],
      deletes: [],
    });
    expect((await recoverPendingJournals(l.store, 'staging')).sort()).toEqual(['R', 'S']);
    expect(await publishedObjects(l.store)).toEqual(BEFORE_PUBLISHED);
    expect(await journalKeys(l.store)).toEqual([]);
    expect(await recoverPendingJournals(l.store, 'staging')).toEqual([]);
  });

  test('respects minAgeMs: a run whose first journal is younger is untouched', async () => {
    const T0 = Date.parse('2024-06-01T00:00:00Z');
    const l = newLake();
    await seed(l.store, { ...BEFORE, staging: { ...BEFORE.staging, 'runs/S/x': 'S-x' } });
    const S_JOURNAL: PublishJournal = {
      name: 'publish',
      runId: 'S',
      copies: [{ sourceBucket: 'staging', sourceKey: 'runs/S/x', targetBucket: 'condemned', targetKey: 'c/x' }],
      deletes: [],
    };
    await at(T0, () => applyJournal(l.store, 'staging', JOURNAL));
    // R's second journal is recent, but the run started with its first one.
    await at(T0 + 23 * HOUR, () => applyJournal(l.store, 'staging', GOLD_JOURNAL));
    await at(T0 + 20 * HOUR, () => applyJournal(l.store, 'staging', S_JOURNAL));
    const bothApplied = await publishedObjects(l.store);
    const lakeBefore = await allObjects(l.store);

    // Neither is a day old yet: nothing is touched.
    expect(await recoverPendingJournals(l.store, 'staging', 24 * HOUR, new Date(T0 + 24 * HOUR - 1))).toEqual([]);
    expect(await allObjects(l.store)).toEqual(lakeBefore);
    // R is exactly a day old: rolled back; S (4h younger) stays applied and pending.
    expect(await recoverPendingJournals(l.store, 'staging', 24 * HOUR, new Date(T0 + 24 * HOUR))).toEqual(['R']);
    expect(await publishedObjects(l.store)).toEqual({
      ...BEFORE_PUBLISHED,
      'condemned/c/x': bothApplied['condemned/c/x'],
    });
    expect(await journalKeys(l.store)).toEqual(['journal/S/000-publish.json']);
    // A day after S started, S goes too.
    expect(await recoverPendingJournals(l.store, 'staging', 24 * HOUR, new Date(T0 + 44 * HOUR))).toEqual(['S']);
    expect(await publishedObjects(l.store)).toEqual(BEFORE_PUBLISHED);
    expect(await journalKeys(l.store)).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------
// Crash sweeps through the real publish steps
// -------------------------------------------------------------------------------------------

const D = '2024-03-05';
const OTHER = '2024-03-04';
const R2 = `${D}_e2`;
const QUARTER = '2024-Q1';

interface Scenario {
  readonly title: string;
  readonly rerun: StageSpec;
  /** The published layers after a clean publish + commit of the rerun (without gold). */
  readonly after: Record<string, string>;
  readonly fromMonth: string;
}

const r1 = `${D}_e1`;
const o1 = `${OTHER}_e1`;
const UNCHANGED = {
  [`condemned/transactions/ingest_date=${OTHER}/${o1}_00000.parquet`]: 'o-c',
  [`quarantine/file_rejections/ingest_date=${OTHER}/rejections.json`]: rejectionsJson(OTHER, o1, ['o.csv']),
  [`quarantine/files/ingest_date=${OTHER}/o.csv`]: 'o',
  [`quarantine/transactions/ingest_date=${OTHER}/${o1}_00000.parquet`]: 'o-q',
  [`silver/transactions/year=2024/month=02/${OTHER}_${o1}_00000.parquet`]: 'o-feb',
  [`silver/transactions/year=2024/month=03/${OTHER}_${o1}_00001.parquet`]: 'o-mar',
};
const GOLD_BEFORE = {
  'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
  'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
  'monthly_balances/year=2024/month=03/r0_00000.parquet': 'g-2024-03',
  'monthly_balances/year=2024/month=04/r0_00000.parquet': 'g-2024-04',
  [`reports/balance_history/quarter=${QUARTER}/balance_history.csv`]: 'report',
};

const SCENARIOS: Scenario[] = [
  {
    title: 'rerun replacing rejected files of the same name and rejections.json',
    rerun: {
      silver: { '2024-03': ['d2-mar-0', 'd2-mar-1'], '2024-04': ['d2-apr'] },
      quarantine: ['d2-q0', 'd2-q1'],
      rejected: { 'same.csv': 'v2\u00ff', 'new.csv': 'new' },
    },
    after: {
      ...UNCHANGED,
      [`quarantine/file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R2, ['same.csv', 'new.csv']),
      [`quarantine/files/ingest_date=${D}/new.csv`]: 'new',
      [`quarantine/files/ingest_date=${D}/same.csv`]: 'v2\u00ff',
      [`quarantine/transactions/ingest_date=${D}/${R2}_00000.parquet`]: 'd2-q0',
      [`quarantine/transactions/ingest_date=${D}/${R2}_00001.parquet`]: 'd2-q1',
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00000.parquet`]: 'd2-mar-0',
      [`silver/transactions/year=2024/month=03/${D}_${R2}_00001.parquet`]: 'd2-mar-1',
      [`silver/transactions/year=2024/month=04/${D}_${R2}_00002.parquet`]: 'd2-apr',
    },
    fromMonth: '2024-01',
  },
  {
    title: 'rerun without rejected files (earlier ones removed), condemned only',
    rerun: { silver: { '2024-02': ['d2-feb'] }, condemned: ['d2-c'] },
    after: {
      ...UNCHANGED,
      [`condemned/transactions/ingest_date=${D}/${R2}_00000.parquet`]: 'd2-c',
      [`silver/transactions/year=2024/month=02/${D}_${R2}_00000.parquet`]: 'd2-feb',
    },
    fromMonth: '2024-01',
  },
];

/** A lake with an earlier run of D and of another date committed, gold and a rerun of D staged. */
async function setupScenario(scenario: Scenario): Promise<StoreLake> {
  const l = newLake();
  await stageAndPublish(l.store, D, r1, {
    silver: { '2024-01': ['d1-jan'], '2024-02': ['d1-feb'], '2024-03': ['d1-mar'] },
    quarantine: ['d1-q'],
    condemned: ['d1-c'],
    rejected: { 'old.csv': 'old', 'same.csv': 'v1' },
  });
  await stageAndPublish(l.store, OTHER, o1, {
    silver: { '2024-02': ['o-feb'], '2024-03': ['o-mar'] },
    quarantine: ['o-q'],
    condemned: ['o-c'],
    rejected: { 'o.csv': 'o' },
  });
  await seed(l.store, { gold: GOLD_BEFORE, staging: { 'gold-refresh/year=2024/month=01/stale': 'stale' } });
  await stage(l.store, D, R2, scenario.rerun);
  return l;
}

const runPublish = (store: ObjectStore) => publish({ ingestDate: D, runId: R2 }, { store, buckets: BUCKETS });

/** What Athena's UNLOAD leaves for the refresh from `fromMonth`: files without an extension. */
const GOLD_REFRESH = {
  'gold-refresh/year=2024/month=01/20240701_1_00037_v74wa_1ad6f92e': 'n-2024-01',
  'gold-refresh/year=2024/month=03/20240701_1_00037_v74wa_2bd6f92e': 'n-2024-03a',
  'gold-refresh/year=2024/month=03/20240701_1_00037_v74wa_3cd6f92e': 'n-2024-03b',
};
const GOLD_AFTER = {
  'gold/monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
  [`gold/monthly_balances/year=2024/month=01/${R2}_00000.parquet`]: 'n-2024-01',
  [`gold/monthly_balances/year=2024/month=03/${R2}_00001.parquet`]: 'n-2024-03a',
  [`gold/monthly_balances/year=2024/month=03/${R2}_00002.parquet`]: 'n-2024-03b',
  // record-run replaces the report (this run's record carries none, so it stays)
  [`gold/reports/balance_history/quarter=${QUARTER}/balance_history.csv`]: 'report',
};
const runGold = (fromMonth: string) => (store: ObjectStore) =>
  publishGold({ runId: R2, fromMonth }, { store, buckets: BUCKETS });

const recordEvent = (status: 'SUCCEEDED' | 'FAILED') => ({
  status,
  execution_id: 'e2',
  current: {
    ingest_date: D,
    run_id: R2,
    ...(status === 'FAILED' ? { error: { Error: 'Lambda.Unknown', Cause: 'timeout' } } : {}),
  },
});
const record = (store: ObjectStore, status: 'SUCCEEDED' | 'FAILED') =>
  recordRun(recordEvent(status), { store, stagingBucket: 'staging' });

const withoutGold = (state: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(state).filter(([k]) => !k.startsWith('gold/')));
const withGold = (state: Record<string, string>, gold: Record<string, string>) =>
  Object.fromEntries(
    Object.entries({ ...withoutGold(state), ...gold }).sort(([a], [b]) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    ),
  );
const prefixed = (bucket: string, r: Record<string, string>) =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [`${bucket}/${k}`, v]));

describe.each(SCENARIOS)('publish: $title', (scenario) => {
  const AFTER = withGold(scenario.after, prefixed('gold', GOLD_BEFORE));

  test('clean publish + commit = the after state; a later rollback changes nothing', async () => {
    const l = await setupScenario(scenario);
    const result = await runPublish(l.store);
    expect(result.from_month).toBe(scenario.fromMonth);
    await record(l.store, 'SUCCEEDED');
    expect(await publishedObjects(l.store)).toEqual(AFTER);
    expect(await journalKeys(l.store)).toEqual([]);
    const lakeAfter = await allObjects(l.store);
    expect(await rollbackRun(l.store, 'staging', R2)).toEqual([]);
    expect(await recoverPendingJournals(l.store, 'staging')).toEqual([]);
    expect(await allObjects(l.store)).toEqual(lakeAfter);
  });

  test('crash at any point (recovery crashing too): recovery restores the before state', async () => {
    const probe = await setupScenario(scenario);
    const before = await publishedObjects(probe.store);
    const total = (await mutationsOf(probe.store, runPublish)).length;
    expect(total).toBeGreaterThan(5);
    for (let k = 0; k < total; k += 1) {
      const p = await setupScenario(scenario);
      expect(await crashes(runPublish, p.store, k)).toBe(true);
      const rollbackOps = (await mutationsOf(p.store, (s) => recoverPendingJournals(s, 'staging'))).length;
      for (let r = 0; r <= rollbackOps; r += Math.max(1, Math.floor(rollbackOps / 4))) {
        const l = await setupScenario(scenario);
        await crashes(runPublish, l.store, k);
        await crashes((s) => recoverPendingJournals(s, 'staging'), l.store, r);
        await recoverPendingJournals(l.store, 'staging');
        expect({ k, r, state: await publishedObjects(l.store) }).toEqual({ k, r, state: before });
        expect(await journalKeys(l.store)).toEqual([]);
      }
    }
  });

  test('crash at any point, then the date is recorded FAILED: the before state', async () => {
    const probe = await setupScenario(scenario);
    const before = await publishedObjects(probe.store);
    const total = (await mutationsOf(probe.store, runPublish)).length;
    for (let k = 0; k <= total; k += 1) {
      const l = await setupScenario(scenario);
      await crashes(runPublish, l.store, k);
      await record(l.store, 'FAILED');
      expect({ k, state: await publishedObjects(l.store) }).toEqual({ k, state: before });
      expect(await journalKeys(l.store)).toEqual([]);
      expect(await l.store.list('staging', `runs/${R2}/`)).toEqual([]);
      expect(await recoverPendingJournals(l.store, 'staging')).toEqual([]);
    }
  });

  test('crash at any point, then a retried publish: exactly a single clean publish (from_month included)', async () => {
    const probe = await setupScenario(scenario);
    const total = (await mutationsOf(probe.store, runPublish)).length;
    for (let k = 0; k < total; k += 1) {
      const l = await setupScenario(scenario);
      await crashes(runPublish, l.store, k);
      const retry = await runPublish(l.store);
      expect({ k, from_month: retry.from_month }).toEqual({ k, from_month: scenario.fromMonth });
      await record(l.store, 'SUCCEEDED');
      expect({ k, state: await publishedObjects(l.store) }).toEqual({ k, state: AFTER });
    }
  });

  test('publish + publishGold: crash at any point of publishGold; recovery, FAILED or a retry', async () => {
    const probe = await setupScenario(scenario);
    const before = await publishedObjects(probe.store);
    const fromMonth = (await runPublish(probe.store)).from_month!;
    await seed(probe.store, { staging: GOLD_REFRESH });
    const total = (await mutationsOf(probe.store, runGold(fromMonth))).length;
    const AFTER_ALL = withGold(scenario.after, GOLD_AFTER);

    // Clean: publish + gold + commit.
    await runGold(fromMonth)(probe.store);
    await record(probe.store, 'SUCCEEDED');
    expect(await publishedObjects(probe.store)).toEqual(AFTER_ALL);

    for (let k = 0; k <= total; k += 1) {
      for (const then of ['recover', 'failed', 'retry'] as const) {
        const l = await setupScenario(scenario);
        await runPublish(l.store);
        await seed(l.store, { staging: GOLD_REFRESH });
        expect(await crashes(runGold(fromMonth), l.store, k)).toBe(k < total);
        if (then === 'recover') {
          expect(await recoverPendingJournals(l.store, 'staging')).toEqual([R2]);
          expect({ k, then, state: await publishedObjects(l.store) }).toEqual({ k, then, state: before });
        } else if (then === 'failed') {
          await record(l.store, 'FAILED');
          expect({ k, then, state: await publishedObjects(l.store) }).toEqual({ k, then, state: before });
        } else if (k < total) {
          // Step Functions retries the step.
          await runGold(fromMonth)(l.store);
          await record(l.store, 'SUCCEEDED');
          expect({ k, then, state: await publishedObjects(l.store) }).toEqual({ k, then, state: AFTER_ALL });
        }
        expect(await journalKeys(l.store, R2)).toEqual(
          then === 'retry' && k === total ? [expect.any(String), expect.any(String)] : [],
        );
      }
    }
  });
});

describe('a run left pending is not rolled back over a later committed rerun of its date', () => {
  test('crashed run A of D (never recorded), rerun B of D committed within minAge, then recovery of A', async () => {
    const T0 = Date.parse('2024-06-01T00:00:00Z');
    const l = newLake();
    await at(T0 - HOUR, () =>
      stageAndPublish(l.store, D, r1, { silver: { '2024-01': ['d1-jan'] }, rejected: { 'x.csv': 'x' } }),
    );
    const A = `${D}_eA`;
    const B = `${D}_eB`;
    // A publishes, then its execution is stopped: no record-run, the journal stays pending.
    await stage(l.store, D, A, { silver: { '2024-02': ['a-feb'] }, rejected: { 'x.csv': 'xa' } });
    await at(T0, () => publish({ ingestDate: D, runId: A }, { store: l.store, buckets: BUCKETS }));
    // B runs an hour later: resolve-run leaves A alone (too young), B publishes and succeeds.
    await at(T0 + HOUR, async () => {
      expect(await recoverPendingJournals(l.store, 'staging', 24 * HOUR)).toEqual([]);
      await stage(l.store, D, B, { silver: { '2024-03': ['b-mar'] }, rejected: { 'x.csv': 'xb' } });
      await publish({ ingestDate: D, runId: B }, { store: l.store, buckets: BUCKETS });
      await commitAndClear(l.store, B);
    });
    const afterB = await publishedObjects(l.store);
    expect(Object.keys(afterB).filter((k) => k.startsWith('silver/'))).toEqual([
      `silver/transactions/year=2024/month=03/${D}_${B}_00000.parquet`,
    ]);
    // A day later, the next execution's resolve-run recovers A: D must still show B's publish only.
    await recoverPendingJournals(l.store, 'staging', 24 * HOUR, new Date(T0 + 25 * HOUR));
    expect(await publishedObjects(l.store)).toEqual(afterB);
  });
});

// -------------------------------------------------------------------------------------------
// Property: random runs, some failing (crashed and recovered, or recorded FAILED)
// -------------------------------------------------------------------------------------------

describe('property: random runs randomly failing', () => {
  test('the final state equals applying only the committed runs', async () => {
    const DATES = ['2024-01-31', '2024-02-01', '2024-02-29'];
    const MONTHS = ['2023-12', '2024-01', '2024-02', '2024-03'];
    const step = fc.record({
      date: fc.constantFrom(...DATES),
      months: fc.subarray(MONTHS),
      files: fc.integer({ min: 1, max: 2 }),
      quarantine: fc.integer({ min: 0, max: 2 }),
      rejected: fc.subarray(['a.csv', 'b.csv']),
      gold: fc.boolean(),
      fate: fc.oneof(
        fc.constant({ kind: 'commit' as const }),
        fc.record({ kind: fc.constantFrom('crash-recover' as const, 'crash-failed' as const), at: fc.nat(40) }),
        fc.constant({ kind: 'failed-after-publish' as const }),
      ),
    });
    type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

    const runStep = async (store: ObjectStore, s: Step, i: number, crashAt: number): Promise<void> => {
      const runId = `${s.date}_x${i}`;
      const silver = Object.fromEntries(
        s.months.map((m) => [m, Array.from({ length: s.files }, (_, j) => `${runId}|${m}|${j}`)]),
      );
      const quarantine = Array.from({ length: s.quarantine }, (_, j) => `${runId}|q|${j}`);
      const rejected = Object.fromEntries(s.rejected.map((n) => [n, `${runId}|${n}`]));
      await stage(store, s.date, runId, { silver, quarantine, rejected });
      // The execution's own resolve-run (local mode: age 0).
      await recoverPendingJournals(store, 'staging');
      const steps = async (st: ObjectStore) => {
        const result = await publish({ ingestDate: s.date, runId }, { store: st, buckets: BUCKETS });
        if (s.gold && result.from_month) {
          for (const m of MONTHS.filter((x) => x >= result.from_month!)) {
            const [y, mm] = m.split('-');
            await st.put('staging', `gold-refresh/year=${y}/month=${mm}/q_${runId}`, `${runId}|gold|${m}`);
          }
          await publishGold({ runId, fromMonth: result.from_month }, { store: st, buckets: BUCKETS });
        }
      };
      const crashed = await crashes(steps, store, crashAt);
      const event = (status: 'SUCCEEDED' | 'FAILED') => ({
        status,
        execution_id: `x${i}`,
        current: { ingest_date: s.date, run_id: runId, ...(status === 'FAILED' ? { error: { Error: 'X' } } : {}) },
      });
      if (s.fate.kind === 'commit') {
        expect(crashed).toBe(false);
        await recordRun(event('SUCCEEDED'), { store, stagingBucket: 'staging' });
      } else if (s.fate.kind === 'crash-recover') {
        // Killed: nothing recorded; the next execution's resolve-run rolls it back.
      } else {
        await recordRun(event('FAILED'), { store, stagingBucket: 'staging' });
      }
    };

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        const l = newLake();
        const ref = newLake();
        for (const [i, s] of steps.entries()) {
          const crashAt = s.fate.kind === 'crash-recover' || s.fate.kind === 'crash-failed' ? s.fate.at : Infinity;
          await runStep(l.store, s, i, crashAt);
          if (s.fate.kind === 'commit') await runStep(ref.store, s, i, Infinity);
        }
        await recoverPendingJournals(l.store, 'staging');
        expect(await publishedObjects(l.store)).toEqual(await publishedObjects(ref.store));
        expect(await journalKeys(l.store)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
