/**
 * The lake on Iceberg (SPEC §1, §2, §4): outside readers see exactly what the CLI reported, the
 * balance history can be read as of an instant, readers never see a date half published, and two
 * executions never change the lake at once.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REQUIRED_COLUMNS } from '../../core/contract';
import { icebergJob, lakeNamespace, localJobRun } from '../../runner/local/local-catalog';
import { resolvePipeline, synthesizeTemplates } from '../../runner/local/template-resolver';
import { expectUsageError, ROOT, type RunSummary, sharedLocalGlue, startCli, txlake } from '../helpers/cli';
import { readIcebergTables } from '../helpers/iceberg';
import { csvFile, landFiles, tempDir, tempLake } from '../helpers/lake';
import { lakeCatalog, snapshotIds, tableRows, tablesContent } from '../helpers/lake-tables';

jest.setTimeout(600_000);

/** A day's file: `n` transactions of two accounts, one invalid currency, one exact duplicate. */
function dayFile(date: string, n: number, amount = '10.00'): string {
  const rows: string[][] = [];
  for (let i = 0; i < n; i += 1) {
    rows.push([`T-${date}-${i}`, i % 2 === 0 ? 'ACC1' : 'ACC2', amount, 'EUR', `${date}T0${i % 10}:00:00Z`]);
  }
  rows.push([`T-${date}-bad`, 'ACC1', '1.00', 'XXX', `${date}T12:00:00Z`]);
  rows.push(rows[0]);
  return csvFile(REQUIRED_COLUMNS, rows);
}

const runs = (stdout: string): RunSummary['runs'] => (JSON.parse(stdout) as RunSummary).runs;

