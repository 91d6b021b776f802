import { z } from 'zod';
import { publishResultKey, reportPrefix, runPrefix, runRecordKey } from '../../core/lake-layout';
import {
  failureCode,
  landingSummarySchema,
  publishResultSchema,
  RUN_STATUSES,
  type RunRecord,
  runRecordSchema,
  type RunSummaryCounts,
  summarize,
  ZERO_COUNTS,
} from '../../core/run-record';
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
 * Each table's snapshot id after the date's publish, from the publish result the Glue job left in
 * staging. A retried step finds the staging area cleared: the record it wrote already names them.
 * A succeeded date without a (finished) publish result is an error, not a record without snapshots.
 */
async function publishedSnapshots(
  store: ObjectStore,
  stagingBucket: string,
  executionId: string,
  current: RecordEvent['current'],
): Promise<Record<string, string>> {
  const key = publishResultKey(current.run_id);
  const text = await store.getText(stagingBucket, key);
  if (text === undefined) {
    const earlier = await store.getText(stagingBucket, runRecordKey(executionId, current.ingest_date));
    const record = earlier === undefined ? undefined : runRecordSchema.safeParse(JSON.parse(earlier));
    if (record?.success && record.data.run_id === current.run_id && record.data.snapshots) {
      return record.data.snapshots;
    }
    throw new Error(`run ${current.run_id} succeeded without a publish result (${key})`);
  }
  const result = publishResultSchema.parse(JSON.parse(text));
  if (result.run_id !== current.run_id) {
    throw new Error(`the publish result ${key} belongs to run ${result.run_id}, not ${current.run_id}`);
  }
  const snapshots: Record<string, string> = {};
  for (const table of Object.keys(result.tables).sort()) {
    const after = result.tables[table].after;
    if (!after)
      throw new Error(`the publish of run ${current.run_id} did not finish: ${table} has no snapshot after it`);
    snapshots[table] = after;
  }
  return snapshots;
}

/**
 * Records how a date ended (the run record the CLI and operators read, with each table's snapshot
 * after a successful publish), publishes the balance history report of a succeeded date, clears
 * the run's staging area, and returns the notification text for the failure path.
 */
export async function recordRun(
  event: RecordEvent,
  deps: { store: ObjectStore; stagingBucket: string; goldBucket?: string; reportQuarter?: string },
): Promise<{ record: RunRecord; notification: { subject: string; message: string } }> {
  const { current } = event;
  const snapshots =
    event.status === 'SUCCEEDED'
      ? await publishedSnapshots(deps.store, deps.stagingBucket, event.execution_id, current)
      : undefined;
  // The balance history the run's report query left in the Athena results becomes gold's report
  // of the quarter (the one report object there; a retried step writes the same object again).
  if (event.status === 'SUCCEEDED' && current.report && deps.goldBucket && deps.reportQuarter) {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(current.report.output_location);
    if (match) {
      const reportKey = `${reportPrefix(deps.reportQuarter)}balance_history.csv`;
      await deps.store.copy(match[1], match[2], deps.goldBucket, reportKey);
      const stale = (await deps.store.list(deps.goldBucket, reportPrefix(deps.reportQuarter)))
        .map((e) => e.key)
        .filter((key) => key !== reportKey);
      if (stale.length > 0) await deps.store.delete(deps.goldBucket, stale);
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
  const record: RunRecord = {
    ingest_date: current.ingest_date,
    run_id: current.run_id,
    status: event.status,
    ...counts,
    ...(failure ? { error: failure.code, error_detail: failure.detail } : {}),
    ...(snapshots ? { snapshots } : {}),
  };
  await deps.store.put(
    deps.stagingBucket,
    runRecordKey(event.execution_id, current.ingest_date),
    JSON.stringify(record, null, 2),
  );
  // Clearing the run's staging area is best effort: the tables were committed (or restored) by
  // the Glue job before this step.
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
