/**
 * sql/gold_monthly_balances.sql and sql/balance_history.sql, run on LocalAthena (DuckDB) against
 * silver Parquet fixtures written by DuckDB: case study, carry-forward (within a quarter and, through
 * the gold tail partition year=9999/month=12, to quarters after the last month with data), partition
 * pruning and a property test against an independent TypeScript computation of SPEC section 4.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { formatRows } from '../../cli/format';
import { loadSql } from '../../core/sql-files';
import { quarterParameters } from '../../runner/local/local-athena';
import { CASE_STUDY, CASE_STUDY_Q1_HISTORY } from '../helpers/case-study';
import { tempDirs } from '../helpers/lake';
import { SilverTx, balanceHistory, readSql, refreshGold, toCsv, withGold, writeSilver } from '../helpers/sql-lake';

const newRoot = tempDirs('txlake-sql-');

async function run(txs: readonly SilverTx[], quarter: string, fromMonth = '2000-01'): Promise<(string | null)[][]> {
  const root = newRoot();
  await writeSilver(path.join(root, 'silver', 'transactions'), txs);
  const gold = await refreshGold(root, fromMonth);
  return balanceHistory(gold, quarter);
}

const tx = (id: string, account: string, amount: string, ts: string, currency = 'EUR'): SilverTx => ({
  id,
  account,
  currency,
  amount,
  ts,
});

describe('gold_monthly_balances.sql', () => {
  test('writes one row per pair and month from the first month to the latest silver month, plus the tail partition, Hive-partitioned', async () => {
    const root = newRoot();
    await writeSilver(path.join(root, 'silver', 'transactions'), [
      ...CASE_STUDY,
      tx('T5', 'ACC003', '10.00', '2024-05-01T00:00:00.000Z', 'USD'),
    ]);
    const gold = await refreshGold(root, '2024-02');
    const partitions = fs
      .readdirSync(gold)
      .flatMap((y) => fs.readdirSync(path.join(gold, y)).map((m) => `${y}/${m}`))
      .sort();
    expect(partitions).toEqual([
      'year=2024/month=02',
      'year=2024/month=03',
      'year=2024/month=04',
      'year=2024/month=05',
      'year=9999/month=12',
    ]);
    const rows = await withGold(gold, async (athena) => {
      const r = await athena.execute(
        'SELECT account_id, currency, month_start, balance, year, month FROM gold_monthly_balances ORDER BY 1, 2, 3, 5',
      );
      expect(r.columns).toEqual(['account_id', 'currency', 'month_start', 'balance', 'year', 'month']);
      return r.rows;
    });
    expect(toCsv(rows)).toEqual([
      // January is before the first month to recompute: not written, but its amounts are in the balances
      'ACC001,EUR,2024-02-01,326.00,2024,02',
      'ACC001,EUR,2024-03-01,326.00,2024,03',
      'ACC001,EUR,2024-04-01,326.00,2024,04',
      'ACC001,EUR,2024-05-01,326.00,2024,05',
      // tail: month_start = the horizon (latest month with data), balance at the horizon
      'ACC001,EUR,2024-05-01,326.00,9999,12',
      'ACC002,EUR,2024-02-01,-25.50,2024,02',
      'ACC002,EUR,2024-03-01,-125.50,2024,03',
      'ACC002,EUR,2024-04-01,-125.50,2024,04',
      'ACC002,EUR,2024-05-01,-125.50,2024,05',
      'ACC002,EUR,2024-05-01,-125.50,9999,12',
      'ACC003,USD,2024-05-01,10.00,2024,05',
      'ACC003,USD,2024-05-01,10.00,9999,12',
    ]);
  });

  test('the tail partition is written whatever the first month to recompute, even after the horizon', async () => {
    const root = newRoot();
    await writeSilver(path.join(root, 'silver', 'transactions'), CASE_STUDY);
    const gold = await refreshGold(root, '2024-07');
    expect(fs.readdirSync(gold)).toEqual(['year=9999']);
    expect(fs.readdirSync(path.join(gold, 'year=9999'))).toEqual(['month=12']);
    const rows = await withGold(gold, async (athena) => {
      const r = await athena.execute('SELECT * FROM gold_monthly_balances ORDER BY 1, 2');
      return r.rows;
    });
    expect(toCsv(rows)).toEqual(['ACC001,EUR,2024-03-01,326.00,9999,12', 'ACC002,EUR,2024-03-01,-125.50,9999,12']);
  });

  test('parameter 2 bounds the months written (inclusive); only a range through 9999-12 writes the tail', async () => {
    const root = newRoot();
    await writeSilver(path.join(root, 'silver', 'transactions'), CASE_STUDY);
    const partitions = (dir: string): string[] =>
      fs
        .readdirSync(dir)
        .flatMap((y) => fs.readdirSync(path.join(dir, y)).map((m) => `${y}/${m}`))
        .sort();
    const staging = path.join(root, 'staging');
    const first = await refreshGold(root, '2024-01', staging, { toMonth: '2024-02', target: 'gold-refresh/r/a/' });
    const last = await refreshGold(root, '2024-03', staging, { toMonth: '9999-12', target: 'gold-refresh/r/b/' });
    expect(partitions(first)).toEqual(['year=2024/month=01', 'year=2024/month=02']);
    expect(partitions(last)).toEqual(['year=2024/month=03', 'year=9999/month=12']);
    // together, the same rows as the refresh in one query
    const whole = await refreshGold(root, '2024-01', staging, { target: 'gold-refresh/whole/' });
    const rows = (dir: string): Promise<(string | null)[][]> =>
      withGold(dir, async (athena) => (await athena.execute('SELECT * FROM gold_monthly_balances ORDER BY ALL')).rows);
    expect(await rows(path.join(staging, 'gold-refresh', 'r'))).toEqual(await rows(whole));
    // a range after the horizon, or before the first month: nothing
    const none = await refreshGold(root, '2024-04', staging, { toMonth: '2024-12', target: 'gold-refresh/none/' });
    expect(fs.existsSync(none) ? partitions(none) : []).toEqual([]);
  });

  test('once deployed, its text holds no brace but the target placeholder and no backslash (States.Format)', () => {
    const sql = loadSql('gold_monthly_balances', { STAGING_BUCKET: 'bucket', GOLD_REFRESH_TARGET: '{}' });
    expect(sql.match(/[{}\\]/g)).toEqual(['{', '}']);
    expect(sql).toContain("TO 's3://bucket/{}'");
    expect(sql.match(/\?/g)).toHaveLength(6);
  });

  test('empty silver: UNLOAD writes nothing and the history is empty', async () => {
    expect(await run([], '2024-Q1')).toEqual([]);
  });
});

describe('balance_history.sql', () => {
  test('case study 2024-Q1', async () => {
    const rows = await run(CASE_STUDY, '2024-Q1');
    expect(toCsv(rows)).toEqual(CASE_STUDY_Q1_HISTORY);
    expect(rows[3][3]).toBeNull();
  });

  test('data ending mid-quarter carries the last balance forward; pairs starting after the quarter are left out', async () => {
    const rows = await run(CASE_STUDY.slice(0, 3), '2024-Q1');
    expect(toCsv(rows)).toEqual([
      'ACC001,EUR,2024-01,326.00',
      'ACC001,EUR,2024-02,326.00',
      'ACC001,EUR,2024-03,326.00',
      'ACC002,EUR,2024-01,',
      'ACC002,EUR,2024-02,-25.50',
      'ACC002,EUR,2024-03,-25.50',
    ]);
    const later = await run([...CASE_STUDY, tx('T9', 'ACC000', '1.00', '2024-04-01T00:00:00.000Z')], '2024-Q1');
    expect(later.map((r) => r[0])).not.toContain('ACC000');
    expect(later).toHaveLength(6);
  });

  test('data only in 2024-Q1: 2024-Q3 and 2025-Q1 carry the balances at the last month with data forward', async () => {
    const carried = (months: string[]): string[] => [
      ...months.map((m) => `ACC001,EUR,${m},326.00`),
      ...months.map((m) => `ACC002,EUR,${m},-125.50`),
    ];
    for (const fromMonth of ['2000-01', '2024-03', '2024-07']) {
      expect(toCsv(await run(CASE_STUDY, '2024-Q3', fromMonth))).toEqual(carried(['2024-07', '2024-08', '2024-09']));
      expect(toCsv(await run(CASE_STUDY, '2025-Q1', fromMonth))).toEqual(carried(['2025-01', '2025-02', '2025-03']));
    }
    // the quarter right after the data, and one before it (no transaction before its end: empty)
    expect(toCsv(await run(CASE_STUDY, '2024-Q2'))).toEqual(carried(['2024-04', '2024-05', '2024-06']));
    expect(await run(CASE_STUDY, '2023-Q4')).toEqual([]);
  });

  test('month boundaries are UTC instants: 2024-01-31T23:59:59.999Z is January, 2024-02-01T00:00:00.000Z is February', async () => {
    const rows = await run(
      [
        tx('B1', 'ACC001', '1.00', '2024-01-31T23:59:59.999Z'),
        tx('B2', 'ACC001', '2.00', '2024-02-01T00:00:00.000Z'),
        tx('B3', 'ACC001', '4.00', '2024-02-29T23:59:59.999Z'),
        tx('B4', 'ACC001', '8.00', '2024-03-01T00:00:00.000Z'),
        tx('B5', 'ACC001', '16.00', '2024-04-01T00:00:00.000Z'),
      ],
      '2024-Q1',
    );
    expect(toCsv(rows)).toEqual(['ACC001,EUR,2024-01,1.00', 'ACC001,EUR,2024-02,7.00', 'ACC001,EUR,2024-03,15.00']);
  });

  test('reads only the quarter partitions of gold plus the tail partition, by design (EXPLAIN ANALYZE and an unreadable file elsewhere)', async () => {
    const root = newRoot();
    await writeSilver(path.join(root, 'silver', 'transactions'), [
      ...CASE_STUDY,
      tx('T0', 'ACC001', '1.00', '2023-11-30T00:00:00.000Z'),
      tx('T5', 'ACC003', '10.00', '2024-06-01T00:00:00.000Z', 'USD'),
    ]);
    const gold = await refreshGold(root, '2000-01');
    // gold partitions: 2023-11 .. 2024-06 = 8 files, plus the tail partition year=9999/month=12 = 9 files;
    // the query reads the quarter's 3 and the tail (by design: it carries balances past the horizon).
    const profile = await withGold(gold, (athena) =>
      athena.execute(`EXPLAIN ANALYZE ${readSql('balance_history.sql')}`, quarterParameters('2024-Q1')),
    );
    // the plan is drawn in boxes that wrap lines: keep the words only
    const text = profile.rows
      .map((r) => r.join('\n'))
      .join('\n')
      .replace(/[│┌┐└┘├┤┬┴┼─\s]+/g, ' ');
    expect(text).toMatch(/Scanning Files: 4\/(4|9)\b/);
    expect(text).toMatch(/Total Files Read: 4\b/);
    // An unreadable file in partitions outside the quarter does not break the query. (DuckDB binds the
    // view's schema from the first file of the table, so the corrupt files are put in later partitions.)
    fs.writeFileSync(path.join(gold, 'year=2024', 'month=04', 'data_0.parquet'), 'not parquet');
    fs.mkdirSync(path.join(gold, 'year=2025', 'month=01'), { recursive: true });
    fs.writeFileSync(path.join(gold, 'year=2025', 'month=01', 'garbage.parquet'), 'not parquet either');
    const rows = await balanceHistory(gold, '2024-Q1');
    expect(toCsv(rows)).toEqual([
      'ACC001,EUR,2024-01,327.00',
      'ACC001,EUR,2024-02,327.00',
      'ACC001,EUR,2024-03,327.00',
      'ACC002,EUR,2024-01,',
      'ACC002,EUR,2024-02,-25.50',
      'ACC002,EUR,2024-03,-125.50',
    ]);
    // ... while a query over the whole table does read them
    await expect(
      withGold(gold, (athena) => athena.execute('SELECT count(*) FROM gold_monthly_balances')),
    ).rejects.toThrow(/parquet/i);
    // ... and so does the history once the tail partition is unreadable: it is read by design
    fs.writeFileSync(path.join(gold, 'year=9999', 'month=12', 'data_0.parquet'), 'not parquet');
    await expect(balanceHistory(gold, '2024-Q1')).rejects.toThrow(/parquet/i);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: balance_history.sql == an independent TypeScript computation of SPEC section 4.
// ---------------------------------------------------------------------------------------------

const MONTH_MS_BOUNDARIES = [
  '2023-10-01T00:00:00.000Z',
  '2023-12-31T23:59:59.999Z',
  '2024-01-01T00:00:00.000Z',
  '2024-01-31T23:59:59.999Z',
  '2024-02-01T00:00:00.000Z',
  '2024-02-29T00:00:00.000Z',
  '2024-02-29T12:34:56.789Z',
  '2024-02-29T23:59:59.999Z',
  '2024-03-01T00:00:00.000Z',
  '2024-03-31T23:59:59.999Z',
  '2024-04-01T00:00:00.000Z',
  '2024-06-30T23:59:59.999Z',
];
const RANGE_START = Date.UTC(2023, 9, 1); // 2023-10-01
const RANGE_END = Date.UTC(2024, 6, 1) - 1; // 2024-06-30T23:59:59.999Z

const centsToText = (cents: bigint): string => {
  const abs = cents < 0n ? -cents : cents;
  return `${cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
};

const byteCompare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

interface GenTx {
  readonly account: string;
  readonly currency: string;
  readonly cents: bigint;
  readonly ms: number;
}

/** SPEC section 4, computed directly from the transactions. */
function expectedHistory(txs: readonly GenTx[], quarter: string): string[] {
  const [y, q] = quarter.split('-Q').map(Number);
  const months = [0, 1, 2].map((i) => (q - 1) * 3 + i); // 0-based month index
  const nextMonthStart = (m: number): number => Date.UTC(y, m + 1, 1);
  const quarterEnd = nextMonthStart(months[2]);
  // pairs with any transaction before the end of the quarter (also when the quarter starts after the
  // last month with data: their balances are carried forward)
  const pairs = new Map<string, [string, string]>();
  for (const t of txs)
    if (t.ms < quarterEnd) pairs.set(JSON.stringify([t.account, t.currency]), [t.account, t.currency]);
  const rows: [string, string, string, string][] = [];
  for (const [account, currency] of pairs.values()) {
    for (const m of months) {
      const before = txs.filter((t) => t.account === account && t.currency === currency && t.ms < nextMonthStart(m));
      const balance = before.length === 0 ? '' : centsToText(before.reduce((s, t) => s + t.cents, 0n));
      rows.push([account, currency, `${y}-${String(m + 1).padStart(2, '0')}`, balance]);
    }
  }
  rows.sort((a, b) => byteCompare(a[0], b[0]) || byteCompare(a[1], b[1]) || byteCompare(a[2], b[2]));
  return rows.map((r) => r.join(','));
}

