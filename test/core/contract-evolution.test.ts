/** Schema-evolution protocol: which contract versions may follow which, and how a new column reaches the catalog. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import v1Json from '../../contract/transactions.v1.json';
import { type Contract, CONTRACT, parseContract } from '../../core/contract';
import { checkContractHistory, checkEvolution, loadContractVersions } from '../../core/contract-evolution';
import { LakeCatalog } from '../../lib/constructs/lake-catalog';
import { directoryTable, LocalAthena } from '../../runner/local/local-athena';
import { tempDirs } from '../helpers/lake';

const root = path.join(__dirname, '..', '..');
const V2_FIXTURE = path.join(__dirname, '..', 'fixtures', 'contract', 'transactions.v2.json');

const v1 = parseContract(v1Json);
const v2Raw = (): Contract => JSON.parse(fs.readFileSync(V2_FIXTURE, 'utf8')) as Contract;
const v2 = parseContract(v2Raw());

/** A copy of the valid v2 fixture changed by `edit` (not schema-parsed: the protocol must judge it alone). */
function variant(edit: (c: Contract) => void): Contract {
  const c = v2Raw();
  edit(c);
  return c;
}

const silver = (c: Contract) => c.tables.silver_transactions;
const quarantine = (c: Contract) => c.tables.quarantine_transactions;

const newDir = tempDirs('txlake-contracts-');
function historyDir(files: Record<string, unknown>): string {
  const dir = newDir();
  for (const [name, doc] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), JSON.stringify(doc));
  return dir;
}

describe('contract history', () => {
  test('the shipped contract directory is a valid history (v1 alone)', () => {
    expect(checkContractHistory(path.join(root, 'contract'))).toEqual([]);
    const versions = loadContractVersions(path.join(root, 'contract'));
    expect(versions.map((c) => c.version)).toEqual([1]);
    expect(versions[0]).toEqual(CONTRACT);
  });

  test('v1 has no optional source columns and parses unchanged', () => {
    expect(CONTRACT.optionalSourceColumns).toBeUndefined();
    expect(JSON.parse(JSON.stringify(CONTRACT))).toEqual(v1Json);
  });

  test('v1 then the v2 fixture is a valid history, read in version order', () => {
    const dir = historyDir({ 'transactions.v2.json': v2Raw(), 'transactions.v1.json': v1Json, 'README.txt': 'x' });
    expect(loadContractVersions(dir).map((c) => c.version)).toEqual([1, 2]);
    expect(checkContractHistory(dir)).toEqual([]);
  });

  test('a gap in the versions is refused', () => {
    const v3 = { ...v2Raw(), version: 3 };
    const dir = historyDir({ 'transactions.v1.json': v1Json, 'transactions.v3.json': v3 });
    expect(checkContractHistory(dir)).toEqual([expect.stringMatching(/^v1 → v3: version must be 2/)]);
  });

  test('a file whose name and version disagree is an error', () => {
    const dir = historyDir({ 'transactions.v1.json': v1Json, 'transactions.v2.json': { ...v2Raw(), version: 7 } });
    expect(() => loadContractVersions(dir)).toThrow(/file name says version 2 but the contract says 7/);
  });
});

