import * as fc from 'fast-check';
import type { JobCounts } from '../../../core/run-record';
import { handle } from '../../../lambdas/publish/handler';
import { publish } from '../../../lambdas/publish/core';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { BUCKETS, storeLakePerTest, tempStoreLake } from '../../helpers/lake';
import { allObjects, contents, diskFiles } from '../../helpers/lake-state';

const lake = storeLakePerTest();

async function seed(store: ObjectStore, files: Record<string, Record<string, string | Buffer>>): Promise<void> {
  for (const [bucket, objects] of Object.entries(files)) {
    for (const [key, value] of Object.entries(objects)) await store.put(bucket, key, value);
  }
}

const rejection = (date: string, name: string) => ({
  name,
  key: `transactions/ingest_date=${date}/${name}`,
  code: 'MISSING_COLUMNS',
  detail: `${name} lacks a column`,
});
const rejectionsJson = (date: string, runId: string, names: string[]) =>
  JSON.stringify({ ingest_date: date, run_id: runId, files: names.map((n) => rejection(date, n)) }, null, 2);

const jobCounts = (over: Partial<JobCounts> = {}): JobCounts => ({
  read: 3,
  silver: 3,
  quarantined: 0,
  condemned: 0,
  reasons: {},
  read_by_file: { 'a.csv': 3 },
  silver_months: ['2024-03'],
  replaced_silver_months: [],
  latest_silver_month: '2024-03',
  staged: {},
  ...over,
});

/** What validate-landing and the Glue job leave in `staging:runs/<run>/` that publish reads. */
async function stage(
  store: ObjectStore,
  date: string,
  runId: string,
  spec: { rejected?: Record<string, string | Buffer>; counts?: Partial<JobCounts> },
): Promise<void> {
  const base = `runs/${runId}/`;
  const rejected = spec.rejected ?? {};
  const files: Record<string, string | Buffer> = {
    [`${base}landing.json`]: JSON.stringify({
      ingest_date: date,
      run_id: runId,
      files: [],
      rejected: Object.keys(rejected).map((n) => rejection(date, n)),
    }),
    [`${base}counts/_SUCCESS`]: '',
    [`${base}counts/part-00000-x.json`]: `${JSON.stringify(jobCounts(spec.counts))}\n`,
  };
  for (const [name, bytes] of Object.entries(rejected)) files[`${base}rejected/${name}`] = bytes;
  await seed(store, { staging: files });
}

const run = (store: ObjectStore, ingestDate: string, runId: string) =>
  publish({ ingestDate, runId }, { store, buckets: BUCKETS });

