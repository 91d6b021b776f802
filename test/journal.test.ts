import * as fc from 'fast-check';
import { applyJournal, recoverPendingJournals, type PublishJournal } from '../lambdas/shared/journal';
import { journalKey } from '../lambdas/shared/lake-layout';
import type { ObjectStore } from '../lambdas/shared/object-store';
import { publish } from '../lambdas/publish/core';
import { publishGold } from '../lambdas/publish-gold/core';
import {
  BUCKETS,
  CrashingStore,
  SimulatedCrash,
  contents,
  diskFiles,
  publishedState,
  seed,
  stage,
  stageAndPublish,
  tempLake,
  type TempLake,
} from './lambda-cores.helpers';

const lakes: TempLake[] = [];
const newLake = (): TempLake => {
  const l = tempLake();
  lakes.push(l);
  return l;
};
afterEach(() => {
  for (const l of lakes.splice(0)) l.cleanup();
});

/** A small lake and a journal that overwrites, adds and deletes across buckets. */
const BEFORE = {
  silver: { 'transactions/year=2024/month=01/old_a.parquet': 'old-a', 'transactions/year=2024/month=02/old_b.parquet': 'old-b', 'keep.parquet': 'keep' },
  quarantine: { 'transactions/ingest_date=2024-01-02/old.parquet': 'old-q' },
  staging: {
    'runs/R/silver/1.parquet': 'new-1',
    'runs/R/silver/2.parquet': 'new-2',
    'runs/R/silver/3.parquet': 'new-3',
    'runs/R/quarantine/q.parquet': 'new-q',
  },
};
const JOURNAL: PublishJournal = {
  name: 'publish-2024-01-02',
  runId: 'R',
  copies: [
    { sourceBucket: 'staging', sourceKey: 'runs/R/silver/1.parquet', targetBucket: 'silver', targetKey: 'transactions/year=2024/month=01/old_a.parquet' },
    { sourceBucket: 'staging', sourceKey: 'runs/R/silver/2.parquet', targetBucket: 'silver', targetKey: 'transactions/year=2024/month=03/new_2.parquet' },
    { sourceBucket: 'staging', sourceKey: 'runs/R/silver/3.parquet', targetBucket: 'silver', targetKey: 'transactions/year=2024/month=03/new_3.parquet' },
    { sourceBucket: 'staging', sourceKey: 'runs/R/quarantine/q.parquet', targetBucket: 'quarantine', targetKey: 'transactions/ingest_date=2024-01-02/R_0.parquet' },
  ],
  deletes: [
    // overwritten by a copy: must survive
    { bucket: 'silver', key: 'transactions/year=2024/month=01/old_a.parquet' },
    { bucket: 'silver', key: 'transactions/year=2024/month=02/old_b.parquet' },
    { bucket: 'quarantine', key: 'transactions/ingest_date=2024-01-02/old.parquet' },
    // already gone
    { bucket: 'quarantine', key: 'file_rejections/ingest_date=2024-01-02/rejections.json' },
  ],
};
const AFTER_PUBLISHED = {
  'quarantine/transactions/ingest_date=2024-01-02/R_0.parquet': 'new-q',
  'silver/keep.parquet': 'keep',
  'silver/transactions/year=2024/month=01/old_a.parquet': 'new-1',
  'silver/transactions/year=2024/month=03/new_2.parquet': 'new-2',
  'silver/transactions/year=2024/month=03/new_3.parquet': 'new-3',
};

