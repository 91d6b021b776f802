import * as fc from 'fast-check';
import { nextMonth } from '../../core/calendar';
import { goldFromMonth, goldPlan, type SilverMonths } from '../../core/gold-plan';

const plan = (silver: string[], replaced: string[] = [], latest: string | null = null): SilverMonths => ({
  silver_months: silver,
  replaced_silver_months: replaced,
  latest_silver_month: latest,
});

describe('goldFromMonth (the gold plan from the job counts)', () => {
  test('new months within silver: the earliest of them', () => {
    expect(goldFromMonth(plan(['2024-03', '2024-01'], [], '2024-05'))).toBe('2024-01');
  });

  test('a new month past the latest month also refreshes the months in between', () => {
    expect(goldFromMonth(plan(['2024-05'], [], '2024-02'))).toBe('2024-03');
    expect(goldFromMonth(plan(['2024-03'], [], '2023-12'))).toBe('2024-01'); // across the year
    expect(goldFromMonth(plan(['2024-03'], [], '2024-02'))).toBe('2024-03');
    // an earlier new month still wins
    expect(goldFromMonth(plan(['2023-07', '2024-05'], [], '2024-02'))).toBe('2023-07');
  });

  test('replaced months earlier than the new ones: the earliest replaced month (its balances lose rows)', () => {
    expect(goldFromMonth(plan(['2024-06'], ['2024-03', '2024-05'], '2024-06'))).toBe('2024-03');
    expect(goldFromMonth(plan(['2024-07'], ['2024-03'], '2024-06'))).toBe('2024-03');
    // a rerun without silver rows: only what it removes
    expect(goldFromMonth(plan([], ['2024-06'], '2024-06'))).toBe('2024-06');
  });

  test('silver empty before the run: the earliest new month', () => {
    expect(goldFromMonth(plan(['2024-02', '2023-11'], [], null))).toBe('2023-11');
  });

  test('nothing changed in silver: null', () => {
    expect(goldFromMonth(plan([], [], '2024-06'))).toBeNull();
    expect(goldFromMonth(plan([], [], null))).toBeNull();
  });

  test('property: the earliest month whose balances can change, and never later than one that does', () => {
    const monthArb = fc
      .record({ y: fc.integer({ min: 2022, max: 2025 }), m: fc.integer({ min: 1, max: 12 }) })
      .map(({ y, m }) => `${y}-${String(m).padStart(2, '0')}`);
    fc.assert(
      fc.property(
        fc.array(monthArb, { maxLength: 4 }),
        fc.array(monthArb, { maxLength: 3 }),
        fc.option(monthArb),
        (news, replaced, latestOrNull) => {
          // replaced rows were in silver, so the latest month is at least theirs
          const latest = [...replaced, ...(latestOrNull ? [latestOrNull] : [])].sort().pop() ?? null;
          const from = goldFromMonth(plan(news, replaced, latest));
          const changed = [...news, ...replaced];
          if (changed.length === 0) return expect(from).toBeNull();
          // Every changed month, and every month gold newly carries, is refreshed.
          for (const month of changed) expect(from! <= month).toBe(true);
          const newest = [...news].sort().pop();
          if (latest && newest && newest > latest) expect(from! <= nextMonth(latest)).toBe(true);
          // And no earlier than needed.
          expect([...changed, ...(latest && newest && newest > latest ? [nextMonth(latest)] : [])]).toContain(from);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('goldPlan', () => {
  test("the refresh query's parameter is the first month as an Athena literal; none when nothing changed", () => {
    expect(goldPlan(plan(['2024-03'], ['2024-01'], '2024-03'))).toEqual({
      from_month: '2024-01',
      parameters: ["'2024-01'"],
    });
    expect(goldPlan(plan([], [], '2024-03'))).toEqual({ from_month: null, parameters: [] });
  });
});