const genTx: fc.Arbitrary<GenTx> = fc.record({
  account: fc.constantFrom('ACC001', 'ACC002', 'acc001', 'ACC10', 'B-7', 'Émile'),
  currency: fc.constantFrom('EUR', 'USD', 'GBP'),
  cents: fc.oneof(
    fc.bigInt({ min: -100_000n, max: 100_000n }),
    fc.bigInt({ min: -(10n ** 16n - 1n), max: 10n ** 16n - 1n }), // up to 14 integer digits
  ),
  ms: fc.oneof(
    fc.constantFrom(...MONTH_MS_BOUNDARIES.map((s) => Date.parse(s))),
    fc.integer({ min: RANGE_START, max: RANGE_END }),
  ),
});

describe('balance_history.sql property', () => {
  test('matches an independent computation of SPEC section 4', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(genTx, { minLength: 0, maxLength: 30 }),
        fc.constantFrom('2023-Q4', '2024-Q1', '2024-Q2', '2024-Q3', '2025-Q1'), // the data ends in 2024-Q2
        fc.boolean(),
        async (gen, quarter, incremental) => {
          const txs: SilverTx[] = gen.map((t, i) => ({
            id: `T${i}`,
            account: t.account,
            currency: t.currency,
            amount: centsToText(t.cents),
            ts: new Date(t.ms).toISOString(),
          }));
          // incremental: gold recomputed from the quarter's first month only (opening balances still
          // come from the earlier silver data)
          const fromMonth = incremental ? quarterParameters(quarter).slice(0, 2).join('-') : '2000-01';
          const rows = await run(txs, quarter, fromMonth);
          expect(toCsv(rows)).toEqual(expectedHistory(gen, quarter));
        },
      ),
      { numRuns: 100, seed: Number(process.env.FC_SEED ?? 20240229) },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// As the CLI prints it: the CSV that DuckDB writes (LocalAthena executeCsv) is formatRows' text.
// ---------------------------------------------------------------------------------------------

describe('balance_history.sql as CSV (LocalAthena executeCsv, what `txlake balance-history` prints)', () => {
  test('is the CSV of its rows (cli/format.ts formatRows), byte for byte, whatever the account ids', async () => {
    const csvTx = fc.record({
      account: fc.constantFrom('ACC001', 'A,1', 'Q"2', "it's", 'l\nm', 'r\rs', '', ' sp ', 'Émile'),
      currency: fc.constantFrom('EUR', 'USD'),
      cents: fc.bigInt({ min: -(10n ** 16n - 1n), max: 10n ** 16n - 1n }),
      ms: fc.integer({ min: RANGE_START, max: RANGE_END }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(csvTx, { minLength: 0, maxLength: 20 }),
        fc.constantFrom('2023-Q4', '2024-Q1', '2024-Q3'),
        async (gen, quarter) => {
          const root = newRoot();
          await writeSilver(
            path.join(root, 'silver', 'transactions'),
            gen.map((t, i) => ({ ...t, id: `T${i}`, amount: centsToText(t.cents), ts: new Date(t.ms).toISOString() })),
          );
          const gold = await refreshGold(root, '2000-01');
          await withGold(gold, async (athena) => {
            const sql = readSql('balance_history.sql');
            const parameters = quarterParameters(quarter);
            const result = await athena.execute(sql, parameters);
            expect(await athena.executeCsv(sql, parameters)).toBe(formatRows(result.columns, result.rows, false));
          });
        },
      ),
      { numRuns: 30, seed: Number(process.env.FC_SEED ?? 20240229) },
    );
  });
});
