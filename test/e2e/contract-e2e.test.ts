import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import rowVectors from '../../contract/row-vectors.json';
import { CONTRACT, REQUIRED_COLUMNS } from '../../core/contract';
import { type RunSummary, startCli, txlake } from '../helpers/cli';
import { csvFile, landFiles, tempLake } from '../helpers/lake';
import { duck } from '../helpers/lake-state';
import {
  lakeCatalog,
  publishedContent,
  publishedState,
  tableRows,
  tableScan,
  type TableName,
} from '../helpers/lake-tables';

interface Vector {
  name: string;
  header: string[];
  row: string[];
  codes: string[];
  destination: 'silver' | 'quarantine';
}
const vectors = rowVectors as Vector[];
const STD = REQUIRED_COLUMNS;
const ts = '2024-01-10T10:00:00Z';

/** Writes files into a folder and lands each through the real CLI. */
async function land(lake: string, date: string, files: Record<string, string | Buffer>): Promise<void> {
  const dir = path.join(lake, '..', `incoming-${path.basename(lake)}`, date);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), content);
    const landed = await txlake(['land', path.join(dir, name), '--date', date, '--lake', lake]);
    expect(landed.code).toBe(0);
  }
}

describe('data contract v1 through the real CLI: every code, attempts, gate, reruns', () => {
  const lake = tempLake();
  const outputs: Record<string, RunSummary> = {};
  let beforeGate: unknown;
  let afterGate: unknown;
  let firstSilver: unknown[] = [];

  beforeAll(async () => {
    // Day 1: the shared row vectors (one file per header shape), duplicates within the run,
    // the first attempt of ATT-1, and one file for each file-level code.
    const byHeader = new Map<string, Vector[]>();
    for (const v of vectors)
      byHeader.set(JSON.stringify(v.header), [...(byHeader.get(JSON.stringify(v.header)) ?? []), v]);
    const day1: Record<string, string | Buffer> = {};
    [...byHeader.values()].forEach((group, i) => {
      day1[`a_vectors_${i}.csv`] = csvFile(
        group[0].header,
        group.map((v) => v.row),
      );
    });
    day1['c_dups.csv'] = csvFile(STD, [
      ['D-1', 'ACCD', '10.00', 'EUR', ts],
      ['D-1', 'ACCD', '10.0', 'eur', '2024-01-10T11:00:00+01:00'], // identical once normalised
      ['D-2', 'ACCD', '20.00', 'EUR', ts],
      ['D-2', 'ACCD', '21.00', 'EUR', ts], // same id, other values
      ['ATT-1', 'ACCA', 'not-a-number', 'EUR', ts],
      // Month boundaries in other offsets: 2024-01-31T23:30Z (January), 2024-02-01T00:30Z (February).
      ['B-1', 'ACCB', '100.00', 'EUR', '2024-02-01T00:30:00+01:00'],
      ['B-2', 'ACCB', '5.00', 'EUR', '2024-01-31T23:30:00-01:00'],
      ['B-3', 'ACCB', '-0.01', 'EUR', '2024-03-31 23:59:59.9999'],
    ]);
    day1['r_type.txt'] = 'TransactionID\n';
    day1['r_empty.csv'] = '';
    day1['r_encoding.csv'] = Buffer.concat([
      Buffer.from(`${STD.join(',')}\nE-1,C,1.00,EUR,${ts}\nE-2,Caf`),
      Buffer.from([0xe9]),
      Buffer.from(`,1.00,EUR,${ts}\n`),
    ]);
    day1['r_missing.csv'] = `TransactionID,CustomerID,TransactionAmount,Currency\nM-1,C,1.00,EUR\n`;
    day1['r_dupcol.csv'] = `${STD.join(',')},Currency\nX-1,C,1.00,EUR,${ts},EUR\n`;
    day1['r_malformed.csv'] = `${STD.join(',')}\n"X-2"junk,C,1.00,EUR,${ts}\n`;
    await land(lake, '2024-01-10', day1);
    outputs.day1 = JSON.parse(
      (await txlake(['run', '--date', '2024-01-10', '--lake', lake, '--json', '--max-quarantine-ratio', '1'])).stdout,
    );
    firstSilver = await tableRows(lake, 'silver_transactions', { columns: '* EXCLUDE (run_id)' });

    // Day 2: duplicates of silver, an id conflict with silver, ATT-1's second attempt.
    await land(lake, '2024-01-11', {
      'day2.csv': csvFile(STD, [
        ['D-1', 'ACCD', '10.00', 'EUR', ts],
        ['V-BASIC', 'C1', '99.99', 'EUR', '2024-01-16T10:00:00Z'],
        ['ATT-1', 'ACCA', 'still-bad', 'EUR', ts],
        ['N-1', 'ACCN', '1.00', 'EUR', ts],
        ['N-2', 'ACCN', '2.00', 'EUR', ts],
      ]),
    });
    // Day 3: ATT-1 a third time: already quarantined on two other dates.
    await land(lake, '2024-01-12', {
      'day3.csv': csvFile(STD, [
        ['ATT-1', 'ACCA', 'bad-again', 'EUR', ts],
        ['N-3', 'ACCN', '3.00', 'EUR', ts],
      ]),
    });
    const days23 = await txlake([
      'backfill',
      '--from',
      '2024-01-11',
      '--to',
      '2024-01-12',
      '--lake',
      lake,
      '--json',
      '--max-quarantine-ratio',
      '1',
    ]);
    if (days23.code !== 0) console.error(days23.stderr);
    outputs.days23 = JSON.parse(days23.stdout);

    // Day 4: half the rows invalid: the default gate (0.1) fails and nothing is published.
    await land(lake, '2024-01-13', {
      'day4.csv': csvFile(STD, [
        ['G-1', 'ACCG', '1.00', 'EUR', ts],
        ['G-2', 'ACCG', 'x', 'EUR', ts],
      ]),
    });
    beforeGate = await publishedState(lake);
    const gate = await txlake(['run', '--date', '2024-01-13', '--lake', lake, '--json']);
    expect(gate.code).toBe(1);
    outputs.day4 = JSON.parse(gate.stdout);
    afterGate = await publishedState(lake);

    // Rerun of day 1: the same published rows as the first run.
    outputs.rerun = JSON.parse(
      (await txlake(['run', '--date', '2024-01-10', '--lake', lake, '--json', '--max-quarantine-ratio', '1'])).stdout,
    );
  });

  test('day 1: every row vector gets its codes, in order, in its destination', async () => {
    const [day1] = outputs.day1.runs;
    expect(day1.status).toBe('SUCCEEDED');
    expect(day1.files).toEqual({
      accepted: [...new Set(vectors.map((v) => JSON.stringify(v.header)))].length + 1,
      rejected: 6,
    });
    const quarantined = await tableRows(lake, 'quarantine_transactions', {
      columns: 'source_file, source_record, transaction_id, error_codes',
      where: "ingest_date = DATE '2024-01-10'",
    });
    const silver = await tableRows(lake, 'silver_transactions', { columns: 'source_file, source_record' });
    const byHeader = [...new Set(vectors.map((v) => JSON.stringify(v.header)))];
    for (const v of vectors) {
      const file = `a_vectors_${byHeader.indexOf(JSON.stringify(v.header))}.csv`;
      const record = vectors.filter((w) => JSON.stringify(w.header) === JSON.stringify(v.header)).indexOf(v) + 1;
      const q = quarantined.find((r) => r.source_file === file && Number(r.source_record) === record);
      const s = silver.find((r) => r.source_file === file && Number(r.source_record) === record);
      if (v.destination === 'quarantine') {
        expect({ name: v.name, codes: q?.error_codes }).toEqual({ name: v.name, codes: v.codes });
        expect(s).toBeUndefined();
      } else {
        expect({ name: v.name, silver: Boolean(s), quarantine: Boolean(q) }).toEqual({
          name: v.name,
          silver: true,
          quarantine: false,
        });
      }
    }
  });

  test('offsets at month boundaries land in the right UTC month, in silver and in the balance history', async () => {
    const rows = await tableRows(lake, 'silver_transactions', {
      columns: "transaction_id, strftime(transaction_ts, '%Y-%m-%dT%H:%M:%S.%g') AS ts",
      where: "customer_id = 'ACCB'",
    });
    expect(rows).toEqual([
      { transaction_id: 'B-1', ts: '2024-01-31T23:30:00.000' },
      { transaction_id: 'B-2', ts: '2024-02-01T00:30:00.000' },
      { transaction_id: 'B-3', ts: '2024-03-31T23:59:59.999' },
    ]);
    // Silver is partitioned by the UTC month of transaction_ts: each data file holds one month,
    // the one its partition value (months since 1970-01) names.
    const { files } = await lakeCatalog(lake).tableFiles('silver_transactions');
    for (const file of files) {
      const months = await duck(
        `SELECT DISTINCT strftime(transaction_ts, '%Y-%m') AS m FROM read_parquet('${file.path}', hive_partitioning = false)`,
      );
      const value = Number(file.partition.transaction_ts_month);
      const month = `${1970 + Math.floor(value / 12)}-${String((value % 12) + 1).padStart(2, '0')}`;
      expect(months).toEqual([{ m: month }]);
    }
    const history = await txlake(['balance-history', '--quarter', '2024-Q1', '--lake', lake]);
    expect(history.stdout.split('\n').filter((l) => l.startsWith('ACCB,'))).toEqual([
      'ACCB,EUR,2024-01,100.00',
      'ACCB,EUR,2024-02,105.00',
      'ACCB,EUR,2024-03,104.99',
    ]);
  });

  test('day 1: duplicates within the run and the file-level codes', async () => {
    const [day1] = outputs.day1.runs;
    for (const code of CONTRACT.codes.file) expect({ code, n: day1.reasons[code] }).toEqual({ code, n: 1 });
    expect(day1.reasons.DUPLICATE_ROW).toBe(1);
    expect(day1.reasons.DUPLICATE_TRANSACTION_ID).toBe(1);
    const condemned = await tableRows(lake, 'condemned_transactions', {
      columns: 'transaction_id, transaction_amount, currency, error_codes, source_record',
      where: "ingest_date = DATE '2024-01-10'",
    });
    expect(condemned).toEqual([
      {
        transaction_id: 'D-1',
        transaction_amount: '10.0',
        currency: 'eur',
        error_codes: ['DUPLICATE_ROW'],
        source_record: '2',
      },
    ]);
    const rejected = readFileSync(path.join(lake, 'quarantine', 'files', 'ingest_date=2024-01-10', 'r_encoding.csv'));
    expect(rejected.includes(0xe9)).toBe(true);
    const reasons = JSON.parse(
      readFileSync(
        path.join(lake, 'quarantine', 'file_rejections', 'ingest_date=2024-01-10', 'rejections.json'),
        'utf8',
      ),
    );
    expect(reasons.files.map((f: { name: string; code: string }) => [f.name, f.code]).sort()).toEqual([
      ['r_dupcol.csv', 'DUPLICATE_COLUMNS'],
      ['r_empty.csv', 'EMPTY_FILE'],
      ['r_encoding.csv', 'INVALID_ENCODING'],
      ['r_malformed.csv', 'MALFORMED_CSV'],
      ['r_missing.csv', 'MISSING_COLUMNS'],
      ['r_type.txt', 'UNSUPPORTED_FILE_TYPE'],
    ]);
  });

  test('days 2–3: duplicates against silver, id conflicts, and max attempts', () => {
    const [day2, day3] = outputs.days23.runs;
    expect(day2.reasons).toEqual({ DUPLICATE_ROW: 1, DUPLICATE_TRANSACTION_ID: 1, INVALID_AMOUNT: 1 });
    expect(day2.rows).toEqual({ read: 5, silver: 2, quarantined: 2, condemned: 1 });
    expect(day3.reasons).toEqual({ MAX_ATTEMPTS_EXCEEDED: 1 });
    expect(day3.rows).toEqual({ read: 2, silver: 1, quarantined: 0, condemned: 1 });
  });

  test('day 4: a failed gate publishes nothing', () => {
    expect(outputs.day4.runs).toEqual([
      expect.objectContaining({
        ingest_date: '2024-01-13',
        status: 'FAILED',
        error: 'QUALITY_GATE_FAILED',
        rows: { read: 2, silver: 1, quarantined: 1, condemned: 0 },
      }),
    ]);
    expect(afterGate).toEqual(beforeGate);
  });

  test('a rerun of day 1 publishes exactly the same rows', async () => {
    expect(outputs.rerun.runs[0].rows).toEqual(outputs.day1.runs[0].rows);
    expect(outputs.rerun.runs[0].reasons).toEqual(outputs.day1.runs[0].reasons);
    const silver = await tableRows(lake, 'silver_transactions', {
      columns: '* EXCLUDE (run_id)',
      where: "ingest_date = DATE '2024-01-10'",
    });
    expect(silver).toEqual(firstSilver.filter((r) => (r as { ingest_date: string }).ingest_date === '2024-01-10'));
  });

  test('silver, quarantine and condemned are Iceberg tables with the columns and partitioning of SPEC §4', async () => {
    const types = async (table: TableName): Promise<Record<string, string>> =>
      Object.fromEntries(
        (await duck(`DESCRIBE SELECT * FROM ${await tableScan(lake, table)}`)).map((r) => [
          r.column_name as string,
          r.column_type as string,
        ]),
      );
    expect(await types('silver_transactions')).toEqual({
      transaction_id: 'VARCHAR',
      customer_id: 'VARCHAR',
      amount: 'DECIMAL(16,2)',
      currency: 'VARCHAR',
      transaction_ts: 'TIMESTAMP WITH TIME ZONE',
      ingest_date: 'DATE',
      source_file: 'VARCHAR',
      source_record: 'BIGINT',
      run_id: 'VARCHAR',
    });
    const rawColumns = {
      transaction_id: 'VARCHAR',
      customer_id: 'VARCHAR',
      transaction_amount: 'VARCHAR',
      currency: 'VARCHAR',
      transaction_timestamp: 'VARCHAR',
      error_codes: 'VARCHAR[]',
      source_file: 'VARCHAR',
      source_record: 'BIGINT',
      run_id: 'VARCHAR',
      ingest_date: 'DATE',
    };
    expect(await types('quarantine_transactions')).toEqual(rawColumns);
    expect(await types('condemned_transactions')).toEqual(rawColumns);
    const catalog = lakeCatalog(lake);
    const spec = async (table: TableName) => {
      const metadata = await catalog.loadTable(table);
      const current = metadata.partitionSpecs.find((s) => s.specId === metadata.defaultSpecId);
      return {
        location: metadata.location,
        formatVersion: metadata.formatVersion,
        fields: current?.fields.map((f) => [f.name, f.transform]),
        deleteMode: metadata.properties['write.delete.mode'],
      };
    };
    expect(await spec('silver_transactions')).toEqual({
      location: path.join(lake, 'silver', 'transactions'),
      formatVersion: 2,
      fields: [['transaction_ts_month', 'month']],
      deleteMode: 'copy-on-write',
    });
    for (const [table, layer] of [
      ['quarantine_transactions', 'quarantine'],
      ['condemned_transactions', 'condemned'],
    ] as const) {
      expect(await spec(table)).toEqual({
        location: path.join(lake, layer, 'transactions'),
        formatVersion: 2,
        fields: [['ingest_date', 'identity']],
        deleteMode: 'copy-on-write',
      });
    }
    const unique = await tableRows(lake, 'silver_transactions', {
      columns: 'count(*) AS n, count(DISTINCT transaction_id) AS d',
    });
    expect(unique[0].n).toBe(unique[0].d);
  });
});

test('RECONCILIATION_FAILED through the CLI: a landed file changes between the landing check and the job', async () => {
  const lake = tempLake();
  const { 'f.csv': file } = landFiles(lake, '2024-01-20', { 'f.csv': csvFile(STD, [['R-1', 'C', '1.00', 'EUR', ts]]) });
  const before = await publishedContent(lake);
  // The real command; the moment the landing check has counted the file, a sender overwrites it.
  const cli = startCli(['run', '--date', '2024-01-20', '--lake', lake, '--json']);
  cli.onStderr(/ValidateLanding\s+ok/, () => appendFileSync(file, `R-2,C,2.00,EUR,${ts}\n`));
  const code = await cli.closed;
  expect(code).toBe(1);
  const { runs } = JSON.parse(cli.stdout()) as RunSummary;
  expect(runs.map((r) => [r.status, r.error])).toEqual([['FAILED', 'RECONCILIATION_FAILED']]);
  expect(cli.stderr()).toMatch(
    /2024-01-20 failed: RECONCILIATION_FAILED: the job read 2 records but the landing check counted 1/,
  );
  expect(await publishedContent(lake)).toEqual(before);
});
