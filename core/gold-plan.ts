import { nextMonth } from './calendar';

/** The job's counts a date's gold refresh is planned from (core/run-record's JobCounts). */
export interface SilverMonths {
  /** months of the date's new silver rows ('YYYY-MM') */
  readonly silver_months: readonly string[];
  /** months of the silver rows an earlier run of the date published, which the new ones replace */
  readonly replaced_silver_months: readonly string[];
  /** the latest month of silver before the run; null on an empty silver table */
  readonly latest_silver_month: string | null;
}

/** A date's gold refresh: from which month on, and the refresh query's parameters (Athena literals). */
export interface GoldPlan {
  /** the first month whose balances may change ('YYYY-MM'); null when silver did not change */
  readonly from_month: string | null;
  readonly parameters: string[];
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

export function goldPlan(counts: SilverMonths): GoldPlan {
  const fromMonth = goldFromMonth(counts);
  return { from_month: fromMonth, parameters: fromMonth ? [`'${fromMonth}'`] : [] };
}
