import { z } from 'zod';
import { PipelineError } from '../../core/errors';
import type { ObjectStore } from '../shared/object-store';
import { runPrefix } from '../../core/lake-layout';

/** Counts the Glue job writes to `runs/<run_id>/counts/` in staging. */
export const jobCountsSchema = z.object({
  read: z.number().int().nonnegative(),
  silver: z.number().int().nonnegative(),
  quarantined: z.number().int().nonnegative(),
  condemned: z.number().int().nonnegative(),
  reasons: z.record(z.string(), z.number().int().nonnegative()),
  read_by_file: z.record(z.string(), z.number().int().nonnegative()),
  silver_months: z.array(z.string()),
});
export type JobCounts = z.infer<typeof jobCountsSchema>;

/** What the landing check handed on (its own count of records, per accepted file). */
export const landingSummarySchema = z.object({
  files_total: z.number().int().nonnegative(),
  accepted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  records: z.number().int().nonnegative(),
  reasons: z.record(z.string(), z.number().int().nonnegative()),
});
export type LandingSummary = z.infer<typeof landingSummarySchema>;

export interface RunSummaryCounts {
  readonly files: { readonly accepted: number; readonly rejected: number };
  readonly rows: {
    readonly read: number;
    readonly silver: number;
    readonly quarantined: number;
    readonly condemned: number;
  };
  readonly reasons: Record<string, number>;
}

export async function readJobCounts(
  store: ObjectStore,
  stagingBucket: string,
  runId: string,
): Promise<JobCounts | undefined> {
  const prefix = `${runPrefix(runId)}counts/`;
  for (const entry of await store.list(stagingBucket, prefix)) {
    const name = entry.key.slice(prefix.length);
    if (name.startsWith('_') || name.startsWith('.') || entry.size === 0) continue;
    const text = (await store.getText(stagingBucket, entry.key)) ?? '';
    const line = text.split('\n').find((l) => l.trim().length > 0);
    if (line) return jobCountsSchema.parse(JSON.parse(line));
  }
  return undefined;
}

/** Row reasons from the job plus rejected-file reasons from the landing check. */
export function summarize(landing: LandingSummary, counts: JobCounts): RunSummaryCounts {
  const reasons: Record<string, number> = { ...counts.reasons };
  for (const [code, n] of Object.entries(landing.reasons)) reasons[code] = (reasons[code] ?? 0) + n;
  return {
    files: { accepted: landing.accepted, rejected: landing.rejected },
    rows: { read: counts.read, silver: counts.silver, quarantined: counts.quarantined, condemned: counts.condemned },
    reasons,
  };
}

/**
 * The audit of write–audit–publish: the job's counts must reconcile with the landing check's own
 * count and with themselves, and the quarantine share must stay under the deployment's ratio.
 */
export function auditCounts(landing: LandingSummary, counts: JobCounts, maxQuarantineRatio: number): RunSummaryCounts {
  if (counts.read !== landing.records) {
    throw new PipelineError(
      'RECONCILIATION_FAILED',
      `the job read ${counts.read} records but the landing check counted ${landing.records}`,
    );
  }
  const accounted = counts.silver + counts.quarantined + counts.condemned;
  if (accounted !== counts.read) {
    throw new PipelineError(
      'RECONCILIATION_FAILED',
      `read ${counts.read} records but silver + quarantined + condemned = ${accounted}`,
    );
  }
  const ratio = counts.read === 0 ? 0 : counts.quarantined / counts.read;
  if (ratio > maxQuarantineRatio) {
    throw new PipelineError(
      'QUALITY_GATE_FAILED',
      `${counts.quarantined} of ${counts.read} rows quarantined (${(ratio * 100).toFixed(2)}%), above the limit of ${(
        maxQuarantineRatio * 100
      ).toFixed(2)}%`,
    );
  }
  return summarize(landing, counts);
}

export async function qualityGate(
  input: { runId: string; landing: LandingSummary },
  deps: { store: ObjectStore; stagingBucket: string; maxQuarantineRatio: number },
): Promise<RunSummaryCounts> {
  const counts = await readJobCounts(deps.store, deps.stagingBucket, input.runId);
  if (!counts) {
    throw new PipelineError('RECONCILIATION_FAILED', `the job left no counts for run ${input.runId}`);
  }
  return auditCounts(input.landing, counts, deps.maxQuarantineRatio);
}