describe('publish', () => {
  const D = '2024-03-05';
  const R1 = `${D}_e1`;
  const R2 = `${D}_e2`;

  test('publishes the rejected files byte-identical with their reasons', async () => {
    const bad = Buffer.from([0x72, 0x61, 0x77, 0x2c, 0x0d, 0x0a, 0xff, 0x00]);
    await stage(lake.store, D, R1, {
      rejected: { 'bad.csv': bad, 'x.txt': 'text' },
      counts: { silver_months: ['2024-01', '2024-03'], replaced_silver_months: [], latest_silver_month: '2024-02' },
    });
    const staging = await contents(lake.store, 'staging');

    const result = await run(lake.store, D, R1);

    expect(result).toEqual({
      ingest_date: D,
      run_id: R1,
      published: { rejected_files: 2 },
    });
    expect(await contents(lake.store, 'quarantine')).toEqual({
      [`file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R1, ['bad.csv', 'x.txt']),
      [`files/ingest_date=${D}/bad.csv`]: `base64:${bad.toString('base64')}`,
      [`files/ingest_date=${D}/x.txt`]: 'text',
    });
    expect((await lake.store.getBytes('quarantine', `files/ingest_date=${D}/bad.csv`)).equals(bad)).toBe(true);
    // Staging is kept as it was (record-run clears the run's area).
    expect(await contents(lake.store, 'staging')).toEqual(staging);
    // Only the rejected files and their reasons are written: the tables are the Glue job's.
    for (const layer of ['silver', 'condemned', 'gold']) expect(await contents(lake.store, layer)).toEqual({});
    expect(Object.keys(diskFiles(lake.root)).filter((k) => k.includes('.txlake-tmp-'))).toEqual([]);
  });

  test("a rerun of the date replaces the date's earlier rejected files and reasons; other dates untouched", async () => {
    const OTHER = '2024-03-04';
    await stage(lake.store, OTHER, `${OTHER}_e0`, { rejected: { 'same.csv': 'other-date' } });
    await run(lake.store, OTHER, `${OTHER}_e0`);
    await stage(lake.store, D, R1, { rejected: { 'old.csv': 'old', 'same.csv': 'same-v1' } });
    await run(lake.store, D, R1);

    await stage(lake.store, D, R2, { rejected: { 'same.csv': 'same-v2', 'new.csv': 'new' } });
    expect((await run(lake.store, D, R2)).published).toEqual({ rejected_files: 2 });
    expect(await contents(lake.store, 'quarantine')).toEqual({
      [`file_rejections/ingest_date=${OTHER}/rejections.json`]: rejectionsJson(OTHER, `${OTHER}_e0`, ['same.csv']),
      [`file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R2, ['same.csv', 'new.csv']), // the landing check's order
      [`files/ingest_date=${OTHER}/same.csv`]: 'other-date',
      [`files/ingest_date=${D}/new.csv`]: 'new',
      [`files/ingest_date=${D}/same.csv`]: 'same-v2',
    });

    // A rerun without rejected files removes the date's rejected files and reasons.
    const R3 = `${D}_e3`;
    await stage(lake.store, D, R3, {});
    expect((await run(lake.store, D, R3)).published).toEqual({ rejected_files: 0 });
    expect(await contents(lake.store, 'quarantine')).toEqual({
      [`file_rejections/ingest_date=${OTHER}/rejections.json`]: rejectionsJson(OTHER, `${OTHER}_e0`, ['same.csv']),
      [`files/ingest_date=${OTHER}/same.csv`]: 'other-date',
    });
  });

  test('a retried step gives the same objects and the same result', async () => {
    await stage(lake.store, D, R1, { rejected: { 'a.csv': 'a-v1', 'b.csv': 'b' } });
    await run(lake.store, D, R1);
    await stage(lake.store, D, R2, {
      rejected: { 'a.csv': 'a-v2', 'c.csv': 'c' },
      counts: { silver_months: ['2024-04'], replaced_silver_months: ['2024-01'], latest_silver_month: '2024-03' },
    });
    const first = await run(lake.store, D, R2);
    const state = await allObjects(lake.store);
    const second = await run(lake.store, D, R2);
    expect(second).toEqual(first);
    expect(first.published.rejected_files).toBe(2);
    expect(await allObjects(lake.store)).toEqual(state);
  });

  test('property: an attempt cut off after any number of writes, then retried, ends as one clean attempt', async () => {
    // The end state of one uninterrupted publish of R2 after R1.
    const prepare = async (store: ObjectStore) => {
      await stage(store, D, R1, { rejected: { 'a.csv': 'a-v1', 'b.csv': 'b' } });
      await run(store, D, R1);
      await stage(store, D, R2, { rejected: { 'a.csv': 'a-v2', 'c.csv': 'c' } });
      await seed(store, { staging: { 'gold-refresh/year=2024/month=01/q_1': 'old refresh' } });
    };
    const clean = tempStoreLake();
    try {
      await prepare(clean.store);
      const expectedResult = await run(clean.store, D, R2);
      const expected = await allObjects(clean.store);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 8 }), async (k) => {
          const l = tempStoreLake();
          try {
            await prepare(l.store);
            await run(crashingAfter(l.store, k), D, R2).catch((e: unknown) => {
              if ((e as Error).message !== 'simulated crash') throw e;
            });
            expect(await run(l.store, D, R2)).toEqual(expectedResult);
            expect(await allObjects(l.store)).toEqual(expected);
          } finally {
            l.cleanup();
          }
        }),
        { numRuns: 18 },
      );
    } finally {
      clean.cleanup();
    }
  });

  test('no rejected files: nothing is written, the earlier ones of the date are removed', async () => {
    await stage(lake.store, D, R1, { rejected: { 'r.csv': 'r' } });
    await run(lake.store, D, R1);
    await stage(lake.store, D, R2, {});
    expect(await run(lake.store, D, R2)).toEqual({ ingest_date: D, run_id: R2, published: { rejected_files: 0 } });
    expect(await contents(lake.store, 'quarantine')).toEqual({});
  });

  test('handler: {ingest_date, run_id}; needs only the staging and quarantine buckets', async () => {
    await stage(lake.store, D, R1, { rejected: { 'r.csv': 'r' } });
    const env = { STAGING_BUCKET: 'staging', QUARANTINE_BUCKET: 'quarantine' };
    await expect(handle({ ingest_date: '2024-3-5', run_id: R1 }, { store: lake.store, env })).rejects.toThrow();
    expect(await handle({ ingest_date: D, run_id: R1 }, { store: lake.store, env })).toEqual({
      ingest_date: D,
      run_id: R1,
      published: { rejected_files: 1 },
    });
  });
});

/** `inner`, failing every write after its first `k` (a step cut off by a timeout or a crash). */
function crashingAfter(inner: ObjectStore, k: number): ObjectStore {
  let writes = 0;
  const write = async <T>(op: () => Promise<T>): Promise<T> => {
    if (writes >= k) throw new Error('simulated crash');
    writes += 1;
    return op();
  };
  return {
    list: (b, p) => inner.list(b, p),
    getStream: (b, key) => inner.getStream(b, key),
    getBytes: (b, key) => inner.getBytes(b, key),
    getText: (b, key) => inner.getText(b, key),
    put: (b, key, body) => write(() => inner.put(b, key, body)),
    putIfAbsent: (b, key, body) => write(() => inner.putIfAbsent(b, key, body)),
    copy: (sb, sk, tb, tk) => write(() => inner.copy(sb, sk, tb, tk)),
    delete: (b, keys) => write(() => inner.delete(b, keys)),
  };
}