describe('applyJournal', () => {
  test('copies, then deletes what no copy overwrote, then drops the journal', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    await applyJournal(l.store, 'staging', JOURNAL);
    expect(await publishedState(l.store)).toEqual(AFTER_PUBLISHED);
    expect(await contents(l.store, 'staging')).toEqual(BEFORE.staging);
  });

  test('copies happen before any delete and the journal is written first', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    const counting = new CrashingStore(l.store, Infinity);
    await applyJournal(counting, 'staging', JOURNAL);
    expect(counting.log).toEqual([
      `put staging/${journalKey(JOURNAL.name)}`,
      ...JOURNAL.copies.map((c) => `copy ${c.sourceBucket}/${c.sourceKey} -> ${c.targetBucket}/${c.targetKey}`),
      'delete silver/transactions/year=2024/month=02/old_b.parquet',
      'delete quarantine/transactions/ingest_date=2024-01-02/old.parquet',
      'delete quarantine/file_rejections/ingest_date=2024-01-02/rejections.json',
      `delete staging/${journalKey(JOURNAL.name)}`,
    ]);
  });
});

describe('recoverPendingJournals', () => {
  test('nothing pending: nothing done', async () => {
    const l = newLake();
    await seed(l.store, BEFORE);
    const before = await diskFiles(l.root);
    expect(await recoverPendingJournals(l.store, BUCKETS)).toEqual([]);
    expect(await diskFiles(l.root)).toEqual(before);
  });

  test('crash after writing the journal and part of its copies: recovery ends like a clean apply', async () => {
    const clean = newLake();
    await seed(clean.store, BEFORE);
    await applyJournal(clean.store, 'staging', JOURNAL);
    const cleanFiles = await diskFiles(clean.root);

    for (let done = 0; done <= JOURNAL.copies.length; done += 1) {
      const l = newLake();
      await seed(l.store, BEFORE);
      // The crash: the journal is written and only the first `done` copies happened.
      await l.store.put('staging', journalKey(JOURNAL.name), JSON.stringify(JOURNAL));
      for (const c of JOURNAL.copies.slice(0, done)) await l.store.copy(c.sourceBucket, c.sourceKey, c.targetBucket, c.targetKey);
      expect(await recoverPendingJournals(l.store, BUCKETS)).toEqual([JOURNAL.name]);
      expect(await diskFiles(l.root)).toEqual(cleanFiles);
      // Recovering again is a no-op.
      expect(await recoverPendingJournals(l.store, BUCKETS)).toEqual([]);
      expect(await diskFiles(l.root)).toEqual(cleanFiles);
    }
  });

  test('crash at any operation of applyJournal, or of the recovery itself: the end state is the clean one', async () => {
    const clean = newLake();
    await seed(clean.store, BEFORE);
    await applyJournal(clean.store, 'staging', JOURNAL);
    const cleanFiles = await diskFiles(clean.root);
    const total = 1 + JOURNAL.copies.length + 3 + 1;

    for (let k = 1; k < total; k += 1) {
      for (let r = 0; r <= total; r += 1) {
        const l = newLake();
        await seed(l.store, BEFORE);
        await expect(applyJournal(new CrashingStore(l.store, k), 'staging', JOURNAL)).rejects.toBeInstanceOf(SimulatedCrash);
        // The recovery may crash too (after r operations); the next one finishes the job.
        await recoverPendingJournals(new CrashingStore(l.store, r), BUCKETS).catch((e) => {
          if (!(e instanceof SimulatedCrash)) throw e;
        });
        await recoverPendingJournals(l.store, BUCKETS);
        expect(await diskFiles(l.root)).toEqual(cleanFiles);
      }
    }
  });

  test('several pending journals are replayed in key order and their names returned', async () => {
    const l = newLake();
    await seed(l.store, { staging: { a: 'A', b: 'B' } });
    const j = (name: string, src: string, key: string): PublishJournal => ({
      name,
      runId: 'R',
      copies: [{ sourceBucket: 'staging', sourceKey: src, targetBucket: 'gold', targetKey: key }],
      deletes: [],
    });
    await l.store.put('staging', journalKey('publish-gold'), JSON.stringify(j('publish-gold', 'b', 'x')));
    await l.store.put('staging', journalKey('publish-2024-01-02'), JSON.stringify(j('publish-2024-01-02', 'a', 'x')));
    expect(await recoverPendingJournals(l.store, BUCKETS)).toEqual(['publish-2024-01-02', 'publish-gold']);
    // publish-gold ran last, as after a crash in the gold step of the same date
    expect(await contents(l.store, 'gold')).toEqual({ x: 'B' });
    expect(await l.store.list('staging', 'journal/')).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------
// Crash sweeps through the real publish steps
// -------------------------------------------------------------------------------------------

const D = '2024-03-05';
const OTHER = '2024-03-04';

/** Lake with an earlier run of D and of another date published, and a rerun of D staged. */
async function rerunScenario(store: ObjectStore): Promise<void> {
  await stageAndPublish(store, D, `${D}_e1`, {
    silver: { '2024-01': ['d1-jan'], '2024-02': ['d1-feb'], '2024-03': ['d1-mar'] },
    quarantine: ['d1-q'],
    condemned: ['d1-c'],
    rejected: { 'old.csv': 'old', 'same.csv': 'v1' },
  });
  await stageAndPublish(store, OTHER, `${OTHER}_e1`, {
    silver: { '2024-02': ['o-feb'], '2024-03': ['o-mar'] },
    quarantine: ['o-q'],
    rejected: { 'o.csv': 'o' },
  });
  await stage(store, D, `${D}_e2`, {
    silver: { '2024-03': ['d2-mar-0', 'd2-mar-1'], '2024-04': ['d2-apr'] },
    quarantine: ['d2-q0', 'd2-q1'],
    rejected: { 'same.csv': 'v2', 'new.csv': 'new' },
  });
  await seed(store, { staging: { 'gold-refresh/year=2024/month=01/stale.parquet': 'stale' } });
}

const runPublish = (store: ObjectStore) => publish({ ingestDate: D, runId: `${D}_e2` }, { store, buckets: BUCKETS });

describe('publish survives a crash at any point', () => {
  test('recovery after the journal is written ends exactly as a clean publish; before it, the layers are untouched', async () => {
    const clean = newLake();
    await rerunScenario(clean.store);
    const before = await publishedState(clean.store);
    const counting = new CrashingStore(clean.store, Infinity);
    await runPublish(counting);
    const cleanState = await publishedState(clean.store);
    const total = counting.mutations;
    const journalAt = counting.log.findIndex((op) => op.startsWith('put staging/journal/'));
    expect(journalAt).toBeGreaterThan(0);
    expect(cleanState).not.toEqual(before);

    for (let k = 0; k < total; k += 1) {
      const l = newLake();
      await rerunScenario(l.store);
      await expect(runPublish(new CrashingStore(l.store, k))).rejects.toBeInstanceOf(SimulatedCrash);
      const replayed = await recoverPendingJournals(l.store, BUCKETS);
      if (k > journalAt) {
        expect(replayed).toEqual([`publish-${D}`]);
        expect(await publishedState(l.store)).toEqual(cleanState);
      } else {
        expect(replayed).toEqual([]);
        expect(await publishedState(l.store)).toEqual(before);
        // ... and publishing again (the rerun) then gives the clean state.
        await runPublish(l.store);
        expect(await publishedState(l.store)).toEqual(cleanState);
      }
      expect(await l.store.list('staging', 'journal/')).toEqual([]);
    }
  });
});

describe('publishGold survives a crash at any point', () => {
  async function goldScenario(store: ObjectStore): Promise<void> {
    await seed(store, {
      gold: {
        'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g01',
        'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g02',
        'monthly_balances/year=2024/month=03/r0_00000.parquet': 'g03',
        'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'rep',
      },
      staging: {
        'gold-refresh/year=2024/month=02/a.parquet': 'n02a',
        'gold-refresh/year=2024/month=02/b.parquet': 'n02b',
        'gold-refresh/_SUCCESS': '',
      },
    });
  }
  const run = (store: ObjectStore) =>
    publishGold({ runId: 'R2', fromMonth: '2024-02', reportQuarter: '2024-Q1' }, { store, buckets: BUCKETS });

  test('every crash point', async () => {
    const clean = newLake();
    await goldScenario(clean.store);
    const before = await contents(clean.store, 'gold');
    const counting = new CrashingStore(clean.store, Infinity);
    await run(counting);
    const cleanGold = await contents(clean.store, 'gold');
    expect(cleanGold).toEqual({
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g01',
      'monthly_balances/year=2024/month=02/R2_00000.parquet': 'n02a',
      'monthly_balances/year=2024/month=02/R2_00001.parquet': 'n02b',
    });
    const journalAt = counting.log.findIndex((op) => op.startsWith('put staging/journal/'));
    expect(journalAt).toBe(0);
    for (let k = 0; k < counting.mutations; k += 1) {
      const l = newLake();
      await goldScenario(l.store);
      await expect(run(new CrashingStore(l.store, k))).rejects.toBeInstanceOf(SimulatedCrash);
      await recoverPendingJournals(l.store, BUCKETS);
      expect(await contents(l.store, 'gold')).toEqual(k > journalAt ? cleanGold : before);
    }
  });
});

describe('property: random journals over random lakes', () => {
  test('crash after any prefix of operations + recovery = clean apply', async () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd');
    const bucket = fc.constantFrom('silver', 'quarantine');
    const target = fc.record({ bucket, key: fc.tuple(name, name).map(([x, y]) => `t/${x}/${y}`) });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(target, { maxLength: 6, selector: (t) => `${t.bucket}/${t.key}` }),
        fc.uniqueArray(target, { maxLength: 6, selector: (t) => `${t.bucket}/${t.key}` }),
        fc.uniqueArray(target, { maxLength: 6, selector: (t) => `${t.bucket}/${t.key}` }),
        fc.nat(20),
        async (existing, copyTargets, deleteTargets, crashAt) => {
          const journal: PublishJournal = {
            name: 'publish-x',
            runId: 'R',
            copies: copyTargets.map((t, i) => ({ sourceBucket: 'staging', sourceKey: `src/${i}`, targetBucket: t.bucket, targetKey: t.key })),
            deletes: deleteTargets.map((t) => ({ bucket: t.bucket, key: t.key })),
          };
          const setup = async (store: ObjectStore) => {
            for (const t of existing) await store.put(t.bucket, t.key, `old ${t.bucket}/${t.key}`);
            for (const [i] of copyTargets.entries()) await store.put('staging', `src/${i}`, `new ${i}`);
          };
          const clean = newLake();
          await setup(clean.store);
          await applyJournal(clean.store, 'staging', journal);
          const expected: Record<string, string> = {};
          const written = new Set(copyTargets.map((t) => `${t.bucket}/${t.key}`));
          const deleted = new Set(deleteTargets.map((t) => `${t.bucket}/${t.key}`));
          for (const t of existing) if (!deleted.has(`${t.bucket}/${t.key}`)) expected[`${t.bucket}/${t.key}`] = `old ${t.bucket}/${t.key}`;
          copyTargets.forEach((t, i) => {
            expected[`${t.bucket}/${t.key}`] = `new ${i}`;
          });
          expect(await publishedState(clean.store)).toEqual(
            Object.fromEntries(Object.entries(expected).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))),
          );
          expect([...written].every((w) => w in expected)).toBe(true);

          const l = newLake();
          await setup(l.store);
          const crashed = await applyJournal(new CrashingStore(l.store, crashAt), 'staging', journal).then(
            () => false,
            (e) => {
              if (!(e instanceof SimulatedCrash)) throw e;
              return true;
            },
          );
          await recoverPendingJournals(l.store, BUCKETS);
          if (crashed && crashAt === 0) expect(await publishedState(l.store)).toEqual(await publishedState((await freshSetup(setup)).store));
          else expect(await diskFiles(l.root)).toEqual(await diskFiles(clean.root));
        },
      ),
      { numRuns: 150 },
    );
  });
});

async function freshSetup(setup: (store: ObjectStore) => Promise<void>): Promise<TempLake> {
  const l = newLake();
  await setup(l.store);
  return l;
}