describe('checkEvolution', () => {
  test('the v2 fixture (optional Channel → channel at the end of silver/quarantine/condemned) is allowed', () => {
    expect(v2.optionalSourceColumns).toEqual([
      { name: 'Channel', field: 'channel', silver: 'channel', type: 'string' },
    ]);
    expect(checkEvolution(v1, v2)).toEqual([]);
  });

  const refused: [string, (c: Contract) => void, RegExp][] = [
    [
      'removing a column',
      (c) => (silver(c).columns = silver(c).columns.filter((x) => x.name !== 'currency')),
      /table 'silver_transactions': column 'currency' was removed/,
    ],
    [
      'renaming a column',
      (c) => (silver(c).columns[2] = { name: 'amount_eur', type: 'decimal(16,2)' }),
      /table 'silver_transactions': column 'amount' was removed or renamed \(position 3 now holds 'amount_eur'\)/,
    ],
    [
      'retyping a column',
      (c) => (silver(c).columns[2] = { name: 'amount', type: 'double' }),
      /table 'silver_transactions': column 'amount' changed type from decimal\(16,2\) to double/,
    ],
    [
      'reordering columns',
      (c) => {
        const cols = quarantine(c).columns;
        [cols[0], cols[1]] = [cols[1], cols[0]];
      },
      /table 'quarantine_transactions': column 'transaction_id' moved from position 1 to 2/,
    ],
    [
      'adding the new column in the middle',
      (c) => {
        const cols = silver(c).columns;
        cols.splice(1, 0, cols.pop() as (typeof cols)[number]);
      },
      /table 'silver_transactions': new column 'channel' was inserted at position 2 \(before 'customer_id'\)/,
    ],
    [
      'changing a partition transform',
      (c) => (silver(c).partitionSpec[0] = { column: 'transaction_ts', transform: 'identity' }),
      /table 'silver_transactions': partition spec changed from \[month\(transaction_ts\)\] to \[identity\(transaction_ts\)\]/,
    ],
    [
      'partitioning by a column the table lacks',
      (c) => (quarantine(c).partitionSpec = [{ column: 'run_date', transform: 'identity' }]),
      /table 'quarantine_transactions': partition source column 'run_date' is not a column of the table/,
    ],
    [
      'adding a required source column',
      (c) =>
        c.sourceColumns.push({
          name: 'Channel',
          field: 'channel',
          silver: 'channel',
          rule: 'identifier',
          missingCode: 'MISSING_CHANNEL',
          invalidCode: 'INVALID_CHANNEL',
        }),
      /required source column 'Channel' was added/,
    ],
    [
      'renaming a required source column',
      (c) => (c.sourceColumns[3] = { ...c.sourceColumns[3], name: 'Ccy' }),
      /required source column 'Currency' was removed or renamed/,
    ],
    ['skipping a version', (c) => (c.version = 3), /version must be 2 \(previous is v1\), got 3/],
    [
      'adding a table column with no optional source column',
      (c) => silver(c).columns.push({ name: 'branch', type: 'string' }),
      /table 'silver_transactions': new column 'branch' is not backed by an optional source column/,
    ],
    [
      'a new column whose type differs from its optional source column',
      (c) => (silver(c).columns[silver(c).columns.length - 1] = { name: 'channel', type: 'int' }),
      /table 'silver_transactions': new column 'channel' has type int but optional source column 'Channel' is string/,
    ],
    [
      'an optional source column missing from a table',
      (c) => (quarantine(c).columns = quarantine(c).columns.filter((x) => x.name !== 'channel')),
      /new optional source column 'Channel' is missing from table 'quarantine_transactions'/,
    ],
    [
      'removing a table',
      (c) => delete (c.tables as Record<string, unknown>).condemned_transactions,
      /table 'condemned_transactions' was removed/,
    ],
    [
      'growing a gold table',
      (c) => c.tables.gold_monthly_balances.columns.push({ name: 'channel', type: 'string' }),
      /table 'gold_monthly_balances': new column 'channel' is not backed by an optional source column/,
    ],
  ];

  test.each(refused)('refuses %s, naming the column', (_what, edit, message) => {
    const violations = checkEvolution(v1, variant(edit));
    expect(violations).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  test('a later version must keep the optional source columns of the previous one', () => {
    const v3 = variant((c) => {
      c.version = 3;
      delete c.optionalSourceColumns;
    });
    expect(checkEvolution(v2, v3)).toEqual(
      expect.arrayContaining([expect.stringMatching(/optional source column 'Channel' was removed or renamed/)]),
    );
    const v3ok = variant((c) => (c.version = 3));
    expect(checkEvolution(v2, v3ok)).toEqual([]);
  });

  test('the schema refuses an optional source column that reuses a required one', () => {
    const bad = variant(
      (c) => (c.optionalSourceColumns = [{ name: 'Currency', field: 'x', silver: 'x', type: 'string' }]),
    );
    expect(() => parseContract(bad)).toThrow(/optional source column name 'Currency' is already used/);
  });
});

describe('the catalog built from v2', () => {
  test('the Iceberg tables end with the new channel column and keep every v1 column and field id', () => {
    const schemaOf = (contract: Contract, stackId: string) => {
      const stack = new Stack(new App(), stackId, { env: { account: '111111111111', region: 'eu-west-1' } });
      const bucket = (id: string) => new s3.Bucket(stack, id);
      new LakeCatalog(stack, 'Catalog', {
        databaseName: 'txlake_test',
        contract,
        layerBuckets: {
          silver: bucket('Silver'),
          quarantine: bucket('Quarantine'),
          condemned: bucket('Condemned'),
          gold: bucket('Gold'),
        },
      });
      const tables = Object.values(Template.fromStack(stack).findResources('AWS::Glue::Table')).map(
        (r) =>
          r.Properties as {
            Name: string;
            OpenTableFormatInput: {
              IcebergInput: { IcebergTableInput: { Schema: { Fields: { Id: number; Name: string; Type: string }[] } } };
            };
          },
      );
      return new Map(tables.map((t) => [t.Name, t.OpenTableFormatInput.IcebergInput.IcebergTableInput.Schema.Fields]));
    };
    const before = schemaOf(v1, 'CatalogV1');
    const after = schemaOf(v2, 'CatalogV2');
    for (const name of ['silver_transactions', 'quarantine_transactions', 'condemned_transactions']) {
      const v1Fields = before.get(name) ?? [];
      const v2Fields = after.get(name) ?? [];
      expect(v2Fields.slice(0, v1Fields.length)).toEqual(v1Fields);
      // ADD COLUMN gives a new column the table's last id + 1 (a list's element id counts).
      const lastV1Id = Math.max(
        ...v1Fields.flatMap((f) => [
          f.Id,
          ...(f.Type.startsWith('{') ? [(JSON.parse(f.Type) as { 'element-id': number })['element-id']] : []),
        ]),
      );
      expect(v2Fields.slice(v1Fields.length)).toEqual([
        { Id: lastV1Id + 1, Name: 'channel', Type: 'string', Required: false },
      ]);
    }
    expect(after.get('gold_monthly_balances')).toEqual(before.get('gold_monthly_balances'));
  });
});

describe('local Athena over silver written under v1 and v2', () => {
  const v1Row = (id: string, ts: string) =>
    `SELECT '${id}' AS transaction_id, 'C1' AS customer_id, CAST('1.00' AS DECIMAL(16,2)) AS amount, ` +
    `'EUR' AS currency, CAST('${ts}' AS TIMESTAMPTZ) AS transaction_ts, DATE '2024-01-16' AS ingest_date, ` +
    `'f.csv' AS source_file, CAST(1 AS BIGINT) AS source_record, 'run' AS run_id`;

  /** Writes one Parquet file (columns in the given order, as the Glue job writes them) under `dir`. */
  async function writeParquet(dir: string, rel: string, select: string): Promise<void> {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  /** `sql` over the contract's silver table on `location`, whose files sit in year=YYYY/month=MM directories. */
  async function query(contract: Contract, location: string, sql: string): Promise<(string | null)[][]> {
    const t = contract.tables.silver_transactions;
    const athena = await LocalAthena.create({
      tables: [
        directoryTable('silver_transactions', location, t.columns, [
          { name: 'year', type: 'string' },
          { name: 'month', type: 'string' },
        ]),
      ],
      resolveUri: () => {
        throw new Error('no UNLOAD here');
      },
    });
    try {
      return (await athena.execute(sql)).rows;
    } finally {
      athena.close();
    }
  }

  const sql = 'SELECT transaction_id, channel, year, month FROM silver_transactions ORDER BY transaction_id';

  test('the v2 table reads v1 files (no channel) as NULL, before and after v2 files exist', async () => {
    const dir = historyDir({});
    await writeParquet(dir, 'year=2023/month=12/old.parquet', v1Row('OLD', '2023-12-31T23:00:00Z'));
    await writeParquet(dir, 'year=2024/month=01/v1.parquet', v1Row('P1', '2024-01-16T09:00:00Z'));
    // Only v1 files: the column exists in the catalog but in no file yet.
    expect(await query(v2, dir, sql)).toEqual([
      ['OLD', null, '2023', '12'],
      ['P1', null, '2024', '01'],
    ]);
    await writeParquet(
      dir,
      'year=2024/month=01/v2.parquet',
      `${v1Row('N1', '2024-01-16T10:00:00Z')}, 'web' AS channel`,
    );
    expect(await query(v2, dir, sql)).toEqual([
      ['N1', 'web', '2024', '01'],
      ['OLD', null, '2023', '12'],
      ['P1', null, '2024', '01'],
    ]);
    // Still only the filtered partitions are opened: an unreadable file elsewhere breaks nothing ...
    fs.mkdirSync(path.join(dir, 'year=2025', 'month=01'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'year=2025', 'month=01', 'garbage.parquet'), 'not parquet');
    const pruned = `SELECT transaction_id, channel FROM silver_transactions WHERE year = '2024' ORDER BY 1`;
    expect(await query(v2, dir, pruned)).toEqual([
      ['N1', 'web'],
      ['P1', null],
    ]);
    // ... until a query scans it.
    await expect(query(v2, dir, sql)).rejects.toThrow(/parquet/i);
    fs.rmSync(path.join(dir, 'year=2025'), { recursive: true });
    // The v1 table over the same files still reads its own columns (the extra one is ignored).
    expect(
      await query(v1, dir, 'SELECT transaction_id, amount FROM silver_transactions ORDER BY transaction_id'),
    ).toEqual([
      ['N1', '1.00'],
      ['OLD', '1.00'],
      ['P1', '1.00'],
    ]);
  });
});