describe('outside readers and time travel', () => {
  const lake = tempLake();
  let first: RunSummary['runs'];

  beforeAll(async () => {
    landFiles(lake, '2024-01-16', { 'a.csv': dayFile('2024-01-16', 20) });
    landFiles(lake, '2024-02-15', { 'b.csv': dayFile('2024-02-15', 20) });
    const backfill = await txlake(['backfill', '--from', '2024-01-16', '--to', '2024-02-15', '--lake', lake, '--json']);
    expect(backfill.code).toBe(0);
    first = runs(backfill.stdout).filter((r) => r.status !== 'NO_DATA');
  });

  test('pyiceberg (SqlCatalog on <lake>/catalog.db) reads every table with the rows and counts the CLI reported', async () => {
    expect(first.map((r) => [r.ingest_date, r.status])).toEqual([
      ['2024-01-16', 'SUCCEEDED'],
      ['2024-02-15', 'SUCCEEDED'],
    ]);
    const tables = await readIcebergTables(lake);
    expect(Object.keys(tables).sort()).toEqual([
      'condemned_transactions',
      'gold_monthly_balances',
      'quarantine_transactions',
      'silver_transactions',
    ]);
    const byDate = (rows: Record<string, unknown>[]) =>
      Object.fromEntries(first.map((r) => [r.ingest_date, rows.filter((x) => x.ingest_date === r.ingest_date).length]));
    expect(byDate(tables.silver_transactions.rows)).toEqual({ '2024-01-16': 20, '2024-02-15': 20 });
    for (const r of first) {
      expect(byDate(tables.silver_transactions.rows)[r.ingest_date]).toBe(r.rows.silver);
      expect(byDate(tables.quarantine_transactions.rows)[r.ingest_date]).toBe(r.rows.quarantined);
      expect(byDate(tables.condemned_transactions.rows)[r.ingest_date]).toBe(r.rows.condemned);
    }
    const quarantined = tables.quarantine_transactions.rows.map((x) => [x.transaction_id, x.error_codes]);
    expect(quarantined).toEqual([
      ['T-2024-01-16-bad', ['INVALID_CURRENCY']],
      ['T-2024-02-15-bad', ['INVALID_CURRENCY']],
    ]);
    expect(tables.condemned_transactions.rows.map((x) => [x.transaction_id, x.error_codes])).toEqual([
      ['T-2024-01-16-0', ['DUPLICATE_ROW']],
      ['T-2024-02-15-0', ['DUPLICATE_ROW']],
    ]);
    // Silver's values as written: millisecond instants in UTC, decimals with their scale.
    expect(tables.silver_transactions.rows.find((x) => x.transaction_id === 'T-2024-02-15-3')).toMatchObject({
      customer_id: 'ACC2',
      amount: '10.00',
      currency: 'EUR',
      transaction_ts: '2024-02-15T03:00:00.000Z',
      source_file: 'b.csv',
      source_record: 4,
    });
    // Gold: January and February for both accounts, plus the tail (year 9999).
    expect(tables.gold_monthly_balances.rows.map((g) => [g.account_id, g.year, g.month, g.balance]).sort()).toEqual([
      ['ACC1', '2024', '01', '100.00'],
      ['ACC1', '2024', '02', '200.00'],
      ['ACC1', '9999', '12', '200.00'],
      ['ACC2', '2024', '01', '100.00'],
      ['ACC2', '2024', '02', '200.00'],
      ['ACC2', '9999', '12', '200.00'],
    ]);
    // The run records name the snapshot each table had after the date's publish; the last one is current.
    expect(await snapshotIds(lake)).toEqual(
      Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.snapshot_id])),
    );
  });

  test('Spark reads the same rows through the same catalog', async () => {
    const pipeline = resolvePipeline(synthesizeTemplates({ root: ROOT }));
    const job = icebergJob(pipeline);
    const out = path.join(tempDir('txlake-spark-read-'), 'counts.json');
    const { namespace } = lakeNamespace(pipeline);
    await sharedLocalGlue().run({
      script: 'test/fixtures/python/spark_count_tables.py',
      packagePath: job.packagePath,
      arguments: { '--catalog_name': 'txlake', '--database': namespace, '--out': out },
      sparkConf: localJobRun(job, lake).sparkConf,
    });
    const spark = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
    const tables = await readIcebergTables(lake);
    expect(spark).toEqual(Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.rows.length])));
  });

  test('--as-of reads gold as it stood: before and after a rerun of a date give the two histories', async () => {
    const history = async (extra: string[] = []) => {
      const result = await txlake(['balance-history', '--quarter', '2024-Q1', '--lake', lake, ...extra]);
      expect(result.code).toBe(0);
      return result.stdout;
    };
    const before = await history();
    const instant = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A second file for February 15 changes its balances: the rerun replaces the date as a whole.
    landFiles(lake, '2024-02-15', {
      'c.csv': csvFile(REQUIRED_COLUMNS, [['T-LATE-1', 'ACC1', '-50.00', 'EUR', '2024-02-20T10:00:00Z']]),
    });
    const rerun = await txlake(['run', '--date', '2024-02-15', '--lake', lake, '--json']);
    expect(rerun.code).toBe(0);
    const after = await history();
    expect(after).not.toEqual(before);
    expect(after).toContain('ACC1,EUR,2024-02,150.00');
    expect(before).toContain('ACC1,EUR,2024-02,200.00');
    // As of the instant before the rerun: the earlier history, exactly; as of now: the new one.
    expect(await history(['--as-of', instant.toISOString()])).toEqual(before);
    expect(await history(['--as-of', new Date().toISOString()])).toEqual(after);
    // Before gold's first snapshot there is no state to read: a usage error.
    expectUsageError(
      await txlake(['balance-history', '--quarter', '2024-Q1', '--lake', lake, '--as-of', '2000-01-01T00:00:00Z']),
      /before the first retained snapshot/,
    );
  });
});

test('maintain keeps what readers see; the retained snapshots still answer --as-of', async () => {
  const lake = tempLake();
  landFiles(lake, '2024-05-01', { 'm.csv': dayFile('2024-05-01', 20) });
  expect((await txlake(['run', '--date', '2024-05-01', '--lake', lake])).code).toBe(0);
  const instant = new Date();
  landFiles(lake, '2024-05-02', { 'n.csv': dayFile('2024-05-02', 20) });
  expect((await txlake(['run', '--date', '2024-05-02', '--lake', lake])).code).toBe(0);
  const content = await tablesContent(lake);
  const asOf = await txlake([
    'balance-history',
    '--quarter',
    '2024-Q2',
    '--lake',
    lake,
    '--as-of',
    instant.toISOString(),
  ]);
  const maintained = await txlake(['maintain', '--lake', lake, '--json']);
  expect(maintained.code).toBe(0);
  const summary = JSON.parse(maintained.stdout) as { tables: Record<string, { snapshots: number }> };
  expect(Object.keys(summary.tables).sort()).toEqual(Object.keys(content).sort());
  // Nothing is older than the 30-day retention: every snapshot stays, and so does every row.
  expect(await tablesContent(lake)).toEqual(content);
  expect(
    await txlake(['balance-history', '--quarter', '2024-Q2', '--lake', lake, '--as-of', instant.toISOString()]),
  ).toEqual(asOf);
});

