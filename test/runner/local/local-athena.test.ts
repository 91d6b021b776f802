/**
 * LocalAthena: tables as DuckDB views, Trino macros, UNLOAD → COPY, parameters and rendering.
 * (Iceberg tables through the catalog reader: iceberg-catalog.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  LocalAthena,
  directoryTable,
  duckdbType,
  parseUnload,
  quarterParameters,
} from '../../../runner/local/local-athena';
import contract from '../../../contract/transactions.v1.json';
import { tempDirs } from '../../helpers/lake';
import { STAGING_BUCKET, resolverFor, table, writeSilver } from '../../helpers/sql-lake';

const newRoot = tempDirs('txlake-local-athena-');

async function withAthena<T>(root: string, fn: (athena: LocalAthena) => Promise<T>): Promise<T> {
  const athena = await LocalAthena.create({
    tables: [
      table('silver_transactions', path.join(root, 'silver', 'transactions')),
      table('quarantine_transactions', path.join(root, 'quarantine', 'transactions')),
    ],
    resolveUri: resolverFor(path.join(root, 'staging')),
  });
  try {
    return await fn(athena);
  } finally {
    athena.close();
  }
}

const fixture = [
  {
    id: 'T1',
    account: 'ACC001',
    currency: 'EUR',
    amount: '500.00',
    ts: '2024-01-31T23:59:59.999Z',
  },
  {
    id: 'T2',
    account: 'ACC001',
    currency: 'EUR',
    amount: '-174.00',
    ts: '2024-02-01T00:00:00.000Z',
  },
  {
    id: 'T3',
    account: 'ACC002',
    currency: 'USD',
    amount: '-0.50',
    ts: '2024-02-29T12:00:00.000Z',
  },
];

describe('quarterParameters', () => {
  test('returns the balance_history.sql parameters in order', () => {
    expect(quarterParameters('2024-Q1')).toEqual(['2024', '01', '2024', '02', '2024', '03', '2024', '01', '02', '03']);
    expect(quarterParameters('2023-Q4')).toEqual(['2023', '10', '2023', '11', '2023', '12', '2023', '10', '11', '12']);
  });
  test.each(['2024-Q0', '2024-Q5', '2024Q1', '24-Q1', '2024-q1', ' 2024-Q1', '2024-Q1 ', ''])('rejects %p', (q) => {
    expect(() => quarterParameters(q)).toThrow(/YYYY-Qn/);
  });
});

describe('duckdbType', () => {
  test('maps Glue types', () => {
    expect(duckdbType('string')).toBe('VARCHAR');
    expect(duckdbType('bigint')).toBe('BIGINT');
    expect(duckdbType('date')).toBe('DATE');
    expect(duckdbType('timestamp')).toBe('TIMESTAMP');
    expect(duckdbType('decimal(16,2)')).toBe('DECIMAL(16,2)');
    expect(duckdbType('decimal(38, 2)')).toBe('DECIMAL(38,2)');
    expect(duckdbType('array<string>')).toBe('VARCHAR[]');
    expect(() => duckdbType('struct<a:int>')).toThrow(/unsupported/);
  });
});

describe('LocalAthena views', () => {
  test('a table without Parquet files is an empty view with the Glue columns and types', async () => {
    const root = newRoot();
    await withAthena(root, async (athena) => {
      const count = await athena.execute('SELECT count(*) AS n FROM silver_transactions');
      expect(count).toEqual({ columns: ['n'], rows: [['0']] });
      const described = await athena.execute('DESCRIBE quarantine_transactions');
      expect(described.rows.map((r) => `${r[0]} ${r[1]}`)).toEqual([
        'transaction_id VARCHAR',
        'customer_id VARCHAR',
        'transaction_amount VARCHAR',
        'currency VARCHAR',
        'transaction_timestamp VARCHAR',
        'error_codes VARCHAR[]',
        'source_file VARCHAR',
        'source_record BIGINT',
        'run_id VARCHAR',
        'ingest_date DATE',
      ]);
    });
  });

  test('views are re-evaluated per execute, keep Glue types and render values as text', async () => {
    const root = newRoot();
    await withAthena(root, async (athena) => {
      expect((await athena.execute('SELECT count(*) FROM silver_transactions')).rows).toEqual([['0']]);
      await writeSilver(path.join(root, 'silver', 'transactions'), fixture);
      const r = await athena.execute(
        `SELECT transaction_id, amount, transaction_ts, ingest_date, source_record,
                typeof(amount), typeof(transaction_ts), typeof(ingest_date), CAST(NULL AS varchar) AS nothing
         FROM silver_transactions ORDER BY transaction_id`,
      );
      expect(r.columns.slice(0, 5)).toEqual([
        'transaction_id',
        'amount',
        'transaction_ts',
        'ingest_date',
        'source_record',
      ]);
      expect(r.rows).toEqual([
        ['T1', '500.00', '2024-01-31 23:59:59.999', '2024-04-01', '1', 'DECIMAL(16,2)', 'TIMESTAMP', 'DATE', null],
        ['T2', '-174.00', '2024-02-01 00:00:00', '2024-04-01', '2', 'DECIMAL(16,2)', 'TIMESTAMP', 'DATE', null],
        ['T3', '-0.50', '2024-02-29 12:00:00', '2024-04-01', '3', 'DECIMAL(16,2)', 'TIMESTAMP', 'DATE', null],
      ]);
    });
  });

  test('a table reads its files without Hive partitioning: directory names add no columns', async () => {
    const root = newRoot();
    // the fixture's files sit in year=YYYY/month=MM directories, as Iceberg's sit in data/<partition>=…/
    await writeSilver(path.join(root, 'silver', 'transactions'), fixture);
    await withAthena(root, async (athena) => {
      const described = await athena.execute('DESCRIBE silver_transactions');
      expect(described.rows.map((r) => r[0])).toEqual(contract.tables.silver_transactions.columns.map((c) => c.name));
      await expect(athena.execute('SELECT year FROM silver_transactions')).rejects.toThrow(/year/);
    });
  });

  test('Hive partition columns of a plain directory: typed from the directory names, pruned by filters', async () => {
    const root = newRoot();
    const dir = path.join(root, 'silver', 'transactions');
    await writeSilver(dir, fixture);
    // a file outside the filtered partition that cannot be read: pruning never opens it
    fs.mkdirSync(path.join(dir, 'year=2025', 'month=01'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'year=2025', 'month=01', 'garbage.parquet'), 'not parquet');
    const silver = contract.tables.silver_transactions.columns;
    const athena = await LocalAthena.create({
      tables: [
        directoryTable('by_month', dir, silver, [
          { name: 'year', type: 'string' },
          { name: 'month', type: 'string' },
        ]),
      ],
      resolveUri: resolverFor(path.join(root, 'staging')),
    });
    try {
      const described = await athena.execute('DESCRIBE by_month');
      expect(described.rows.map((r) => `${r[0]} ${r[1]}`).slice(-3)).toEqual([
        'run_id VARCHAR',
        'year VARCHAR',
        'month VARCHAR',
      ]);
      const r = await athena.execute(
        `SELECT transaction_id, year, month FROM by_month WHERE year = ? AND month = ? ORDER BY 1`,
        ['2024', '02'],
      );
      expect(r.rows).toEqual([
        ['T2', '2024', '02'],
        ['T3', '2024', '02'],
      ]);
      await expect(athena.execute('SELECT count(*) FROM by_month')).rejects.toThrow(/parquet/i);
    } finally {
      athena.close();
    }
  });

  test('the files are listed on every execute', async () => {
    const root = newRoot();
    let calls = 0;
    const dir = path.join(root, 'silver', 'transactions');
    await writeSilver(dir, fixture);
    const athena = await LocalAthena.create({
      tables: [
        {
          name: 'listed',
          columns: contract.tables.silver_transactions.columns,
          files: async () => {
            calls++;
            // the first query sees no file, the second every file
            return calls === 1 ? [] : directoryTable('x', dir, []).files();
          },
        },
      ],
      resolveUri: resolverFor(path.join(root, 'staging')),
    });
    try {
      expect((await athena.execute('SELECT count(*) FROM listed')).rows).toEqual([['0']]);
      expect((await athena.execute('SELECT count(*) FROM listed')).rows).toEqual([['3']]);
      expect(calls).toBe(2);
    } finally {
      athena.close();
    }
  });
});

describe('LocalAthena parameters, macros and session', () => {
  test('parameters are bound as VARCHAR', async () => {
    await withAthena(newRoot(), async (athena) => {
      const r = await athena.execute(`SELECT ? || '-01' AS m, typeof(?) AS t, CAST(? || '-01' AS date) AS d`, [
        '2024-02',
        '2024',
        '2024-02',
      ]);
      expect(r.rows).toEqual([['2024-02-01', 'VARCHAR', '2024-02-01']]);
    });
  });

  test('Trino sequence() macro: integers and dates with a month step (inclusive bounds, leap year)', async () => {
    await withAthena(newRoot(), async (athena) => {
      const r = await athena.execute(
        `SELECT sequence(1, 3) AS ints,
                sequence(DATE '2024-01-01', DATE '2024-03-01', INTERVAL '1' MONTH) AS months,
                sequence(DATE '2024-02-28', DATE '2024-03-01', INTERVAL '1' DAY) AS days`,
      );
      expect(r.rows).toEqual([
        ['[1, 2, 3]', '[2024-01-01, 2024-02-01, 2024-03-01]', '[2024-02-28, 2024-02-29, 2024-03-01]'],
      ]);
      const unnest = await athena.execute(
        `SELECT t.m FROM (VALUES (DATE '2023-12-01')) AS p (d)
         CROSS JOIN UNNEST(sequence(p.d, DATE '2024-02-01', INTERVAL '1' MONTH)) AS t (m) ORDER BY 1`,
      );
      expect(unnest.rows).toEqual([['2023-12-01'], ['2024-01-01'], ['2024-02-01']]);
    });
  });

  test('session is UTC with byte-order string comparison', async () => {
    await withAthena(newRoot(), async (athena) => {
      const tz = await athena.execute(`SELECT current_setting('TimeZone')`);
      expect(tz.rows).toEqual([['UTC']]);
      const sorted = await athena.execute(
        `SELECT x FROM (VALUES ('b'), ('É'), ('B'), ('a'), ('Z'), ('a b')) AS t (x) ORDER BY x`,
      );
      expect(sorted.rows.map((r) => r[0])).toEqual(['B', 'Z', 'a', 'a b', 'b', 'É']);
    });
  });
});

describe('UNLOAD translation', () => {
  const unload = (uri: string, extra = ''): string => `-- leading comment
UNLOAD (
  SELECT customer_id AS account_id, sum(amount) AS total, strftime(transaction_ts, '%Y') AS year, strftime(transaction_ts, '%m') AS month
  FROM silver_transactions
  WHERE transaction_id <> ?
  GROUP BY 1, 3, 4
) TO '${uri}'
WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month']${extra});`;

  test('parseUnload extracts the inner query untouched, the target and the properties', () => {
    const parsed = parseUnload(unload(`s3://${STAGING_BUCKET}/x/`));
    expect(parsed).toBeDefined();
    expect(parsed!.uri).toBe(`s3://${STAGING_BUCKET}/x/`);
    expect(parsed!.format).toBe('PARQUET');
    expect(parsed!.partitionedBy).toEqual(['year', 'month']);
    expect(parsed!.query.trim()).toBe(
      `SELECT customer_id AS account_id, sum(amount) AS total, strftime(transaction_ts, '%Y') AS year, strftime(transaction_ts, '%m') AS month
  FROM silver_transactions
  WHERE transaction_id <> ?
  GROUP BY 1, 3, 4`,
    );
    expect(parseUnload('SELECT 1')).toBeUndefined();
    expect(() => parseUnload(unload('s3://b/x/', ", bucketed_by = ARRAY['a']"))).toThrow(/unsupported UNLOAD property/);
  });

  test('UNLOAD writes Hive partitions to the resolved location and requires an empty target', async () => {
    const root = newRoot();
    await writeSilver(path.join(root, 'silver', 'transactions'), fixture);
    await withAthena(root, async (athena) => {
      const sql = unload(`s3://${STAGING_BUCKET}/out/`);
      expect(await athena.execute(sql, ['T3'])).toEqual({
        columns: [],
        rows: [],
      });
      const out = path.join(root, 'staging', 'out');
      expect(fs.readdirSync(out).sort()).toEqual(['year=2024']);
      expect(fs.readdirSync(path.join(out, 'year=2024')).sort()).toEqual(['month=01', 'month=02']);
      const back = await athena.execute(
        `SELECT account_id, total, year, month FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true, hive_types = {'year': 'VARCHAR', 'month': 'VARCHAR'}) ORDER BY month`,
      );
      expect(back.columns).toEqual(['account_id', 'total', 'year', 'month']);
      expect(back.rows).toEqual([
        ['ACC001', '500.00', '2024', '01'],
        ['ACC001', '-174.00', '2024', '02'],
      ]);
      // Athena: the UNLOAD location must be empty
      await expect(athena.execute(sql, ['T3'])).rejects.toThrow(/not empty/);
      // an empty existing directory is fine
      fs.mkdirSync(path.join(root, 'staging', 'empty'), { recursive: true });
      await athena.execute(unload(`s3://${STAGING_BUCKET}/empty/`), ['nothing']);
      expect(fs.readdirSync(path.join(root, 'staging', 'empty')).sort()).toEqual(['year=2024']);
      // REGRESSION (kill test): a COPY killed before its first file leaves only directories; S3
      // has none, so the prefix is empty and the next UNLOAD runs
      fs.mkdirSync(path.join(root, 'staging', 'dirs-only', 'year=2024', 'month=01'), { recursive: true });
      await athena.execute(unload(`s3://${STAGING_BUCKET}/dirs-only/`), ['T3']);
      expect(fs.readdirSync(path.join(root, 'staging', 'dirs-only', 'year=2024')).sort()).toEqual([
        'month=01',
        'month=02',
      ]);
      // while a file anywhere under the prefix still refuses it
      fs.writeFileSync(path.join(root, 'staging', 'dirs-only', 'year=2024', 'month=01', 'x'), 'x');
      await expect(athena.execute(unload(`s3://${STAGING_BUCKET}/dirs-only/`), ['T3'])).rejects.toThrow(/not empty/);
    });
  });

  test('a failed statement does not break later ones', async () => {
    await withAthena(newRoot(), async (athena) => {
      await expect(athena.execute('SELECT * FROM no_such_table')).rejects.toThrow();
      expect((await athena.execute('SELECT 1 AS one')).rows).toEqual([['1']]);
    });
  });
});
