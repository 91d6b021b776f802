import { z } from 'zod';
import {
  publishResultKey,
  reportPrefix,
  RUN_RECORDS_PREFIX,
  runPrefix,
  runRecordKey,
  statusReportKey,
} from '../../core/lake-layout';
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
import {
  buildStatusReport,
  parseRunRecordKey,
  parseStoredRunRecord,
  previousMonthOf,
  reportDateRange,
  type StoredRunRecord,
} from '../../core/status-report';
import { renderStatusHtml, renderStatusMarkdown } from '../../core/status-report-render';
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

/** What the monthly status report is written with (see {@link writeMonthlyStatusReport}). */
export interface StatusReportSettings {
  /** IANA zone of the 02:00 schedule (the deployment's `scheduleTimeZone`). */
  readonly timeZone: string;
  /** The environment's name, for the report's title. */
  readonly environment?: string;
  /** Told why the report (or its HTML) was not written; the record stands either way. */
  readonly warn?: (message: string) => void;
}

/**
 * The stakeholders' status report of the calendar month (UTC) before `instant`, written to gold
 * once: `reports/status/month=YYYY-MM/status.html` (the summary with its chart), then `status.md`
 * (the e-mail) only if absent — the Markdown is the mark of a month done, so the first record of
 * each month writes the month before and later ones find it. Built from every execution's run
 * records of that month and the one before in staging, as `txlake report` builds it. Returns the
 * month and the formats written; undefined when the report was there already.
 */
export async function writeMonthlyStatusReport(
  store: ObjectStore,
  buckets: { readonly staging: string; readonly gold: string },
  instant: Date,
  settings: StatusReportSettings,
): Promise<{ month: string; written: ('md' | 'html')[] } | undefined> {
  const month = previousMonthOf(instant);
  const markdownKey = statusReportKey(month, 'md');
  if ((await store.getText(buckets.gold, markdownKey)) !== undefined) return undefined;
  const range = reportDateRange(month);
  const records: StoredRunRecord[] = [];
  const unreadable: string[] = [];
  for (const { key } of await store.list(buckets.staging, RUN_RECORDS_PREFIX)) {
    const parts = parseRunRecordKey(key);
    if (!parts || parts.ingest_date < range.from || parts.ingest_date > range.to) continue;
    const where = `s3://${buckets.staging}/${key}`;
    try {
      const text = await store.getText(buckets.staging, key);
      if (text !== undefined) records.push(parseStoredRunRecord(text, key, where));
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      unreadable.push(message.startsWith(where) ? message : `${where}: ${message}`);
    }
  }
  const report = buildStatusReport({
    month,
    timeZone: settings.timeZone,
    records,
    generatedAt: instant,
    environment: settings.environment,
    unreadable,
  });
  const written: ('md' | 'html')[] = [];
  try {
    await store.put(buckets.gold, statusReportKey(month, 'html'), await renderStatusHtml(report));
    written.push('html');
  } catch (error) {
    settings.warn?.(`the status report of ${month} has no HTML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (await store.putIfAbsent(buckets.gold, markdownKey, renderStatusMarkdown(report))) written.push('md');
  return { month, written };
}

/**
 * Records how a date ended (the run record the CLI and operators read, with each table's snapshot
 * after a successful publish), publishes the balance history report of a succeeded date, clears
 * the run's staging area, and returns the notification text for the failure path. With
 * `statusReport` (and gold), the first record of a month also writes the month before's status
 * report (best effort: a report that cannot be written never fails the record).
 */
export async function recordRun(
  event: RecordEvent,
  deps: {
    store: ObjectStore;
    stagingBucket: string;
    goldBucket?: string;
    reportQuarter?: string;
    /** @default the clock */
    now?: () => Date;
    /** Write the monthly status report to gold (AWS); @default none */
    statusReport?: StatusReportSettings;
  },
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
    recorded_at: (deps.now ?? (() => new Date()))().toISOString(),
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
  // The month before's status report, on the first record of a month (after the step's own work).
  if (deps.goldBucket && deps.statusReport) {
    try {
      await writeMonthlyStatusReport(
        deps.store,
        { staging: deps.stagingBucket, gold: deps.goldBucket },
        new Date(record.recorded_at as string),
        deps.statusReport,
      );
    } catch (error) {
      deps.statusReport.warn?.(`the monthly status report was not written: ${(error as Error).message.split('\n')[0]}`);
    }
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
