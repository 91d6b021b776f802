import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LAKE_BUSY, PipelineError } from '../../core/errors';
import { LAKE_LEASE_KEY, lakeLeaseTakeoverKey } from '../../core/lake-layout';
import type { ObjectStore } from './object-store';

/**
 * The lake lease (SPEC §1 concurrency): at most one execution changes the lake at a time. The
 * lease is one object in staging (`lease/lake.json`), created with a conditional put; ResolveRun
 * takes it before anything changes, ReleaseLease drops it at the end of the execution.
 *
 * - no lease: the conditional put creates it; of concurrent acquirers exactly one wins.
 * - a lease of this execution (a retried ResolveRun): kept.
 * - a lease of another execution that still runs: `LAKE_BUSY`, nothing changed.
 * - a lease of an execution that no longer runs (killed, or its end state never ran): taken over.
 *   A take-over first claims the stale lease (a conditional put of a claim named by the stale
 *   lease's digest), so of concurrent executions only one replaces it; a claimer that died before
 *   replacing it is itself superseded by a claim on its claim.
 */

/** The execution port: whether an execution (its id, `$$.Execution.Id`) is still running. */
export type IsExecutionRunning = (executionId: string) => Promise<boolean>;

export const lakeLeaseSchema = z.object({ execution_id: z.string().min(1), acquired_at: z.string() });
export type LakeLease = z.infer<typeof lakeLeaseSchema>;

const takeoverClaimSchema = z.object({ execution_id: z.string().min(1), lease_digest: z.string() });

export interface LakeLeaseDeps {
  readonly store: ObjectStore;
  readonly stagingBucket: string;
  readonly isExecutionRunning: IsExecutionRunning;
  /** @default the clock */
  readonly now?: () => Date;
  /** Pause between two looks at a lease in flux (tests make it instant). @default 100 ms × attempt */
  readonly pause?: (attempt: number) => Promise<void>;
}

export type LeaseAcquisition =
  /** The lake had no lease: this execution created it. */
  | { readonly outcome: 'acquired'; readonly lease: LakeLease }
  /** This execution held it already (a retried step). */
  | { readonly outcome: 'kept'; readonly lease: LakeLease }
  /** The holder no longer runs: its lease was replaced by this execution's. */
  | { readonly outcome: 'taken_over'; readonly lease: LakeLease; readonly previous: string | null };

/** Rounds of looking at a lease that changes under us before giving up (each round waits longer). */
const MAX_ROUNDS = 10;

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

function parse<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The lease as stored, or undefined when there is none (a malformed lease reads as no holder). */
export async function readLakeLease(
  store: ObjectStore,
  stagingBucket: string,
): Promise<{ readonly text: string; readonly lease: LakeLease | undefined } | undefined> {
  const text = await store.getText(stagingBucket, LAKE_LEASE_KEY);
  return text === undefined ? undefined : { text, lease: parse(lakeLeaseSchema, text) };
}

const busy = (holder: string, since?: string): PipelineError =>
  new PipelineError(
    LAKE_BUSY,
    `the lake is held by execution ${holder}${since ? ` (since ${since})` : ''}, which is still running`,
  );

/** Takes the lake lease for `executionId`, or throws `LAKE_BUSY` having changed nothing. */
export async function acquireLakeLease(executionId: string, deps: LakeLeaseDeps): Promise<LeaseAcquisition> {
  const { store, stagingBucket } = deps;
  const now = deps.now ?? (() => new Date());
  const pause = deps.pause ?? ((attempt: number) => new Promise<void>((r) => setTimeout(r, 100 * attempt)));
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const lease: LakeLease = { execution_id: executionId, acquired_at: now().toISOString() };
    if (await store.putIfAbsent(stagingBucket, LAKE_LEASE_KEY, JSON.stringify(lease))) {
      return { outcome: 'acquired', lease };
    }
    const current = await readLakeLease(store, stagingBucket);
    if (current === undefined) continue; // released in between: try again at once
    const held = current.lease;
    if (held?.execution_id === executionId) return { outcome: 'kept', lease: held };
    if (held && (await deps.isExecutionRunning(held.execution_id))) throw busy(held.execution_id, held.acquired_at);
    const taken = await takeOver(current.text, held, lease, deps);
    if (taken) return taken;
    await pause(round);
  }
  throw new Error(`the lake lease kept changing: not acquired after ${MAX_ROUNDS} attempts`);
}

/**
 * Replaces the stale lease `staleText` with `lease` once this execution holds the claim on it.
 * Undefined when the lease moved on meanwhile (look again); LAKE_BUSY when a running execution
 * holds the claim (it is taking the lake).
 */
async function takeOver(
  staleText: string,
  stale: LakeLease | undefined,
  lease: LakeLease,
  deps: LakeLeaseDeps,
): Promise<LeaseAcquisition | undefined> {
  const { store, stagingBucket } = deps;
  const leaseDigest = digest(staleText);
  const claim = JSON.stringify({
    execution_id: lease.execution_id,
    lease_digest: leaseDigest,
    claimed_at: lease.acquired_at,
  });
  let claimKey = lakeLeaseTakeoverKey(leaseDigest);
  for (;;) {
    if (!(await store.putIfAbsent(stagingBucket, claimKey, claim))) {
      const existing = await store.getText(stagingBucket, claimKey);
      if (existing === undefined) return undefined; // an expired claim: look again
      const owner = parse(takeoverClaimSchema, existing)?.execution_id;
      if (owner !== lease.execution_id) {
        if (owner && (await deps.isExecutionRunning(owner))) throw busy(owner);
        // Its claimer no longer runs (it died before replacing the lease, or took the lake and
        // ended): the next claim is on that claim, and the lease check below tells which it was.
        claimKey = lakeLeaseTakeoverKey(digest(existing));
        continue;
      }
      // This execution's own claim (a retried step): go on with it.
    }
    // Only the holder of the newest live claim replaces the stale lease, and only if it is still there.
    if ((await store.getText(stagingBucket, LAKE_LEASE_KEY)) !== staleText) return undefined;
    await store.put(stagingBucket, LAKE_LEASE_KEY, JSON.stringify(lease));
    return { outcome: 'taken_over', lease, previous: stale?.execution_id ?? null };
  }
}

/** Drops the lake lease if `executionId` holds it; a lease of another execution is left alone. */
export async function releaseLakeLease(
  executionId: string,
  deps: Pick<LakeLeaseDeps, 'store' | 'stagingBucket'>,
): Promise<{ readonly released: boolean; readonly holder: string | null }> {
  const current = await readLakeLease(deps.store, deps.stagingBucket);
  const holder = current?.lease?.execution_id ?? null;
  if (holder !== executionId) return { released: false, holder };
  // Nobody replaces a running execution's lease, so it is still this one's when deleted.
  await deps.store.delete(deps.stagingBucket, [LAKE_LEASE_KEY]);
  return { released: true, holder };
}
