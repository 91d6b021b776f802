import * as fc from 'fast-check';
import { addMonths, monthsBetween, nextMonth } from '../../core/calendar';
import {
  ATHENA_MAX_WRITTEN_PARTITIONS,
  FULL_REBUILD_READ_MONTH,
  GOLD_TAIL_MONTH,
  goldFromMonth,
  goldHorizonBound,
  goldPlan,
  goldRefreshChunks,
  goldRefreshParameters,
  MAX_REFRESH_MONTHS_PER_QUERY,
  type SilverMonths,
} from '../../core/gold-plan';

const plan = (silver: string[], replaced: string[] = [], latest: string | null = null): SilverMonths => ({
  silver_months: silver,
  replaced_silver_months: replaced,
  latest_silver_month: latest,
});

/** A chunk's parameters as Athena literals, from the month the refresh reads from. */
const literals = (readFrom: string, from: string, to: string): string[] =>
  goldRefreshParameters(readFrom, from, to).map((v) => `'${v}'`);

const monthArb = (from: number, to: number): fc.Arbitrary<string> =>
  fc
    .record({ y: fc.integer({ min: from, max: to }), m: fc.integer({ min: 1, max: 12 }) })
    .map(({ y, m }) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`);

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
    const month = monthArb(2022, 2025);
    fc.assert(
      fc.property(
        fc.array(month, { maxLength: 4 }),
        fc.array(month, { maxLength: 3 }),
        fc.option(month),
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

describe('addMonths and monthsBetween (core/calendar)', () => {
  test('month arithmetic across years, both ways, 4-digit years', () => {
    expect(addMonths('2024-01', 0)).toBe('2024-01');
    expect(addMonths('2024-11', 2)).toBe('2025-01');
    expect(addMonths('2024-01', -1)).toBe('2023-12');
    expect(addMonths('2015-01', 98)).toBe('2023-03');
    expect(addMonths('0999-12', 1)).toBe('1000-01');
    expect(monthsBetween('2015-01', '2023-03')).toBe(98);
    expect(monthsBetween('2024-03', '2024-01')).toBe(-2);
  });

  test('property: addMonths and monthsBetween are inverse; nextMonth is addMonths(m, 1)', () => {
    fc.assert(
      fc.property(monthArb(1500, 8400), fc.integer({ min: -5000, max: 5000 }), (month, n) => {
        const later = addMonths(month, n);
        expect(later).toMatch(/^\d{4}-(0[1-9]|1[0-2])$/);
        expect(monthsBetween(month, later)).toBe(n);
        expect(addMonths(month, 1)).toBe(nextMonth(month));
        expect(later > month).toBe(n > 0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('goldPlan', () => {
  test('a normal day: one chunk from the first month through the tail, reading silver from it and gold the month before; parameters Athena literals; none when nothing changed', () => {
    expect(goldPlan(plan(['2024-03'], ['2024-01'], '2024-03'))).toEqual({
      from_month: '2024-01',
      read_from_month: '2024-01',
      chunks: [
        {
          from_month: '2024-01',
          to_month: '9999-12',
          parameters: ["'2023'", "'12'", "'2024-01'", "'2024-01'", "'2024-01'", "'9999-12'"],
        },
      ],
    });
    expect(goldPlan(plan([], [], '2024-03'))).toEqual({ from_month: null, read_from_month: null, chunks: [] });
    expect(goldPlan(plan([], [], null))).toEqual({ from_month: null, read_from_month: null, chunks: [] });
  });

  test('a rerun that leaves the date without silver rows: a full rebuild (silver may end before the first changed month)', () => {
    const { from_month, read_from_month, chunks } = goldPlan(plan([], ['2024-02', '2024-03'], '2024-03'));
    expect([from_month, read_from_month]).toEqual(['2024-02', FULL_REBUILD_READ_MONTH]);
    expect(chunks).toEqual([
      {
        from_month: '2024-02',
        to_month: '9999-12',
        parameters: ["'0000'", "'12'", "'0001-01'", "'0001-01'", "'2024-02'", "'9999-12'"],
      },
    ]);
    // with new rows, silver keeps data from the first changed month on: incremental
    expect(goldPlan(plan(['2024-03'], ['2024-02', '2024-03'], '2024-03')).read_from_month).toBe('2024-02');
  });

  test('parameters: the opening month is the month before the read month, across years', () => {
    expect(goldRefreshParameters('2024-01', '2024-01', '9999-12')).toEqual([
      '2023',
      '12',
      '2024-01',
      '2024-01',
      '2024-01',
      '9999-12',
    ]);
    expect(goldRefreshParameters('2024-07', '2024-09', '2024-10').slice(0, 2)).toEqual(['2024', '06']);
  });

  test('the partition limit: 99 real months per query, the tail counted', () => {
    expect(ATHENA_MAX_WRITTEN_PARTITIONS).toBe(100);
    expect(MAX_REFRESH_MONTHS_PER_QUERY).toBe(99);
    expect(GOLD_TAIL_MONTH).toBe('9999-12');
  });

  test('exactly 99 months to the horizon: still one chunk; 100 months: two', () => {
    // 2016-01 .. 2024-03 is 99 months
    expect(goldPlan(plan(['2016-01'], [], '2024-03')).chunks).toEqual([
      { from_month: '2016-01', to_month: '9999-12', parameters: literals('2016-01', '2016-01', '9999-12') },
    ]);
    // every chunk reads from the refresh's first month
    expect(goldPlan(plan(['2015-12'], [], '2024-03')).chunks).toEqual([
      { from_month: '2015-12', to_month: '2024-02', parameters: literals('2015-12', '2015-12', '2024-02') },
      { from_month: '2024-03', to_month: '9999-12', parameters: literals('2015-12', '2024-03', '9999-12') },
    ]);
  });

  test('a late row 10 years old: chunks of 99 months, the last one through the tail', () => {
    const { from_month, chunks } = goldPlan(plan(['2014-06', '2024-06'], [], '2024-05'));
    expect(from_month).toBe('2014-06');
    expect(chunks.map((c) => [c.from_month, c.to_month])).toEqual([
      ['2014-06', '2022-08'],
      ['2022-09', '9999-12'],
    ]);
  });

  test('the horizon bound is the later of silver before the run and the new rows', () => {
    expect(goldHorizonBound(plan(['2024-07'], [], '2024-05'))).toBe('2024-07');
    expect(goldHorizonBound(plan(['2024-01'], ['2024-05'], '2024-05'))).toBe('2024-05');
    expect(goldHorizonBound(plan(['2024-01', '2023-02'], [], null))).toBe('2024-01');
    expect(goldHorizonBound(plan([], [], null))).toBeNull();
    // inconsistent counts (a horizon before the first month): one chunk, never none
    expect(goldRefreshChunks('2024-05', '2024-01')).toEqual([
      { from_month: '2024-05', to_month: '9999-12', parameters: literals('2024-05', '2024-05', '9999-12') },
    ]);
    expect(goldRefreshChunks('2024-05', null)).toHaveLength(1);
  });

  test('property: contiguous chunks covering the first month through 9999-12, each within the partition limit', () => {
    fc.assert(
      fc.property(
        fc.array(monthArb(1990, 2030), { maxLength: 4 }),
        fc.array(monthArb(1990, 2030), { maxLength: 3 }),
        fc.option(monthArb(1990, 2030)),
        (news, replaced, latestOrNull) => {
          const latest = [...replaced, ...(latestOrNull ? [latestOrNull] : [])].sort().pop() ?? null;
          const counts = plan(news, replaced, latest);
          const { from_month, read_from_month, chunks } = goldPlan(counts);
          expect(from_month).toBe(goldFromMonth(counts));
          if (from_month === null) return expect(chunks).toEqual([]);
          const horizon = [...news, ...(latest ? [latest] : [])].sort().pop()!;
          expect(chunks.length).toBeGreaterThanOrEqual(1);
          // no gap, no overlap: from the first month, each chunk starting right after the previous one
          expect(chunks[0].from_month).toBe(from_month);
          expect(chunks[chunks.length - 1].to_month).toBe('9999-12');
          chunks.forEach((c, i) => {
            expect(c.parameters).toEqual(literals(read_from_month!, c.from_month, c.to_month));
            expect(read_from_month).toBe(news.length > 0 ? from_month : FULL_REBUILD_READ_MONTH);
            expect(c.from_month <= c.to_month).toBe(true);
            if (i > 0) expect(c.from_month).toBe(nextMonth(chunks[i - 1].to_month));
            // the real months it may write: from_month .. min(to_month, horizon), at most 99
            const lastReal = c.to_month < horizon ? c.to_month : horizon;
            const realMonths = Math.max(0, monthsBetween(c.from_month, lastReal) + 1);
            expect(realMonths).toBeLessThanOrEqual(MAX_REFRESH_MONTHS_PER_QUERY);
            const partitions = realMonths + (c.to_month === '9999-12' ? 1 : 0);
            expect(partitions).toBeLessThanOrEqual(ATHENA_MAX_WRITTEN_PARTITIONS);
            // only the last chunk reaches the tail, and every chunk but the last one lies within the horizon
            if (i < chunks.length - 1) {
              expect(c.to_month < horizon).toBe(true);
              expect(monthsBetween(c.from_month, c.to_month) + 1).toBe(MAX_REFRESH_MONTHS_PER_QUERY);
            }
          });
          // as few chunks as the limit allows: one on a normal day, two or more past 99 months
          const months = Math.max(1, monthsBetween(from_month, horizon) + 1);
          expect(chunks).toHaveLength(Math.ceil(months / MAX_REFRESH_MONTHS_PER_QUERY));
          if (months <= MAX_REFRESH_MONTHS_PER_QUERY) expect(chunks).toHaveLength(1);
          if (months >= 121) expect(chunks.length).toBeGreaterThanOrEqual(2);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
