import { PipelineError } from '../../core/errors';
import { type JobCounts, type LandingSummary, type RunSummaryCounts, summarize } from '../../core/run-record';
import type { ObjectStore } from '../shared/object-store';
import { readJobCounts } from '../shared/staged-counts';

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
