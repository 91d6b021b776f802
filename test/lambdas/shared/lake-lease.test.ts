import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { PipelineError } from '../../../core/errors';
import { LAKE_LEASE_KEY, lakeLeaseTakeoverKey } from '../../../core/lake-layout';
import {
  acquireLakeLease,
  type IsExecutionRunning,
  type LakeLeaseDeps,
  readLakeLease,
  releaseLakeLease,
} from '../../../lambdas/shared/lake-lease';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { storeLakePerTest, tempStoreLake } from '../../helpers/lake';
import { contents } from '../../helpers/lake-state';
import { MemoryObjectStore, scheduled } from './memory-object-store';

const lake = storeLakePerTest();
const T0 = new Date('2024-01-17T01:00:03.000Z');
const noPause = async (): Promise<void> => {};

const runningOnly =
  (...ids: string[]): IsExecutionRunning =>
  async (id) =>
    ids.includes(id);

const deps = (isExecutionRunning: IsExecutionRunning, store: ObjectStore = lake.store): LakeLeaseDeps => ({
  store,
  stagingBucket: 'staging',
  isExecutionRunning,
  now: () => T0,
  pause: noPause,
});

const leaseObject = async (store: ObjectStore = lake.store): Promise<unknown> =>
  JSON.parse((await store.getText('staging', LAKE_LEASE_KEY)) ?? 'null');

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('acquireLakeLease', () => {
  test('no lease: created with the execution id and the time', async () => {
    const got = await acquireLakeLease('arn:exec:A', deps(runningOnly('arn:exec:A')));
    expect(got).toEqual({
      outcome: 'acquired',
      lease: { execution_id: 'arn:exec:A', acquired_at: '2024-01-17T01:00:03.000Z' },
    });
    expect(await leaseObject()).toEqual({ execution_id: 'arn:exec:A', acquired_at: '2024-01-17T01:00:03.000Z' });
    expect(Object.keys(await contents(lake.store, 'staging'))).toEqual([LAKE_LEASE_KEY]);
  });

  test('the same execution again (a retried ResolveRun) keeps its lease as it is', async () => {
    await acquireLakeLease('A', deps(runningOnly('A')));
    const before = await contents(lake.store, 'staging');
    const again = await acquireLakeLease('A', { ...deps(runningOnly('A')), now: () => new Date('2030-01-01') });
    expect(again).toEqual({ outcome: 'kept', lease: { execution_id: 'A', acquired_at: T0.toISOString() } });
    expect(await contents(lake.store, 'staging')).toEqual(before);
  });

  test('held by another execution that still runs: LAKE_BUSY, nothing changed', async () => {
    await acquireLakeLease('A', deps(runningOnly('A')));
    const before = await contents(lake.store, 'staging');
    const asked: string[] = [];
    const error = await acquireLakeLease(
      'B',
      deps(async (id) => {
        asked.push(id);
        return id === 'A';
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({
      name: 'LAKE_BUSY',
      code: 'LAKE_BUSY',
      message: `the lake is held by execution A (since ${T0.toISOString()}), which is still running`,
    });
    expect(asked).toEqual(['A']);
    expect(await contents(lake.store, 'staging')).toEqual(before);
  });

  test('held by an execution that no longer runs: taken over (once), its claim kept', async () => {
    await acquireLakeLease('A', deps(runningOnly('A')));
    const stale = (await lake.store.getText('staging', LAKE_LEASE_KEY))!;
    const later = new Date('2024-01-18T01:00:00.000Z');
    const got = await acquireLakeLease('B', { ...deps(runningOnly('B')), now: () => later });
    expect(got).toEqual({
      outcome: 'taken_over',
      lease: { execution_id: 'B', acquired_at: later.toISOString() },
      previous: 'A',
    });
    expect(await leaseObject()).toEqual({ execution_id: 'B', acquired_at: later.toISOString() });
    expect(JSON.parse((await lake.store.getText('staging', lakeLeaseTakeoverKey(digest(stale))))!)).toMatchObject({
      execution_id: 'B',
      lease_digest: digest(stale),
    });
    // B now runs: A (or anyone else) is refused.
    await expect(acquireLakeLease('C', deps(runningOnly('B', 'C')))).rejects.toMatchObject({ name: 'LAKE_BUSY' });
    expect(await acquireLakeLease('B', deps(runningOnly('B')))).toMatchObject({ outcome: 'kept' });
  });

  test('a malformed lease has no running holder: taken over', async () => {
    await lake.store.put('staging', LAKE_LEASE_KEY, 'not json');
    const running = jest.fn(async () => true);
    expect(await acquireLakeLease('B', deps(running))).toMatchObject({ outcome: 'taken_over', previous: null });
    expect(running).not.toHaveBeenCalled();
    expect(await leaseObject()).toEqual({ execution_id: 'B', acquired_at: T0.toISOString() });
  });

  test('a take-over claimed by an execution that died before replacing the lease: the next claim wins', async () => {
    await acquireLakeLease('A', deps(runningOnly('A')));
    const stale = (await lake.store.getText('staging', LAKE_LEASE_KEY))!;
    const deadClaim = JSON.stringify({ execution_id: 'W', lease_digest: digest(stale), claimed_at: 'x' });
    await lake.store.put('staging', lakeLeaseTakeoverKey(digest(stale)), deadClaim);
    // While W runs, it is the one taking the lake.
    await expect(acquireLakeLease('B', deps(runningOnly('W', 'B')))).rejects.toMatchObject({
      name: 'LAKE_BUSY',
      message: 'the lake is held by execution W, which is still running',
    });
    expect(await leaseObject()).toMatchObject({ execution_id: 'A' });
    // W died: B claims W's claim and takes the lease.
    expect(await acquireLakeLease('B', deps(runningOnly('B')))).toMatchObject({ outcome: 'taken_over', previous: 'A' });
    expect(await leaseObject()).toMatchObject({ execution_id: 'B' });
    expect(await lake.store.getText('staging', lakeLeaseTakeoverKey(digest(deadClaim)))).toContain('"B"');
  });

  test('a retried take-over finds its own claim and finishes it', async () => {
    await acquireLakeLease('A', deps(runningOnly('A')));
    const stale = (await lake.store.getText('staging', LAKE_LEASE_KEY))!;
    // B's first attempt claimed the take-over, then died before replacing the lease.
    await lake.store.put(
      'staging',
      lakeLeaseTakeoverKey(digest(stale)),
      JSON.stringify({ execution_id: 'B', lease_digest: digest(stale), claimed_at: 'x' }),
    );
    expect(await acquireLakeLease('B', deps(runningOnly('B')))).toMatchObject({ outcome: 'taken_over', previous: 'A' });
  });

  test('a slow contender whose view of a stale lease is outdated takes nothing from its new holder', async () => {
    // A died holding the lake; Y took it over, finished and released; V holds it now.
    await acquireLakeLease('A', deps(runningOnly('A')));
    const staleA = (await lake.store.getText('staging', LAKE_LEASE_KEY))!;
    await acquireLakeLease('Y', deps(runningOnly('Y')));
    await releaseLakeLease('Y', { store: lake.store, stagingBucket: 'staging' });
    await acquireLakeLease('V', deps(runningOnly('V')));
    // Z read A's lease before Y replaced it (its first read returns that old view).
    let firstRead = true;
    const slow: ObjectStore = {
      list: (b, p) => lake.store.list(b, p),
      getStream: (b, k) => lake.store.getStream(b, k),
      getBytes: (b, k) => lake.store.getBytes(b, k),
      getText: async (b, k) => {
        if (k === LAKE_LEASE_KEY && firstRead) {
          firstRead = false;
          return staleA;
        }
        return lake.store.getText(b, k);
      },
      put: (b, k, body) => lake.store.put(b, k, body),
      putIfAbsent: (b, k, body) => lake.store.putIfAbsent(b, k, body),
      copy: (sb, sk, tb, tk) => lake.store.copy(sb, sk, tb, tk),
      delete: (b, ks) => lake.store.delete(b, ks),
    };
    // Y's claim on A's lease exists and Y no longer runs: Z wins the next claim, but the lease is no
    // longer A's, so Z replaces nothing, looks again and finds V running.
    await expect(acquireLakeLease('Z', deps(runningOnly('V', 'Z'), slow))).rejects.toMatchObject({
      name: 'LAKE_BUSY',
      message: expect.stringContaining('execution V'),
    });
    expect(firstRead).toBe(false);
    expect(await leaseObject()).toMatchObject({ execution_id: 'V' });
  });
});

describe('releaseLakeLease', () => {
  const release = (id: string) => releaseLakeLease(id, { store: lake.store, stagingBucket: 'staging' });

  test('only the holder releases; another execution (or none held) leaves the lease as it is', async () => {
    expect(await release('A')).toEqual({ released: false, holder: null });
    await acquireLakeLease('A', deps(runningOnly('A')));
    expect(await release('B')).toEqual({ released: false, holder: 'A' });
    expect(await leaseObject()).toMatchObject({ execution_id: 'A' });
    expect(await release('A')).toEqual({ released: true, holder: 'A' });
    expect(await readLakeLease(lake.store, 'staging')).toBeUndefined();
    // a retried release
    expect(await release('A')).toEqual({ released: false, holder: null });
    // the lake is free again
    expect(await acquireLakeLease('B', deps(runningOnly('A', 'B')))).toMatchObject({ outcome: 'acquired' });
  });
});

type Start = 'empty' | 'stale' | 'stale-claimed' | 'malformed';

async function seedStart(store: ObjectStore, start: Start): Promise<void> {
  if (start === 'empty') return;
  const text = start === 'malformed' ? '{' : JSON.stringify({ execution_id: 'dead', acquired_at: 'then' });
  await store.put('staging', LAKE_LEASE_KEY, text);
  if (start === 'stale-claimed') {
    const claim = JSON.stringify({ execution_id: 'dead-claimer', lease_digest: digest(text), claimed_at: 'then' });
    await store.put('staging', lakeLeaseTakeoverKey(digest(text)), claim);
  }
}

describe('concurrent acquirers', () => {
  const STARTS: Start[] = ['empty', 'stale', 'stale-claimed', 'malformed'];

  test('property: of executions acquiring at once exactly one wins, the others fail LAKE_BUSY', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom(...STARTS),
        async (s, n, start) => {
          const memory = new MemoryObjectStore();
          await seedStart(memory, start);
          const store = scheduled(memory, s);
          const ids = Array.from({ length: n }, (_, i) => `exec-${i}`);
          // Every contender runs for the whole test; `dead*` executions do not.
          const isRunning: IsExecutionRunning = (id) => s.schedule(Promise.resolve(ids.includes(id)), `running ${id}`);
          const outcomes = await s.waitFor(
            Promise.all(
              ids.map((id) =>
                acquireLakeLease(id, deps(isRunning, store)).then(
                  (r) => ({ id, won: r.outcome }),
                  (e: unknown) => ({ id, error: (e as Error).name }),
                ),
              ),
            ),
          );
          const winners = outcomes.filter((o) => 'won' in o);
          expect(winners).toHaveLength(1);
          expect(winners[0].won).toBe(start === 'empty' ? 'acquired' : 'taken_over');
          for (const o of outcomes) if (!('won' in o)) expect(o.error).toBe('LAKE_BUSY');
          expect(await leaseObject(memory)).toMatchObject({ execution_id: winners[0].id });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: executions that acquire, work and release never hold the lake at the same time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom(...STARTS),
        async (s, n, start) => {
          const memory = new MemoryObjectStore();
          await seedStart(memory, start);
          const store = scheduled(memory, s);
          const ids = Array.from({ length: n }, (_, i) => `exec-${i}`);
          const ended = new Set<string>();
          const isRunning: IsExecutionRunning = (id) =>
            s.schedule(Promise.resolve(ids.includes(id) && !ended.has(id)), `running ${id}`);
          let holding = 0;
          let maxHolding = 0;
          const execution = async (id: string): Promise<string> => {
            try {
              await acquireLakeLease(id, deps(isRunning, store));
            } catch (error) {
              ended.add(id);
              return (error as Error).name;
            }
            holding += 1;
            maxHolding = Math.max(maxHolding, holding);
            await s.schedule(Promise.resolve(), `${id} works`);
            holding -= 1;
            const released = await releaseLakeLease(id, { store, stagingBucket: 'staging' });
            ended.add(id);
            return released.released ? 'released' : 'lost its lease';
          };
          const results = await s.waitFor(Promise.all(ids.map(execution)));
          expect(maxHolding).toBe(1);
          expect(results).toContain('released');
          for (const r of results) expect(['released', 'LAKE_BUSY']).toContain(r);
          expect(await memory.getText('staging', LAKE_LEASE_KEY)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  test('on the local lake (FsObjectStore): of concurrent acquirers exactly one wins', async () => {
    for (let round = 0; round < 20; round++) {
      const l = tempStoreLake();
      try {
        if (round % 2 === 1) await seedStart(l.store, 'stale');
        const ids = ['a', 'b', 'c', 'd', 'e'];
        const outcomes = await Promise.allSettled(
          ids.map((id) => acquireLakeLease(id, deps(runningOnly(...ids), l.store))),
        );
        const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [ids[i]] : []));
        expect(won).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ name: 'LAKE_BUSY' });
        expect(await leaseObject(l.store)).toMatchObject({ execution_id: won[0] });
      } finally {
        l.cleanup();
      }
    }
  });
});
