import { CONTRACT } from './contract';
import { sanitizeId } from './run-plan';

/**
 * The lake's layout, in one place: every bucket layer, prefix, key and table name. The same keys
 * are used in S3 (bucket per layer) and locally (`<lake>/<layer>/<key>`). Table locations come
 * from the data contract's `tables` (its `layer` and `prefix`).
 */
export const BRONZE_PREFIX = 'transactions/';

/** The data layers of the lake; each is a bucket (a folder of the lake in local mode). */
export const LAKE_LAYERS = ['bronze', 'silver', 'gold', 'quarantine', 'condemned', 'staging'] as const;
export type LakeLayer = (typeof LAKE_LAYERS)[number];

/** Names of the lake's tables in the catalog. */
export const TABLES = {
  silver: 'silver_transactions',
  quarantine: 'quarantine_transactions',
  condemned: 'condemned_transactions',
  gold: 'gold_monthly_balances',
} as const;

/** A table's key prefix in its layer's bucket, from the contract (`transactions/`). */
export const tablePrefix = (table: string): string => {
  const contract = CONTRACT.tables[table];
  if (!contract) throw new Error(`the contract has no table ${table}`);
  return `${contract.prefix}/`;
};

export const SILVER_PREFIX = tablePrefix(TABLES.silver);
export const QUARANTINE_PREFIX = tablePrefix(TABLES.quarantine);
export const CONDEMNED_PREFIX = tablePrefix(TABLES.condemned);
export const GOLD_BALANCES_PREFIX = tablePrefix(TABLES.gold);
export const GOLD_REFRESH_PREFIX = 'gold-refresh/';

export const landingPrefix = (ingestDate: string): string => `${BRONZE_PREFIX}ingest_date=${ingestDate}/`;
/** Everything a run stages lives under this prefix of the staging bucket. */
export const RUNS_PREFIX = 'runs/';
export const runPrefix = (runId: string): string => `${RUNS_PREFIX}${runId}/`;
/** The landing check's summary of a run (its own record count, accepted and rejected files). */
export const landingSummaryKey = (runId: string): string => `${runPrefix(runId)}landing.json`;
/** A rejected file's staged copy, before publish moves it to quarantine. */
export const stagedRejectedKey = (runId: string, name: string): string => `${runPrefix(runId)}rejected/${name}`;
/** Where the Glue job writes its counts (JSON lines). */
export const jobCountsPrefix = (runId: string): string => `${runPrefix(runId)}counts/`;
/** The claim of the first execution of a schedule tick (its scheduled time, as a safe id). */
export const SCHEDULE_TICKS_PREFIX = 'schedule-ticks/';
export const scheduleTickKey = (scheduledTime: string): string =>
  `${SCHEDULE_TICKS_PREFIX}${sanitizeId(scheduledTime)}.json`;
export const RUN_RECORDS_PREFIX = 'run-records/';
export const runRecordsPrefix = (executionId: string): string => `${RUN_RECORDS_PREFIX}${executionId}/`;
export const runRecordKey = (executionId: string, ingestDate: string): string =>
  `${runRecordsPrefix(executionId)}${ingestDate}.json`;
export const REJECTED_FILES_PREFIX = 'files/';
export const rejectedFilesPrefix = (ingestDate: string): string => `${REJECTED_FILES_PREFIX}ingest_date=${ingestDate}/`;
export const REJECTIONS_PREFIX = 'file_rejections/';
export const rejectionsKey = (ingestDate: string): string =>
  `${REJECTIONS_PREFIX}ingest_date=${ingestDate}/rejections.json`;
export const REPORTS_PREFIX = 'reports/';
export const reportPrefix = (quarter: string): string => `${REPORTS_PREFIX}balance_history/quarter=${quarter}/`;
/** The stakeholders' monthly status reports (`txlake report`), written by RecordRun for the month before. */
export const STATUS_REPORTS_PREFIX = `${REPORTS_PREFIX}status/`;
export const statusReportPrefix = (month: string): string => `${STATUS_REPORTS_PREFIX}month=${month}/`;
/** `reports/status/month=YYYY-MM/status.md` (the e-mail) and `.html` (the one-page summary with its chart). */
export const statusReportKey = (month: string, format: 'md' | 'html'): string =>
  `${statusReportPrefix(month)}status.${format}`;

/** `year=2024/month=01/...` → `2024-01`, or undefined when the key has no such partition. */
export function monthOfKey(key: string): string | undefined {
  const match = /(?:^|\/)year=(\d{4})\/month=(\d{2})\//.exec(key);
  return match ? `${match[1]}-${match[2]}` : undefined;
}

/**
 * The publish result of a run (Glue `--job_mode publish` / `publish-gold`): each table's snapshot id
 * before and after the run's commit, `{"run_id", "ingest_date", "tables": {<table>: {"before", "after"}}}`.
 */
export const publishResultKey = (runId: string): string => `${runPrefix(runId)}published.json`;
/** The summary of the last table maintenance (the Glue job's maintain mode), in staging. */
export const MAINTENANCE_PREFIX = 'maintenance/';
export const MAINTENANCE_RESULT_KEY = `${MAINTENANCE_PREFIX}last-run.json`;
/** Everything of the lake lease lives under this prefix of the staging bucket (the lease and its take-over claims). */
export const LEASE_PREFIX = 'lease/';
/** The lake lease in staging: the one execution allowed to change the lake (SPEC §1 concurrency). */
export const LAKE_LEASE_KEY = `${LEASE_PREFIX}lake.json`;
/**
 * The claim of taking over one stale lease (named by a digest of the stale lease's text): only the
 * execution that creates it may replace that lease, so two executions never both take it over.
 */
export const LEASE_TAKEOVERS_PREFIX = `${LEASE_PREFIX}takeovers/`;
export const lakeLeaseTakeoverKey = (staleLeaseDigest: string): string =>
  `${LEASE_TAKEOVERS_PREFIX}${staleLeaseDigest}.json`;

/**
 * The Iceberg catalog's name: the Glue job's Spark catalog (`--catalog_name`, GlueCatalog in AWS,
 * JdbcCatalog locally) and pyiceberg's SqlCatalog name locally.
 */
export const ICEBERG_CATALOG = 'txlake';

/**
 * Staging prefixes that are scratch space and expire (a run's staged files, the gold refresh output,
 * schedule-tick claims, lease take-over claims); the lease itself and the run records stay.
 */
export const EXPIRING_STAGING_PREFIXES: readonly string[] = [
  RUNS_PREFIX,
  GOLD_REFRESH_PREFIX,
  SCHEDULE_TICKS_PREFIX,
  LEASE_TAKEOVERS_PREFIX,
];
