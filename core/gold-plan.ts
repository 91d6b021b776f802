import { addMonths, monthsBetween, nextMonth } from './calendar';

/** The job's counts a date's gold refresh is planned from (core/run-record's JobCounts). */
export interface SilverMonths {
  /** months of the date's new silver rows ('YYYY-MM') */
  readonly silver_months: readonly string[];
  /** months of the silver rows an earlier run of the date published, which the new ones replace */
  readonly replaced_silver_months: readonly string[];
  /** the latest month of silver before the run; null on an empty silver table */
  readonly latest_silver_month: string | null;
}

/**
 * Athena's UNLOAD writes at most this many partitions per query (HIVE_TOO_MANY_OPEN_PARTITIONS
 * beyond); LocalAthena refuses the same.
 */
export const ATHENA_MAX_WRITTEN_PARTITIONS = 100;

/** Gold's open-ended tail partition (year='9999', month='12'), written by the last chunk. */
export const GOLD_TAIL_MONTH = '9999-12';

/** Real months one refresh query may write: the limit, less the tail partition the last chunk also writes. */
export const MAX_REFRESH_MONTHS_PER_QUERY = ATHENA_MAX_WRITTEN_PARTITIONS - 1;

/**
 * The first month a full rebuild reads from: the refresh query then reads all of silver, and the
 * month before it ('0000-12') is no gold partition, so there are no opening balances.
 */
export const FULL_REBUILD_READ_MONTH = '0001-01';

/**
 * One query of a gold refresh (sql/gold_monthly_balances.sql): it writes the gold partitions of the
 * months from `from_month` to `to_month` inclusive ('YYYY-MM'); the last chunk's `to_month` is
 * '9999-12', so it also writes the tail partition.
 */
export interface GoldRefreshChunk {
  readonly from_month: string;
  readonly to_month: string;
  /**
   * the query's ExecutionParameters, Athena literals: the year and month of gold's opening
   * balances (the month before `read_from_month`), `read_from_month` twice, `from_month`, `to_month`
   */
  readonly parameters: string[];
}

/**
 * A date's gold refresh: from which month on, what it reads, and the refresh queries that write
 * it, in month order, contiguous, each within Athena's partition limit. No chunks when silver did
 * not change.
 */
export interface GoldPlan {
  /** the first month whose balances may change ('YYYY-MM'); null when silver did not change */
  readonly from_month: string | null;
  /**
   * the first month of silver the refresh reads ('YYYY-MM'): `from_month` (with gold's balances at
   * the end of the month before it), or {@link FULL_REBUILD_READ_MONTH} for a full rebuild; null
   * when silver did not change
   */
  readonly read_from_month: string | null;
  readonly chunks: GoldRefreshChunk[];
}

/**
 * The first month whose gold balances the run may change: the months of the date's new silver
 * rows and of the rows they replace; and since gold carries every pair up to the latest month of
 * silver, data past that month also creates the months in between, so the refresh then starts
 * right after the previous latest month. Null when neither set has a month.
 */
export function goldFromMonth(counts: SilverMonths): string | null {
  const months = new Set([...counts.silver_months, ...counts.replaced_silver_months]);
  const newest = [...counts.silver_months].sort().pop();
  const latest = counts.latest_silver_month;
  if (latest && newest && newest > latest) months.add(nextMonth(latest));
  return [...months].sort()[0] ?? null;
}

/**
 * The latest month gold can hold after the run: the latest month of silver before it or of its new
 * rows, whichever is later (replacing rows can only make silver's real horizon earlier). Null when
 * both are unknown.
 */
export function goldHorizonBound(counts: SilverMonths): string | null {
  const months = [...counts.silver_months, ...(counts.latest_silver_month ? [counts.latest_silver_month] : [])];
  return months.sort().pop() ?? null;
}

/**
 * Where the refresh from `fromMonth` reads: silver from `fromMonth` on and gold's balances at the end
 * of the month before, unless silver may hold nothing from `fromMonth` on after the run. That can
 * only happen to a rerun that leaves the date without silver rows (new rows lie in `fromMonth` or
 * later); silver's latest month may then fall anywhere before `fromMonth`, which only a read of
 * all of silver finds: a full rebuild.
 */
export function goldReadFromMonth(counts: SilverMonths, fromMonth: string): string {
  return counts.silver_months.length === 0 ? FULL_REBUILD_READ_MONTH : fromMonth;
}

/**
 * The refresh from `fromMonth` on as queries of at most {@link MAX_REFRESH_MONTHS_PER_QUERY} months
 * up to `horizon` each: consecutive ranges from `fromMonth`, the last one open-ended up to
 * '9999-12' (it writes the months up to the horizon and the tail partition). One chunk unless the
 * refresh spans more than 99 months (a late row over 8 years old). Every query reads silver from
 * `readFromMonth` on (default `fromMonth`) and gold's balances at the end of the month before it.
 */
export function goldRefreshChunks(
  fromMonth: string,
  horizon: string | null,
  readFromMonth: string = fromMonth,
): GoldRefreshChunk[] {
  const last = horizon !== null && horizon > fromMonth ? horizon : fromMonth;
  const count = Math.ceil((monthsBetween(fromMonth, last) + 1) / MAX_REFRESH_MONTHS_PER_QUERY);
  return Array.from({ length: count }, (_, i) => {
    const from = addMonths(fromMonth, i * MAX_REFRESH_MONTHS_PER_QUERY);
    const to = i === count - 1 ? GOLD_TAIL_MONTH : addMonths(from, MAX_REFRESH_MONTHS_PER_QUERY - 1);
    const parameters = goldRefreshParameters(readFromMonth, from, to).map((v) => `'${v}'`);
    return { from_month: from, to_month: to, parameters };
  });
}

/**
 * The values of sql/gold_monthly_balances.sql's parameters, in order, for a query reading silver from
 * `readFromMonth` on (and gold's balances at the end of the month before) and writing the months
 * `fromMonth` .. `toMonth`.
 */
export function goldRefreshParameters(readFromMonth: string, fromMonth: string, toMonth: string): string[] {
  const [openingYear, openingMonth] = addMonths(readFromMonth, -1).split('-');
  return [openingYear, openingMonth, readFromMonth, readFromMonth, fromMonth, toMonth];
}

export function goldPlan(counts: SilverMonths): GoldPlan {
  const fromMonth = goldFromMonth(counts);
  if (fromMonth === null) return { from_month: null, read_from_month: null, chunks: [] };
  const readFrom = goldReadFromMonth(counts, fromMonth);
  return {
    from_month: fromMonth,
    read_from_month: readFrom,
    chunks: goldRefreshChunks(fromMonth, goldHorizonBound(counts), readFrom),
  };
}
