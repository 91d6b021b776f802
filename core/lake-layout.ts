/**
 * Keys of the lake, in one place. The same keys are used in S3 (bucket per layer) and locally
 * (`<lake>/<layer>/<key>`).
 */
export const BRONZE_PREFIX = 'transactions/';
export const SILVER_PREFIX = 'transactions/';
export const QUARANTINE_PREFIX = 'transactions/';
export const CONDEMNED_PREFIX = 'transactions/';
export const GOLD_BALANCES_PREFIX = 'monthly_balances/';
export const GOLD_REFRESH_PREFIX = 'gold-refresh/';

export const landingPrefix = (ingestDate: string): string => `${BRONZE_PREFIX}ingest_date=${ingestDate}/`;
export const runPrefix = (runId: string): string => `runs/${runId}/`;
export const runRecordKey = (executionId: string, ingestDate: string): string =>
  `run-records/${executionId}/${ingestDate}.json`;
export const runRecordsPrefix = (executionId: string): string => `run-records/${executionId}/`;
export const rejectedFilesPrefix = (ingestDate: string): string => `files/ingest_date=${ingestDate}/`;
export const rejectionsKey = (ingestDate: string): string =>
  `file_rejections/ingest_date=${ingestDate}/rejections.json`;
export const reportPrefix = (quarter: string): string => `reports/balance_history/quarter=${quarter}/`;

/** `year=2024/month=01/...` → `2024-01`, or undefined when the key has no such partition. */
export function monthOfKey(key: string): string | undefined {
  const match = /(?:^|\/)year=(\d{4})\/month=(\d{2})\//.exec(key);
  return match ? `${match[1]}-${match[2]}` : undefined;
}

export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date written as YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}
