import { isCalendarDate } from '../../core/calendar';

/** The generator's options, their defaults and checks, and how the rows are split into files. */

export interface GenerateOptions {
  /** Data records in total, over all files. */
  readonly rows: number;
  /** Ingest date YYYY-MM-DD: the landing partition, and the last day of the timestamp span. */
  readonly ingestDate: string;
  /**
   * How many files the rows are split into (as evenly as possible, the first files get the extra row).
   * @default 1
   */
  readonly files?: number;
  /**
   * Seed of the pseudo-random generator (an unsigned 32-bit integer).
   * @default 1
   */
  readonly seed?: number;
  /**
   * Distinct CustomerIDs to draw from (`C000000`…).
   * @default 10_000
   */
  readonly accounts?: number;
  /**
   * Currencies of valid rows (uppercase ISO codes; they should be in the deployment's allow-list).
   * @default ['EUR', 'USD', 'GBP']
   */
  readonly currencies?: readonly string[];
  /**
   * Timestamps of non-late rows fall in the `spanDays` calendar days (UTC) that end with `ingestDate`
   * (1: the ingest date itself).
   * @default 1
   */
  readonly spanDays?: number;
  /**
   * Fraction of valid rows whose timestamp is 1–90 days before the span (late arrivals).
   * @default 0.01
   */
  readonly lateRate?: number;
  /**
   * Fraction of rows broken by exactly one row rule ({@link INVALID_CODES}, in turn).
   * @default 0.001
   */
  readonly invalidRate?: number;
  /**
   * Fraction of rows that repeat an earlier valid row of the same file byte for byte (`DUPLICATE_ROW`).
   * The first row of a file can never be one.
   * @default 0.001
   */
  readonly duplicateRate?: number;
  /**
   * Number of the first TransactionID. The default, `<days since 1970-01-01 of ingestDate> * 1e9`,
   * keeps the ids of different ingest dates apart (up to a billion rows a date).
   * @default daysSinceEpoch(ingestDate) * 1_000_000_000
   */
  readonly startId?: number;
}

export type ResolvedGenerateOptions = Required<GenerateOptions>;

export const DAY_SECONDS = 86_400;
export const DAY_MS = DAY_SECONDS * 1000;
export const MAX_LATE_DAYS = 90;
const CURRENCY = /^[A-Z]{3}$/;
const EARLIEST_MS = Date.UTC(1900, 0, 1);

export const daysSinceEpoch = (date: string): number => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);

/** Rows of file `index` (0-based): an even split, the first `rows % files` files get one more. */
export function rowsOfFile(rows: number, files: number, index: number): number {
  return Math.floor(rows / files) + (index < rows % files ? 1 : 0);
}

/** Fills in the defaults and checks the options; throws a RangeError with a one-line message. */
export function resolveGenerateOptions(options: GenerateOptions): ResolvedGenerateOptions {
  const fail = (message: string): never => {
    throw new RangeError(message);
  };
  const positiveInt = (name: string, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${value}`);
  };
  const rate = (name: string, value: number): void => {
    if (!(value >= 0 && value <= 1)) fail(`${name} must be between 0 and 1, got ${value}`);
  };
  if (!isCalendarDate(options.ingestDate)) fail(`ingestDate must be a date YYYY-MM-DD, got "${options.ingestDate}"`);
  const resolved: ResolvedGenerateOptions = {
    rows: options.rows,
    ingestDate: options.ingestDate,
    files: options.files ?? 1,
    seed: options.seed ?? 1,
    accounts: options.accounts ?? 10_000,
    currencies: [...(options.currencies ?? ['EUR', 'USD', 'GBP'])],
    spanDays: options.spanDays ?? 1,
    lateRate: options.lateRate ?? 0.01,
    invalidRate: options.invalidRate ?? 0.001,
    duplicateRate: options.duplicateRate ?? 0.001,
    startId: options.startId ?? daysSinceEpoch(options.ingestDate) * 1_000_000_000,
  };
  positiveInt('rows', resolved.rows);
  positiveInt('files', resolved.files);
  positiveInt('accounts', resolved.accounts);
  positiveInt('spanDays', resolved.spanDays);
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0 || resolved.seed > 0xffffffff) {
    fail(`seed must be an integer from 0 to ${0xffffffff}, got ${resolved.seed}`);
  }
  if (options.startId === undefined && resolved.startId < 0) {
    fail('the default startId needs an ingestDate from 1970-01-01 on; give a startId');
  }
  if (!Number.isSafeInteger(resolved.startId) || resolved.startId < 0) {
    fail(`startId must be a non-negative integer, got ${resolved.startId}`);
  }
  if (!Number.isSafeInteger(resolved.startId + resolved.rows)) fail('startId + rows is too large');
  if (options.startId === undefined && resolved.rows > 1_000_000_000) {
    fail('rows must not exceed 1000000000 per ingest date with the default startId');
  }
  rate('lateRate', resolved.lateRate);
  rate('invalidRate', resolved.invalidRate);
  rate('duplicateRate', resolved.duplicateRate);
  if (resolved.invalidRate + resolved.duplicateRate > 1) fail('invalidRate + duplicateRate must not exceed 1');
  if (resolved.currencies.length === 0) fail('currencies must not be empty');
  for (const c of resolved.currencies) {
    if (!CURRENCY.test(c)) fail(`currency "${c}" is not a code of 3 uppercase letters`);
  }
  const earliest = Date.parse(`${resolved.ingestDate}T00:00:00Z`) - (resolved.spanDays - 1 + MAX_LATE_DAYS) * DAY_MS;
  if (earliest < EARLIEST_MS) fail('spanDays reaches before 1900-01-01');
  return resolved;
}