describe('readers see each table before or after a date, never in between', () => {
  const lake = tempLake();
  const dates = ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04'];
  const perDate = 30;
  const silverStates: string[] = [];
  const histories: string[] = [];

  beforeAll(async () => {
    for (const date of dates) landFiles(lake, date, { 'd.csv': dayFile(date, perDate) });
    const backfill = startCli(['backfill', '--from', dates[0], '--to', dates[dates.length - 1], '--lake', lake]);
    let done = false;
    void backfill.closed.then(() => (done = true));
    while (!done) {
      const counts = await tableRows(lake, 'silver_transactions', {
        columns: 'CAST(ingest_date AS VARCHAR) AS d, count(*) AS n',
        where: 'true GROUP BY ingest_date',
      }).catch(() => undefined); // the tables may not exist yet
      if (counts) silverStates.push(JSON.stringify(counts));
      const history = await txlake(['balance-history', '--quarter', '2024-Q1', '--lake', lake]);
      expect(history.code).toBe(0);
      histories.push(history.stdout);
      // Polls a few times a second: often enough to see every commit, leaving the run its CPU.
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(await backfill.closed).toBe(0);
  });

  test('every observation of silver is one of the committed states: dates 1..k, each complete', () => {
    const committed = new Set(
      dates.map((_, k) => JSON.stringify(dates.slice(0, k + 1).map((d) => ({ d, n: String(perDate) })))),
    );
    committed.add('[]');
    const seen = new Set(silverStates);
    for (const state of seen) expect(committed).toContain(state);
    // The polls saw the run in progress, not only its end.
    console.log(`reader isolation: ${silverStates.length} silver polls, ${seen.size} distinct committed states seen`);
    expect(silverStates.length).toBeGreaterThan(3);
  });

  test('every balance history read during the backfill is the history of one of gold’s snapshots', async () => {
    const gold = await lakeCatalog(lake).loadTable('gold_monthly_balances');
    const asOf = new Set<string>(['account_id,currency,month,balance\n']);
    for (const snapshot of gold.snapshotLog) {
      const result = await txlake([
        'balance-history',
        '--quarter',
        '2024-Q1',
        '--lake',
        lake,
        '--as-of',
        new Date(snapshot.timestampMs).toISOString(),
      ]);
      asOf.add(result.stdout);
    }
    const seen = new Set(histories);
    for (const history of seen) expect(asOf).toContain(history);
    console.log(`reader isolation: ${histories.length} balance-history reads, ${seen.size} distinct states seen`);
  });
});

describe('two executions started at once on one lake', () => {
  test('one ends FAILED with LAKE_BUSY having changed nothing; the lake equals running them one after the other', async () => {
    const lake = tempLake();
    landFiles(lake, '2024-04-01', { 'x.csv': dayFile('2024-04-01', 10) });
    landFiles(lake, '2024-04-02', { 'y.csv': dayFile('2024-04-02', 10, '7.50') });
    const a = startCli(['run', '--date', '2024-04-01', '--lake', lake, '--json']);
    const b = startCli(['run', '--date', '2024-04-02', '--lake', lake, '--json']);
    const codes = await Promise.all([a.closed, b.closed]);
    const outcomes = [a, b].map((p) => runs(p.stdout()));
    const busy = outcomes.findIndex((o) => o.some((r) => r.error === 'LAKE_BUSY'));
    if (busy >= 0) {
      // The refused one: FAILED, LAKE_BUSY, exit 1; the other: SUCCEEDED. Then the refused date again.
      expect(codes[busy]).toBe(1);
      expect(outcomes[busy].map((r) => [r.status, r.error])).toEqual([['FAILED', 'LAKE_BUSY']]);
      expect(codes[1 - busy]).toBe(0);
      const again = await txlake(['run', '--date', busy === 0 ? '2024-04-01' : '2024-04-02', '--lake', lake]);
      expect(again.code).toBe(0);
    } else {
      // Serialised: both succeeded.
      expect(codes).toEqual([0, 0]);
    }
    const sequential = tempLake();
    landFiles(sequential, '2024-04-01', { 'x.csv': dayFile('2024-04-01', 10) });
    landFiles(sequential, '2024-04-02', { 'y.csv': dayFile('2024-04-02', 10, '7.50') });
    expect((await txlake(['backfill', '--from', '2024-04-01', '--to', '2024-04-02', '--lake', sequential])).code).toBe(
      0,
    );
    expect(await tablesContent(lake)).toEqual(await tablesContent(sequential));
    console.log(`concurrent executions: ${busy >= 0 ? 'one refused with LAKE_BUSY' : 'serialised'}`);
  });
});
