import { z } from 'zod';
import { PipelineError } from '../../core/errors';
import { type GoldPlan, goldPlan } from '../../core/gold-plan';
import { TABLES } from '../../core/lake-layout';
import {
  type JobCounts,
  type LandingSummary,
  type RunSummaryCounts,
  STAGED_TABLES,
  type StagedTableName,
  summarize,
} from '../../core/run-record';
import type { ObjectStore } from '../shared/object-store';
import { readJobCounts } from '../shared/staged-counts';

const reconciliationFailed = (message: string): PipelineError => new PipelineError('RECONCILIATION_FAILED', message);

/** The job's count that each staged table's added records must equal. */
const COUNTED: Record<StagedTableName, { count: 'silver' | 'quarantined' | 'condemned'; table: string }> = {
  silver: { count: 'silver', table: TABLES.silver },
  quarantine: { count: 'quarantined', table: TABLES.quarantine },
  condemned: { count: 'condemned', table: TABLES.condemned },
};

/**
 * The job's counts against what its audit branches hold: each table's staged snapshots must have
 * added exactly the rows the job counted for it. A count the job reports but the branch does not
 * hold (or the reverse), or counts without the staged snapshots, fail RECONCILIATION_FAILED.
 */
export function reconcileStaged(counts: JobCounts): void {
  if (!counts.staged) {
    throw reconciliationFailed("the job's counts name no staged snapshots (staged): nothing to audit");
  }
  for (const name of STAGED_TABLES) {
    const { count, table } = COUNTED[name];
    const staged = counts.staged[name];
    if (!staged) throw reconciliationFailed(`the job's counts name no staged snapshot of ${table}`);
    if (staged.added_records !== counts[count]) {
      throw reconciliationFailed(
        `${table}: the job counted ${counts[count]} ${count} rows but its staged snapshot ${staged.snapshot_id} ` +
          `on ${staged.branch} added ${staged.added_records} records`,
      );
    }
  }
}

/**
 * The audit of write–audit–publish: the job's counts must reconcile with the landing check's own
 * count, with themselves and with the staged snapshots, and the quarantine share must stay under
 * the deployment's ratio.
 */
export function auditCounts(landing: LandingSummary, counts: JobCounts, maxQuarantineRatio: number): RunSummaryCounts {
  if (counts.read !== landing.records) {
    throw reconciliationFailed(`the job read ${counts.read} records but the landing check counted ${landing.records}`);
  }
  const accounted = counts.silver + counts.quarantined + counts.condemned;
  if (accounted !== counts.read) {
    throw reconciliationFailed(`read ${counts.read} records but silver + quarantined + condemned = ${accounted}`);
  }
  reconcileStaged(counts);
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

/** The gate's verdict on a passing date: its counts, and the gold refresh it needs. */
export type GateResult = RunSummaryCounts & { readonly gold: GoldPlan };

/**
 * Audits the date's staged outputs; when they pass, also plans the gold refresh from the job's
 * counts (which months the date changes), for the steps after the tables' publish.
 */
export async function qualityGate(
  input: { runId: string; landing: LandingSummary },
  deps: {
    store: ObjectStore;
    stagingBucket: string;
    maxQuarantineRatio: number;
    /** Sees the counts before the verdict (the handler's metrics). */
    onCounts?: (counts: JobCounts) => void;
  },
): Promise<GateResult> {
  let counts: JobCounts | undefined;
  try {
    counts = await readJobCounts(deps.store, deps.stagingBucket, input.runId);
  } catch (error) {
    // A counts document the gate cannot read is a count the job does not account for.
    if (error instanceof SyntaxError || error instanceof z.ZodError) {
      throw reconciliationFailed(`the job's counts for run ${input.runId} are malformed: ${(error as Error).message}`);
    }
    throw error;
  }
  if (!counts) throw reconciliationFailed(`the job left no counts for run ${input.runId}`);
  deps.onCounts?.(counts);
  return { ...auditCounts(input.landing, counts, deps.maxQuarantineRatio), gold: goldPlan(counts) };
}
