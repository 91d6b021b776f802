/** A reporting quarter `YYYY-Qn`. */
export interface Quarter {
  readonly year: number;
  readonly quarter: 1 | 2 | 3 | 4;
  /** The quarter's three months as 'YYYY-MM'. */
  readonly months: [string, string, string];
}

const QUARTER = /^(\d{4})-Q([1-4])$/;

/** Parses `YYYY-Qn`; throws a one-line message for anything else. */
export function parseQuarter(value: string): Quarter {
  const match = QUARTER.exec(value);
  if (!match) throw new Error(`invalid quarter "${value}": expected YYYY-Qn with n in 1..4, e.g. 2024-Q1`);
  const year = Number(match[1]);
  const quarter = Number(match[2]) as Quarter['quarter'];
  const month = (i: number): string => `${match[1]}-${String((quarter - 1) * 3 + i).padStart(2, '0')}`;
  return { year, quarter, months: [month(1), month(2), month(3)] };
}

/** An Athena execution parameter for a string value: a quoted SQL literal. */
export const athenaLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Reads an Athena string literal back (`'2024'` → `2024`); other literals are returned as is. */
export function fromAthenaLiteral(value: string): string {
  return /^'.*'$/s.test(value) ? value.slice(1, -1).replace(/''/g, "'") : value;
}

/**
 * Values of sql/balance_history.sql's positional parameters for a quarter, in order:
 * (year, month) of each of the three months, then the year and the three months again for the
 * partition filter. E.g. 2024-Q1 → 2024, 01, 2024, 02, 2024, 03, 2024, 01, 02, 03.
 */
export function balanceHistoryValues(quarter: string): string[] {
  const q = parseQuarter(quarter);
  const [year, ...mm] = [String(q.year), ...q.months.map((m) => m.slice(5))];
  return [year, mm[0], year, mm[1], year, mm[2], year, ...mm];
}

/** The same, as Athena execution parameters (string literals). */
export function balanceHistoryParameters(quarter: string): string[] {
  return balanceHistoryValues(quarter).map(athenaLiteral);
}
