import { z } from 'zod';
import { reportPrefix, runPrefix, runRecordKey } from '../../core/lake-layout';
import {
  failureCode,
  landingSummarySchema,
  RUN_STATUSES,
  type RunRecord,
  type RunSummaryCounts,
  summarize,
  ZERO_COUNTS,
} from '../../core/run-record';
import { applyJournal, commitRun, rollbackJournal, rollbackRun } from '../shared/journal';
import type { ObjectStore } from '../shared/object-store';
import { readJobCounts } from '../shared/staged-counts';

export const recordEventSchema = z.object({
  status: z.enum(RUN_STATUSES),
  execution_id: z.string().min(1),
  current: z
    .object({
      ingest_date: z.string(),
      run_id: z.string(),
      landing: landingSummarySchema.passthrough().optional(),
      gate: z.unknown().optional(),
      error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
      report: z.object({ output_location: z.string() }).optional(),
    })
    .passthrough(),
});
export type RecordEvent = z.infer<typeof recordEventSchema>;

/**
 * Records how a date ended (the run record the CLI and operators read), clears the run's staging
 * area, and returns the notification text for the failure path.
 */
export async function recordRun(
  event: RecordEvent,
  deps: { store: ObjectStore; stagingBucket: string; goldBucket?: string; reportQuarter?: string },
): Promise<{ record: RunRecord; notification: { subject: string; message: string } }> {
  const { current } = event;
  // The balance history the run's report query left in the Athena results becomes gold's report,
  // through a journal like every publish: it replaces the old report in one step and is rolled
  // back with the date's other publishes if the run does not commit.
  if (event.status === 'SUCCEEDED' && current.report && deps.goldBucket && deps.reportQuarter) {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(current.report.output_location);
    if (match) {
      // A retried step starts from the report as it was before its first attempt.
      await rollbackJournal(deps.store, deps.stagingBucket, current.run_id, 'report');
      const reportKey = `${reportPrefix(deps.reportQuarter)}balance_history.csv`;
      const existing = await deps.store.list(deps.goldBucket, reportPrefix(deps.reportQuarter));
      await applyJournal(deps.store, deps.stagingBucket, {
        name: 'report',
        runId: current.run_id,
        copies: [{ sourceBucket: match[1], sourceKey: match[2], targetBucket: deps.goldBucket, targetKey: reportKey }],
        deletes: existing.map((e) => ({ bucket: deps.goldBucket as string, key: e.key })),
      });
    }
  }
  let counts: RunSummaryCounts = ZERO_COUNTS;
  const gate = z
    .object({ files: z.any(), rows: z.any(), reasons: z.record(z.string(), z.number()) })
    .safeParse(current.gate);
  if (gate.success) {
    counts = gate.data as RunSummaryCounts;
  } else if (current.landing) {
    const jobCounts = await readJobCounts(deps.store, deps.stagingBucket, current.run_id).catch(() => undefined);
    counts = jobCounts
      ? summarize(current.landing, jobCounts)
      : {
          ...ZERO_COUNTS,
          files: { accepted: current.landing.accepted, rejected: current.landing.rejected },
          reasons: { ...current.landing.reasons },
        };
  }
  const failure = event.status === 'FAILED' ? failureCode(current.error) : undefined;
  // A failed date is rolled back to before it ran, before anything else.
  if (failure) await rollbackRun(deps.store, deps.stagingBucket, current.run_id);
  const record: RunRecord = {
    ingest_date: current.ingest_date,
    run_id: current.run_id,
    status: event.status,
    ...counts,
    ...(failure ? { error: failure.code, error_detail: failure.detail } : {}),
  };
  await deps.store.put(
    deps.stagingBucket,
    runRecordKey(event.execution_id, current.ingest_date),
    JSON.stringify(record, null, 2),
  );
  // The date's publishes become final last: if anything above fails, the failure path can still
  // roll them back. Clearing the run's staging area (backups included) is best effort after that.
  if (!failure) await commitRun(deps.store, deps.stagingBucket, current.run_id);
  try {
    const staged = await deps.store.list(deps.stagingBucket, runPrefix(current.run_id));
    if (staged.length > 0) {
      await deps.store.delete(
        deps.stagingBucket,
        staged.map((e) => e.key),
      );
    }
  } catch {
    // Leftovers expire with the staging bucket's lifecycle rule.
  }

  const subject = `txlake ${record.status} ${record.ingest_date}${failure ? ` ${failure.code}` : ''}`;
  const message = [
    `ingest date: ${record.ingest_date}`,
    `run id: ${record.run_id}`,
    `status: ${record.status}${failure ? ` (${failure.code})` : ''}`,
    ...(failure ? [`detail: ${failure.detail}`] : []),
    `files: ${record.files.accepted} accepted, ${record.files.rejected} rejected`,
    `rows: ${record.rows.read} read, ${record.rows.silver} silver, ${record.rows.quarantined} quarantined, ${record.rows.condemned} condemned`,
  ].join('\n');
  return { record, notification: { subject: subject.slice(0, 99), message } };
}
