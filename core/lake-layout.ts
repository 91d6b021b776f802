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
/** The reasons of a run's rejected files, staged for publish. */
export const stagedRejectionsKey = (runId: string): string => `${runPrefix(runId)}rejections.json`;
/** Where the Glue job writes its counts (JSON lines). */
export const jobCountsPrefix = (runId: string): string => `${runPrefix(runId)}counts/`;
/** Where the Glue job stages one of its outputs (`silver`, `quarantine`, `condemned`). */
export const stagedOutputPrefix = (runId: string, output: string): string => `${runPrefix(runId)}${output}/`;
/** The claim of the first execution of a schedule tick (its scheduled time, as a safe id). */
export const scheduleTickKey = (scheduledTime: string): string => `schedule-ticks/${sanitizeId(scheduledTime)}.json`;
export const runRecordsPrefix = (executionId: string): string => `run-records/${executionId}/`;
export const runRecordKey = (executionId: string, ingestDate: string): string =>
  `${runRecordsPrefix(executionId)}${ingestDate}.json`;
export const rejectedFilesPrefix = (ingestDate: string): string => `files/ingest_date=${ingestDate}/`;
export const rejectionsKey = (ingestDate: string): string =>
  `file_rejections/ingest_date=${ingestDate}/rejections.json`;
export const reportPrefix = (quarter: string): string => `reports/balance_history/quarter=${quarter}/`;

/** `year=2024/month=01/...` → `2024-01`, or undefined when the key has no such partition. */
export function monthOfKey(key: string): string | undefined {
  const match = /(?:^|\/)year=(\d{4})\/month=(\d{2})\//.exec(key);
  return match ? `${match[1]}-${match[2]}` : undefined;
}

/** Data files a Spark job leaves (not its `_SUCCESS` markers or `.crc` side files). */
export const isDataFile = (key: string): boolean => {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.endsWith('.parquet') && !name.startsWith('.') && !name.startsWith('_');
};

/**
 * Data files of an Athena UNLOAD: Athena names them without an extension, so everything but
 * hidden/marker files and metadata side files counts.
 */
export const isUnloadDataFile = (key: string): boolean => {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return (
    name.length > 0 &&
    !name.startsWith('.') &&
    !name.startsWith('_') &&
    !/\.(crc|metadata|manifest)$|\$folder\$$/.test(name)
  );
};

/** Silver files carry their ingest date in the name, so a rerun finds what the date published before. */
export const silverFilePrefix = (ingestDate: string): string => `${ingestDate}_`;
