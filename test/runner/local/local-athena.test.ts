/**
 * LocalAthena: tables as DuckDB views, Trino macros, UNLOAD → COPY, parameters and rendering.
 * (Iceberg tables through the catalog reader: iceberg-catalog.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatRows } from '../../../cli/format';
import { IcebergCatalog, catalogDbPathOf, icebergLocalPath } from '../../../runner/local/iceberg-catalog';
import {
  LocalAthena,
  csvText,
  directoryTable,
  icebergTable,
  duckdbType,
  parseUnload,
  quarterParameters,
  writtenPartitions,
} from '../../../runner/local/local-athena';
import contract from '../../../contract/transactions.v1.json';
import { addMonths, monthsBetween } from '../../../core/calendar';
import {
  ATHENA_MAX_WRITTEN_PARTITIONS,
  FULL_REBUILD_READ_MONTH,
  goldPlan,
  goldRefreshParameters,
} from '../../../core/gold-plan';
import { fromAthenaLiteral } from '../../../core/quarter';
import { tempDirs } from '../../helpers/lake';
import {
  STAGING_BUCKET,
  type SilverTx,
  readSql,
  refreshGold,
  resolverFor,
  table,
  withGold,
  writeSilver,
} from '../../helpers/sql-lake';

const newRoot = tempDirs('txlake-local-athena-');

async function withAthena<T>(root: string, fn: (athena: LocalAthena) => Promise<T>): Promise<T> {
  const athena = await LocalAthena.create({
    tables: [
      table('silver_transactions', path.join(root, 'silver', 'transactions')),
      table('quarantine_transactions', path.join(root, 'quarantine', 'transactions')),
      table('gold_monthly_balances', path.join(root, 'gold', 'monthly_balances')),
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

  test('timestamps read at Athena engine v3 millisecond precision: microseconds truncated, the month kept', async () => {
    const root = newRoot();
    const dir = path.join(root, 'silver', 'transactions');
    await writeSilver(dir, [
      { ...fixture[0], ts: '2024-01-31T23:59:59.999999Z' },
      { ...fixture[1], ts: '2024-02-01T00:00:00.000500Z' },
      { ...fixture[2], ts: '1969-12-31T23:59:59.999999Z' },
    ]);
    await withAthena(root, async (athena) => {
      // the Parquet files hold the microseconds ...
      const raw = await athena.execute(
        `SELECT CAST(transaction_ts AS TIMESTAMP) FROM read_parquet('${dir}/**/*.parquet') ORDER BY 1`,
      );
      expect(raw.rows.map((r) => r[0])).toEqual([
        '1969-12-31 23:59:59.999999',
        '2024-01-31 23:59:59.999999',
        '2024-02-01 00:00:00.0005',
      ]);
      // ... the table reads them as Athena does, still a TIMESTAMP, in the same month
      const r = await athena.execute(
        `SELECT transaction_id, transaction_ts, typeof(transaction_ts),
                CAST(date_trunc('month', transaction_ts) AS date),
                transaction_ts = TIMESTAMP '2024-01-31 23:59:59.999'
         FROM silver_transactions ORDER BY transaction_id`,
      );
      expect(r.rows).toEqual([
        ['T1', '2024-01-31 23:59:59.999', 'TIMESTAMP', '2024-01-01', 'true'],
        ['T2', '2024-02-01 00:00:00', 'TIMESTAMP', '2024-02-01', 'false'],
        ['T3', '1969-12-31 23:59:59.999', 'TIMESTAMP', '1969-12-01', 'false'],
      ]);
      // and so do the SQL files: the gold refresh puts the last instant of January in January
      const staged = path.join(root, 'staging', 'gold-refresh', 'ts');
      await athena.execute(
        readSql('gold_monthly_balances.sql', 'gold-refresh/ts/'),
        goldRefreshParameters(FULL_REBUILD_READ_MONTH, '2024-01', '2024-01'),
      );
      const gold = await withGold(staged, (g) =>
        g.execute('SELECT account_id, month_start, balance FROM gold_monthly_balances ORDER BY 1'),
      );
      expect(gold.rows).toEqual([
        ['ACC001', '2024-01-01', '500.00'],
        ['ACC002', '2024-01-01', '-0.50'], // its 1969 amount, carried forward
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

  /** An UNLOAD of `n` rows into `n` partitions year/month, one per month from 2000-01. */
  const unloadMonths = (n: number, target: string): string => `UNLOAD (
  SELECT i, CAST(2000 + i // 12 AS varchar) AS year, lpad(CAST(i % 12 + 1 AS varchar), 2, '0') AS month
  FROM range(${n}) AS t (i)
) TO 's3://${STAGING_BUCKET}/${target}' WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])`;

  test("Athena's partition limit: 100 partitions are written, 101 fail HIVE_TOO_MANY_OPEN_PARTITIONS", async () => {
    const root = newRoot();
    const out = (target: string): string => path.join(root, 'staging', target);
    await withAthena(root, async (athena) => {
      await athena.execute(unloadMonths(100, 'hundred/'));
      expect(writtenPartitions(out('hundred'), 2)).toHaveLength(100);
      const refused = athena.execute(unloadMonths(101, 'too-many/'));
      await expect(refused).rejects.toThrow(Error);
      await expect(refused).rejects.toMatchObject({
        name: 'HIVE_TOO_MANY_OPEN_PARTITIONS',
        message: expect.stringMatching(
          /^HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions\/buckets \(UNLOAD to s3:\/\/txlake-test-staging\/too-many\/ wrote 101 partitions\)$/,
        ),
      });
      // checked after the write: the refused query's output stays (Athena may leave partial output)
      expect(writtenPartitions(out('too-many'), 2)).toHaveLength(101);
      // only UNLOAD output is counted: a query's result has no partitions
      expect((await athena.execute('SELECT count(*) FROM range(500)')).rows).toEqual([['500']]);
      expect(ATHENA_MAX_WRITTEN_PARTITIONS).toBe(100);
    });
    // a LocalAthena may lift the limit (to compute what Athena refuses, for comparison only)
    const lifted = await LocalAthena.create({
      tables: [],
      resolveUri: resolverFor(path.join(root, 'staging')),
      maxUnloadPartitions: Number.POSITIVE_INFINITY,
    });
    try {
      await lifted.execute(unloadMonths(150, 'lifted/'));
      expect(writtenPartitions(out('lifted'), 2)).toHaveLength(150);
    } finally {
      lifted.close();
    }
  });

  test('writtenPartitions: the partition directories that hold a file', () => {
    const dir = newRoot();
    for (const [p, file] of [
      ['year=2024/month=01', 'a'],
      ['year=2024/month=02', undefined],
      ['year=2025/month=01', 'deeper/b'],
    ] as const) {
      fs.mkdirSync(path.join(dir, p), { recursive: true });
      if (file) {
        fs.mkdirSync(path.dirname(path.join(dir, p, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, p, file), 'x');
      }
    }
    fs.writeFileSync(path.join(dir, 'stray'), 'x');
    expect(writtenPartitions(dir, 2)).toEqual(['year=2024/month=01', 'year=2025/month=01']);
    expect(writtenPartitions(dir, 0)).toEqual([]);
    expect(writtenPartitions(path.join(dir, 'absent'), 2)).toEqual([]);
  });

  test('a failed statement does not break later ones', async () => {
    await withAthena(newRoot(), async (athena) => {
      await expect(athena.execute('SELECT * FROM no_such_table')).rejects.toThrow();
      expect((await athena.execute('SELECT 1 AS one')).rows).toEqual([['1']]);
    });
  });
});

describe('the gold refresh in chunks (core/gold-plan) within the partition limit', () => {
  /** Silver over ten years and a month: a few accounts, some months without data; deterministic. */
  function silverOverTenYears(): SilverTx[] {
    const txs: SilverTx[] = [];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const months = monthsBetween('2014-06', '2024-06');
    for (let i = 0; i <= months; i++) {
      const month = addMonths('2014-06', i);
      for (const account of ['ACC001', 'ACC002', 'ACC003']) {
        // ACC003 starts late; every account skips some months
        if ((account === 'ACC003' && month < '2019-03') || next(3) === 0) continue;
        const cents = next(200001) - 100000;
        const day = String(1 + next(28)).padStart(2, '0');
        txs.push({
          id: `T${txs.length + 1}`,
          account,
          currency: account === 'ACC002' ? 'USD' : 'EUR',
          amount: `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)}.${String(Math.abs(cents) % 100).padStart(2, '0')}`,
          ts: `${month}-${day}T12:00:00.000Z`,
        });
      }
    }
    // the month of the latest silver, and the edges of a month
    txs.push({ id: 'TLAST', account: 'ACC001', currency: 'EUR', amount: '1.00', ts: '2024-06-30T23:59:59.999Z' });
    txs.push({ id: 'TFIRST', account: 'ACC002', currency: 'USD', amount: '2.00', ts: '2014-06-01T00:00:00.000Z' });
    return txs;
  }

  const content = (dir: string): Promise<(string | null)[][]> =>
    withGold(dir, async (athena) => {
      const r = await athena.execute(
        'SELECT year, month, account_id, currency, month_start, balance FROM gold_monthly_balances ORDER BY 1, 2, 3, 4',
      );
      return r.rows;
    });

  test('a late row ten years old: the chunks write, row for row, the one statement that Athena refuses', async () => {
    const root = newRoot();
    const staging = path.join(root, 'staging');
    await writeSilver(path.join(root, 'silver', 'transactions'), silverOverTenYears());
    // a date whose late row is ten years before silver's latest month
    const plan = goldPlan({
      silver_months: ['2014-06', '2024-06'],
      replaced_silver_months: [],
      latest_silver_month: '2024-05',
    });
    expect(plan.from_month).toBe('2014-06');
    expect(plan.chunks.map((c) => [c.from_month, c.to_month])).toEqual([
      ['2014-06', '2022-08'],
      ['2022-09', '9999-12'],
    ]);

    // the chunks, each to a target of its own, as the pipeline runs them
    const run = path.join(staging, 'gold-refresh', 'run1');
    const chunkPartitions: string[][] = [];
    for (const chunk of plan.chunks) {
      const [from, to] = chunk.parameters.slice(-2).map(fromAthenaLiteral);
      const target = `gold-refresh/run1/${chunk.from_month}/`;
      const dir = await refreshGold(root, from, staging, { toMonth: to, target });
      const partitions = writtenPartitions(dir, 2);
      expect(partitions.length).toBeLessThanOrEqual(ATHENA_MAX_WRITTEN_PARTITIONS);
      expect(partitions.length).toBeGreaterThan(0);
      chunkPartitions.push(partitions);
    }
    expect(chunkPartitions.map((p) => p.length)).toEqual([99, 22 + 1]);
    // no partition twice; the tail in the last chunk only
    const all = chunkPartitions.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(chunkPartitions[1]).toContain('year=9999/month=12');

    // the same refresh as one statement: refused by LocalAthena as by Athena ...
    const single = (athena: LocalAthena, target: string): Promise<unknown> =>
      athena.execute(
        readSql('gold_monthly_balances.sql', target),
        goldRefreshParameters(FULL_REBUILD_READ_MONTH, plan.from_month!, '9999-12'),
      );
    const create = (maxUnloadPartitions?: number): Promise<LocalAthena> =>
      LocalAthena.create({
        tables: [
          table('silver_transactions', path.join(root, 'silver', 'transactions')),
          table('gold_monthly_balances', path.join(root, 'no-gold')),
        ],
        resolveUri: resolverFor(staging),
        ...(maxUnloadPartitions === undefined ? {} : { maxUnloadPartitions }),
      });
    const athena = await create();
    try {
      await expect(single(athena, 'gold-refresh/refused/')).rejects.toMatchObject({
        name: 'HIVE_TOO_MANY_OPEN_PARTITIONS',
      });
    } finally {
      athena.close();
    }
    // ... and computed on DuckDB with the limit lifted, for comparison
    const unlimited = await create(Number.POSITIVE_INFINITY);
    try {
      await single(unlimited, 'gold-refresh/single/');
    } finally {
      unlimited.close();
    }
    const singleDir = path.join(staging, 'gold-refresh', 'single');
    expect(writtenPartitions(singleDir, 2)).toEqual([...all].sort());
    expect(all).toHaveLength(121 + 1);

    const chunked = await content(run);
    expect(chunked.length).toBeGreaterThan(300);
    expect(chunked).toEqual(await content(singleDir));
  });
});

// ---------------------------------------------------------------------------------------------
// Views refreshed for the tables a statement names, when they changed; CSV written by DuckDB.

/** Commits `rows` to `<warehouse>`'s Iceberg table gold_monthly_balances with pyiceberg (SqlCatalog), in a process of its own. */
function commitGold(warehouse: string, rows: [string, string, string, string, string, string][]): string {
  const script = `
import datetime as dt, json, sys
from decimal import Decimal
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import DateType, DecimalType, NestedField, StringType
warehouse, rows = sys.argv[1], json.loads(sys.argv[2])
catalog = SqlCatalog("txlake", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
schema = Schema(
    NestedField(1, "account_id", StringType(), required=False),
    NestedField(2, "currency", StringType(), required=False),
    NestedField(3, "month_start", DateType(), required=False),
    NestedField(4, "balance", DecimalType(38, 2), required=False),
    NestedField(5, "year", StringType(), required=False),
    NestedField(6, "month", StringType(), required=False),
)
name = "txlake_dev.gold_monthly_balances"
catalog.create_namespace_if_not_exists("txlake_dev")
table = catalog.load_table(name) if catalog.table_exists(name) else catalog.create_table(
    name, schema=schema, location=f"file://{warehouse}/gold/monthly_balances", properties={"format-version": "2"})
table.append(pa.Table.from_pylist([
    {"account_id": a, "currency": c, "month_start": dt.date.fromisoformat(m), "balance": Decimal(b), "year": y, "month": mo}
    for a, c, m, b, y, mo in rows], schema=schema.as_arrow()))
print(table.metadata_location)
`;
  const python = path.join(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
  return execFileSync(python, ['-c', script, warehouse, JSON.stringify(rows)], { encoding: 'utf8' }).trim();
}

/** `execute`'s result as the CLI printed it before `executeCsv` (cli/format.ts). */
async function csvOfExecute(athena: LocalAthena, sql: string, parameters: string[] = []): Promise<string> {
  const result = await athena.execute(sql, parameters);
  return formatRows(result.columns, result.rows, false);
}

/** Whether `executeCsv` has DuckDB write `sql`'s CSV (a plan of its own) rather than JS. */
const writtenByDuckdb = (athena: LocalAthena, sql: string): boolean =>
  (athena as unknown as { csvPlans: Map<string, unknown> }).csvPlans.get(sql) !== undefined;

describe('LocalAthena refreshes the views of the tables a statement names, when they changed', () => {
  test('only the tables a statement names, directly or through a view of the session, are listed', async () => {
    const root = newRoot();
    const dir = path.join(root, 'silver', 'transactions');
    await writeSilver(dir, fixture.slice(0, 1));
    const listed: string[] = [];
    const counted = (name: string, files: () => Promise<readonly string[]>) => ({
      name,
      columns: contract.tables.silver_transactions.columns,
      files: () => {
        listed.push(name);
        return files();
      },
    });
    const athena = await LocalAthena.create({
      tables: [
        counted('listed', () => directoryTable('x', dir, []).files()),
        counted('broken', () => Promise.reject(new Error('no listing'))),
      ],
      resolveUri: resolverFor(path.join(root, 'staging')),
    });
    try {
      expect((await athena.execute('SELECT 1 AS one')).rows).toEqual([['1']]);
      expect(listed).toEqual([]);
      // a table the statement does not name is not listed (so its failure does not fail it)
      expect((await athena.execute('SELECT count(*) FROM listed')).rows).toEqual([['1']]);
      await expect(athena.execute('SELECT count(*) FROM Broken')).rejects.toThrow(/no listing/);
      expect(listed).toEqual(['listed', 'broken']);
      // a view of the session over a table: a statement naming the view lists the table
      await athena.execute('CREATE VIEW ids AS SELECT transaction_id FROM listed');
      await writeSilver(dir, fixture.slice(1), {
        ingestDate: '2024-04-02',
        sourceFile: 'b.csv',
        runId: 'r2',
        fileNames: 'b_{i}',
      });
      listed.length = 0;
      expect((await athena.execute('SELECT transaction_id FROM ids ORDER BY 1')).rows).toEqual([
        ['T1'],
        ['T2'],
        ['T3'],
      ]);
      expect(listed).toEqual(['listed']);
      // a statement that replaces a table's view: the next query naming the table has the table's view again
      await athena.execute('CREATE OR REPLACE VIEW listed AS SELECT 42 AS transaction_id');
      expect((await athena.execute('SELECT count(*) FROM listed')).rows).toEqual([['3']]);
    } finally {
      athena.close();
    }
  });

  test('an Iceberg table keeps its view until its metadata location changes: a commit by another process is seen by the next query', async () => {
    const warehouse = newRoot();
    commitGold(warehouse, [
      ['ACC001', 'EUR', '2024-01-01', '500.00', '2024', '01'],
      ['ACC001', 'EUR', '2024-01-01', '500.00', '9999', '12'],
    ]);
    const catalog = new IcebergCatalog({
      catalogDbPath: catalogDbPathOf(warehouse),
      catalogName: 'txlake',
      namespace: 'txlake_dev',
    });
    const gold = icebergTable(catalog, 'gold_monthly_balances', contract.tables.gold_monthly_balances.columns);
    let listings = 0;
    const athena = await LocalAthena.create({
      tables: [{ ...gold, files: () => (listings++, gold.files()) }],
      resolveUri: resolverFor(path.join(warehouse, 'staging')),
    });
    const history = readSql('balance_history.sql');
    try {
      const before = await athena.executeCsv(history, quarterParameters('2024-Q1'));
      expect(before).toBe(
        'account_id,currency,month,balance\nACC001,EUR,2024-01,500.00\nACC001,EUR,2024-02,500.00\nACC001,EUR,2024-03,500.00\n',
      );
      expect(await athena.executeCsv(history, quarterParameters('2024-Q1'))).toBe(before);
      expect(listings).toBe(1);
      // another process commits: the next query reads the new snapshot
      const location = commitGold(warehouse, [
        ['ACC002', 'USD', '2024-01-01', '-0.50', '2024', '01'],
        ['ACC002', 'USD', '2024-01-01', '-0.50', '9999', '12'],
      ]);
      expect(await catalog.metadataLocation('gold_monthly_balances')).toBe(icebergLocalPath(location));
      const after = await athena.executeCsv(history, quarterParameters('2024-Q1'));
      expect(after).toBe(
        'account_id,currency,month,balance\nACC001,EUR,2024-01,500.00\nACC001,EUR,2024-02,500.00\nACC001,EUR,2024-03,500.00\n' +
          'ACC002,USD,2024-01,-0.50\nACC002,USD,2024-02,-0.50\nACC002,USD,2024-03,-0.50\n',
      );
      expect((await athena.execute('SELECT count(*) FROM gold_monthly_balances')).rows).toEqual([['4']]);
      expect(listings).toBe(2);
      expect(after).toBe(await csvOfExecute(athena, history, quarterParameters('2024-Q1')));
      expect(writtenByDuckdb(athena, history)).toBe(true);
    } finally {
      athena.close();
    }
  });
});

describe('LocalAthena executeCsv', () => {
  // two columns named a, one named `we,ird` (names are joined as they are)
  const values = `SELECT c1 AS a, c2 AS a, c3 AS "we,ird", * EXCLUDE (c1, c2, c3) FROM (VALUES
      ('', NULL, 'x,y', 'q"q', 'l' || chr(10) || 'l', 'r' || chr(13) || 'r', ' s ', 'É€😀', true, -1::TINYINT,
       170141183460469231731687303715884105727::HUGEINT, -0.5::DECIMAL(4,1), -0.01::DECIMAL(38,2), 12::BIGINT),
      ('a', 'b', '"', ',', chr(13) || chr(10), '', 'null', 'x', false, NULL, NULL, NULL, 326.00::DECIMAL(38,2), NULL)
    ) AS t (c1, c2, c3, c4, c5, c6, c7, c8, b, ti, hi, d1, d2, bi)`;

  test("is formatRows' CSV byte for byte, written by DuckDB for strings, integers, decimals and booleans", async () => {
    await withAthena(newRoot(), async (athena) => {
      const csv = await athena.executeCsv(values);
      expect(csv).toBe(await csvOfExecute(athena, values));
      expect(csv.split('\n')[0]).toBe('a,a,we,ird,c4,c5,c6,c7,c8,b,ti,hi,d1,d2,bi');
      expect(writtenByDuckdb(athena, values)).toBe(true);
      // wide decimals are written through DECIMAL(18, scale) where they fit: the same text
      const decimals = `SELECT d, CAST(d AS DECIMAL(38, 0)) AS whole,
          CASE WHEN abs(d) < 1e9 THEN CAST(d / 3 AS DECIMAL(20, 10)) END AS fine,
          CASE WHEN abs(d) < 1e16 THEN CAST(d AS DECIMAL(18, 2)) END AS narrow
        FROM (VALUES (9999999999999999.99::DECIMAL(38, 2)), (-9999999999999999.99), (10000000000000000.00),
          (-10000000000000000.01), (99999999999999999999999999999999999.99), (0.00), (-0.01), (123.45), (NULL)) AS t (d)`;
      expect(await athena.executeCsv(decimals)).toBe(await csvOfExecute(athena, decimals));
      expect(writtenByDuckdb(athena, decimals)).toBe(true);
      // parameters, a trailing semicolon, no rows
      const filtered = `${values} WHERE c8 = ? ORDER BY 1;`;
      expect(await athena.executeCsv(filtered, ['x'])).toBe(await csvOfExecute(athena, filtered, ['x']));
      expect(await athena.executeCsv(filtered, ['none'])).toBe('a,a,we,ird,c4,c5,c6,c7,c8,b,ti,hi,d1,d2,bi\n');
      expect(writtenByDuckdb(athena, filtered)).toBe(true);
      // the case study through the SQL files
      const root = newRoot();
      await writeSilver(path.join(root, 'silver', 'transactions'), fixture);
      const gold = await refreshGold(root, '2024-01');
      await withGold(gold, async (g) => {
        const history = readSql('balance_history.sql');
        for (const quarter of ['2024-Q1', '2024-Q2', '2023-Q4']) {
          const text = await g.executeCsv(history, quarterParameters(quarter));
          expect(text).toBe(await csvOfExecute(g, history, quarterParameters(quarter)));
        }
        expect(writtenByDuckdb(g, history)).toBe(true);
      });
    });
  });

  test('other types, UNLOAD and several statements are rendered in JS: the same text', async () => {
    await withAthena(newRoot(), async (athena) => {
      for (const sql of [
        `SELECT 1.0::DOUBLE AS d, 0.1::FLOAT AS f, 'infinity'::DATE AS day, TIMESTAMP '2024-01-31 23:59:59.999' AS ts, [1, 2] AS l, 'x,y' AS s`,
        "SELECT 1 AS a; SELECT 2 AS b, 'q\"' AS c",
        'SELECT 1 AS a; -- a comment after the semicolon',
      ]) {
        expect(await athena.executeCsv(sql)).toBe(await csvOfExecute(athena, sql));
        expect(writtenByDuckdb(athena, sql)).toBe(false);
      }
      const unload = `UNLOAD (SELECT i, '2000' AS year, '01' AS month FROM range(3) AS t (i))
        TO 's3://${STAGING_BUCKET}/csv/' WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])`;
      expect(await athena.executeCsv(unload)).toBe('\n');
      await expect(athena.executeCsv('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
      expect(await athena.executeCsv('SELECT 1 AS one')).toBe('one\n1\n');
    });
  });

  test('csvText is formatRows', () => {
    const result = {
      columns: ['a', 'b,c'],
      rows: [
        ['', null],
        ['"x"', 'l\r\nm'],
        ['plain', ' y '],
      ],
    };
    expect(csvText(result)).toBe(formatRows(result.columns, result.rows, false));
  });
});
