import { z } from 'zod';

/**
 * The run record: how one date of an execution ended (SPEC §5's `runs[]` entry), and the counts it
 * is made of — the landing check's summary and the Glue job's counts. Written by RecordRun, read by
 * the runners and the CLI.
 */

/** An Iceberg snapshot id: a 64-bit integer, carried as its decimal string (JSON numbers lose digits). */
export const snapshotIdSchema = z.string().regex(/^-?\d{1,20}$/, 'a snapshot id is a decimal string');

const month = z.string().regex(/^\d{4}-\d{2}$/, 'a month is YYYY-MM');

/**
 * What the job staged in one table: its audit branch, the `main` snapshot it was made from, the
 * branch head, and the records the branch's snapshots after that base added and deleted.
 */
export const stagedTableSchema = z.object({
  branch: z.string().min(1),
  base_snapshot_id: snapshotIdSchema,
  snapshot_id: snapshotIdSchema,
  added_records: z.number().int().nonnegative(),
  deleted_records: z.number().int().nonnegative(),
});
export type StagedTable = z.infer<typeof stagedTableSchema>;

/** The tables a run stages on its audit branch, by the counts' names for them. */
export const STAGED_TABLES = ['silver', 'quarantine', 'condemned'] as const;
export type StagedTableName = (typeof STAGED_TABLES)[number];

/** Counts the Glue job writes to `runs/<run_id>/counts/` in staging. */
export const jobCountsSchema = z.object({
  read: z.number().int().nonnegative(),
  silver: z.number().int().nonnegative(),
  quarantined: z.number().int().nonnegative(),
  condemned: z.number().int().nonnegative(),
  reasons: z.record(z.string(), z.number().int().nonnegative()),
  read_by_file: z.record(z.string(), z.number().int().nonnegative()),
  /** Months (YYYY-MM) of this run's silver rows. */
  silver_months: z.array(month),
  /** Months of the silver rows of this ingest date that `main` held before the run (replaced by it). */
  replaced_silver_months: z.array(month),
  /** The latest month in `main`'s silver before the run, null when silver was empty. */
  latest_silver_month: month.nullable(),
  /**
   * Each table's audit branch (`audit_<run_id>`). Optional in the schema so that the quality gate,
   * not the parser, turns a document without it into RECONCILIATION_FAILED.
   */
  staged: z
    .object({ silver: stagedTableSchema, quarantine: stagedTableSchema, condemned: stagedTableSchema })
    .partial()
    .optional(),
});
export type JobCounts = z.infer<typeof jobCountsSchema>;

/**
 * The publish result the Glue job writes (`runs/<run_id>/published.json`, core/lake-layout): each
 * table's `main` snapshot before the run's commit and, once committed, after it. `before` is null
 * for a table that had no snapshot yet (gold before its first refresh).
 */
export const publishResultSchema = z.object({
  run_id: z.string().min(1),
  ingest_date: z.string(),
  tables: z.record(
    z.string(),
    z.object({ before: snapshotIdSchema.nullable().optional(), after: snapshotIdSchema.optional() }).passthrough(),
  ),
});
export type PublishResultDocument = z.infer<typeof publishResultSchema>;

/** The job's counts file is JSON lines (Spark's writer): the first non-empty line, or undefined. */
export function parseJobCounts(text: string): JobCounts | undefined {
  const line = text.split('\n').find((l) => l.trim().length > 0);
  return line ? jobCountsSchema.parse(JSON.parse(line)) : undefined;
}

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

/** A date's counts before anything was read. */
export const ZERO_COUNTS: RunSummaryCounts = {
  files: { accepted: 0, rejected: 0 },
  rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
  reasons: {},
};

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

export const RUN_STATUSES = ['SUCCEEDED', 'NO_DATA', 'FAILED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One date's result: SPEC §5's `runs[]` entry plus `error_detail` (kept in the record, not printed). */
export interface RunRecord extends RunSummaryCounts {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly status: RunStatus;
  readonly error?: string;
  readonly error_detail?: string;
  /** Each table's snapshot id after the date's publish (SUCCEEDED dates): table name → id. */
  readonly snapshots?: Readonly<Record<string, string>>;
  /** When RecordRun wrote the record (ISO 8601, UTC): the date's data was published by then. */
  readonly recorded_at?: string;
}

export const runRecordSchema = z
  .object({
    ingest_date: z.string(),
    run_id: z.string(),
    status: z.enum(RUN_STATUSES),
    error: z.string().optional(),
    error_detail: z.string().optional(),
    files: z.object({ accepted: z.number(), rejected: z.number() }).passthrough(),
    rows: z
      .object({ read: z.number(), silver: z.number(), quarantined: z.number(), condemned: z.number() })
      .passthrough(),
    reasons: z.record(z.string(), z.number()),
    snapshots: z.record(z.string(), snapshotIdSchema).optional(),
    recorded_at: z.string().datetime({ offset: true }).optional(),
  })
  .passthrough();

/** A run record's text, checked against the schema; a one-line error naming `where` for anything else. */
export function parseRunRecord(text: string, where: string): RunRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  const result = runRecordSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${where} is not a run record: ${issue.path.join('.') || 'record'} ${issue.message}`);
  }
  return result.data as unknown as RunRecord;
}

/**
 * What an execution refused before it processed any date (LAKE_BUSY) reports for each date it was
 * asked for: FAILED with that code, nothing read, no run id (no run was made).
 */
export function refusedRecords(dates: readonly string[], error: { code: string; detail: string }): RunRecord[] {
  return dates.map((ingest_date) => ({
    ingest_date,
    run_id: '',
    status: 'FAILED',
    error: error.code,
    error_detail: error.detail,
    ...ZERO_COUNTS,
  }));
}

/** An error name that is a code (QUALITY_GATE_FAILED), not an exception class or a sentence. */
export const isErrorCode = (name: string): boolean => /^[A-Z][A-Z0-9_]*$/.test(name);

/** Codes a failed date may carry: the spec's own, or a step failure named by its error. */
export function failureCode(error: { Error: string; Cause?: string } | undefined): { code: string; detail: string } {
  if (!error) return { code: 'PIPELINE_FAILED', detail: 'unknown failure' };
  let detail = error.Cause ?? '';
  try {
    // Lambda failures arrive as a JSON cause with errorType/errorMessage.
    const cause = JSON.parse(detail) as { errorType?: string; errorMessage?: string };
    if (cause.errorMessage) detail = cause.errorMessage;
  } catch {
    // A plain-text cause is kept as it is.
  }
  const code = isErrorCode(error.Error) ? error.Error : `PIPELINE_FAILED`;
  return { code, detail: code === error.Error ? detail : `${error.Error}: ${detail}` };
}

/** Run records in ascending ingest-date order. */
export const byIngestDate = (a: RunRecord, b: RunRecord): number =>
  a.ingest_date < b.ingest_date ? -1 : a.ingest_date > b.ingest_date ? 1 : 0;
