/**
 * The local Iceberg catalog reader (runner/local/iceberg-catalog.ts) against real tables: written by
 * pyiceberg (SqlCatalog) and by Spark with the Glue job's Iceberg runtime (JdbcCatalog V1), both
 * named `txlake` on a SQLite catalog.db; the expected values are those implementations' own scans.
 * Then LocalAthena reading them as Iceberg snapshots.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import contract from '../../../contract/transactions.v1.json';
import {
  catalogDbPathOf,
  IcebergCatalog,
  IcebergCatalogBusyError,
  IcebergDeleteFilesError,
  IcebergNoSnapshotAtInstantError,
  IcebergRefNotFoundError,
  IcebergTableNotFoundError,
  icebergLocalPath,
  quoteUnsafeIntegers,
  readSqliteFileConsistently,
  selectSnapshot,
} from '../../../runner/local/iceberg-catalog';
import { parquetFiles } from '../../../runner/local/athena-table-views';
import { LocalAthena, icebergTable, type LocalTable } from '../../../runner/local/local-athena';
import { tempDirs } from '../../helpers/lake';

const REPO = path.join(__dirname, '..', '..', '..');
const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'iceberg');

const newDir = tempDirs('txlake-iceberg-');

/** Runs a Python script of the .venv; resolves with its stdout. */
function runPython(args: readonly string[], started?: (child: ChildProcess) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { cwd: REPO, env: { ...process.env, TZ: 'UTC' } });
    started?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`${args.join(' ')} exited ${code}:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`)),
    );
  });
}

const catalogOf = (dir: string): IcebergCatalog =>
  new IcebergCatalog({ catalogDbPath: catalogDbPathOf(dir), catalogName: 'txlake', namespace: 'txlake_dev' });

/** `sql` on a LocalAthena over `tables`. */
async function query(tables: readonly LocalTable[], sql: string): Promise<(string | null)[][]> {
  const athena = await LocalAthena.create({
    tables,
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

const silverColumns = contract.tables.silver_transactions.columns;
const goldColumns = contract.tables.gold_monthly_balances.columns;

// ---------------------------------------------------------------------------------------------
// Spark: one session for the whole file, started first so that it overlaps the pyiceberg tests.

interface SparkTable {
  readonly snapshots: {
    snapshot_id: string;
    parent_snapshot_id: string | null;
    operation: string;
    transaction_ids: string[];
  }[];
  readonly refs: Record<string, { type: string; snapshot_id: string }>;
  readonly current_files: { path: string; records: number; content: number }[];
}
interface SparkFixture {
  readonly dir: string;
  readonly silver_transactions: SparkTable;
  readonly mor_transactions: SparkTable;
}

let sparkChild: ChildProcess | undefined;
let sparkFixture: Promise<SparkFixture>;

beforeAll(() => {
  const dir = newDir();
  const jars = fs
    .readFileSync(path.join(REPO, 'tools', 'iceberg-runtime', 'target', 'classpath.txt'), 'utf8')
    .trim()
    .split(':')
    .join(',');
  sparkFixture = runPython([path.join(FIXTURES, 'spark_tables.py'), dir, jars], (child) => {
    sparkChild = child;
  }).then((out) => ({ dir, ...(JSON.parse(out) as Omit<SparkFixture, 'dir'>) }));
  // awaited by the Spark tests; a failure is reported there
  sparkFixture.catch(() => undefined);
});

afterAll(() => {
  if (sparkChild && sparkChild.exitCode === null && sparkChild.pid !== undefined) sparkChild.kill();
});

// ---------------------------------------------------------------------------------------------

describe('pure parts', () => {
  test('icebergLocalPath accepts file:/, file:/// and bare absolute paths only', () => {
    expect(icebergLocalPath('file:/tmp/lake/a.parquet')).toBe('/tmp/lake/a.parquet');
    expect(icebergLocalPath('file:///tmp/lake/a.parquet')).toBe('/tmp/lake/a.parquet');
    expect(icebergLocalPath('/tmp/lake/a.parquet')).toBe('/tmp/lake/a.parquet');
    expect(() => icebergLocalPath('s3://bucket/a.parquet')).toThrow(/not a local file location/);
    expect(() => icebergLocalPath('file://host/a.parquet')).toThrow(/not a local file location/);
    expect(() => icebergLocalPath('relative/a.parquet')).toThrow(/not a local file location/);
  });

  test('quoteUnsafeIntegers keeps 64-bit integers exact and leaves strings and other numbers alone', () => {
    const text =
      '{"snapshot-id": 8131055184617204255, "n": -9007199254740993, "small": 42, "f": 1.5e300, ' +
      '"s": "id 8131055184617204255 \\" 9007199254740993", "a": [9007199254740991, 9007199254740992]}';
    expect(JSON.parse(quoteUnsafeIntegers(text))).toEqual({
      'snapshot-id': '8131055184617204255',
      n: '-9007199254740993',
      small: 42,
      f: 1.5e300,
      s: 'id 8131055184617204255 " 9007199254740993',
      a: [9007199254740991, '9007199254740992'],
    });
  });
});

// ---------------------------------------------------------------------------------------------

interface PyicebergTable {
  readonly metadata_location: string;
  readonly current_snapshot_id: string | null;
  readonly refs: Record<string, { snapshot_id: string; type: string }>;
  readonly snapshot_log: { snapshot_id: string; timestamp_ms: number }[];
  readonly snapshots: {
    snapshot_id: string;
    parent_snapshot_id: string | null;
    timestamp_ms: number;
    operation: string;
    files: string[];
    records: number;
    transaction_ids: string[] | null;
  }[];
}

describe('tables written by pyiceberg (SqlCatalog)', () => {
  let dir: string;
  let expected: { silver_transactions: PyicebergTable; gold_monthly_balances: PyicebergTable };
  let catalog: IcebergCatalog;

  beforeAll(async () => {
    dir = newDir();
    expected = JSON.parse(await runPython([path.join(FIXTURES, 'pyiceberg_tables.py'), dir]));
    catalog = catalogOf(dir);
  }, 120_000);

  const snapshotOf = (table: PyicebergTable, operation: string, nth = 0) =>
    table.snapshots.filter((s) => s.operation === operation)[nth];

  test('which tables exist, in which catalog and namespace', async () => {
    expect(await catalog.tableExists('silver_transactions')).toBe(true);
    expect(await catalog.tableExists('empty_table')).toBe(true);
    expect(await catalog.tableExists('no_such_table')).toBe(false);
    const db = catalogDbPathOf(dir);
    expect(
      await new IcebergCatalog({ catalogDbPath: db, catalogName: 'txlake', namespace: 'txlake_prod' }).tableExists(
        'silver_transactions',
      ),
    ).toBe(false);
    expect(
      await new IcebergCatalog({ catalogDbPath: db, catalogName: 'other', namespace: 'txlake_dev' }).tableExists(
        'silver_transactions',
      ),
    ).toBe(false);
    await expect(catalog.loadTable('no_such_table')).rejects.toThrow(IcebergTableNotFoundError);
    await expect(catalog.loadTable('no_such_table')).rejects.toThrow(
      `Iceberg table txlake.txlake_dev.no_such_table does not exist in the catalog ${db}`,
    );
    expect(await catalog.metadataLocation('silver_transactions')).toBe(
      icebergLocalPath(expected.silver_transactions.metadata_location),
    );
  });

  test('metadata: schema, snapshots, main history and refs as pyiceberg has them', async () => {
    const md = await catalog.loadTable('silver_transactions');
    const want = expected.silver_transactions;
    expect(md.identifier).toBe('txlake.txlake_dev.silver_transactions');
    expect(md.formatVersion).toBe(2);
    expect(md.location).toBe(path.join(dir, 'silver', 'transactions'));
    expect(md.schema.fields.map((f) => [f.id, f.name, f.type])).toEqual([
      [1, 'transaction_id', 'string'],
      [2, 'customer_id', 'string'],
      [3, 'amount', 'decimal(16, 2)'],
      [4, 'currency', 'string'],
      [5, 'transaction_ts', 'timestamptz'],
      [6, 'ingest_date', 'date'],
      [7, 'source_file', 'string'],
      [8, 'source_record', 'long'],
      [9, 'run_id', 'string'],
    ]);
    expect(md.partitionSpecs).toEqual([
      { specId: 0, fields: [{ sourceId: 6, fieldId: 1000, name: 'ingest_date', transform: 'identity' }] },
    ]);
    expect(md.currentSnapshotId).toBe(want.current_snapshot_id);
    // ids beyond 2^53 are exact
    expect(md.snapshots.some((s) => BigInt(s.snapshotId) > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    expect(
      md.snapshots.map((s) => ({
        snapshot_id: s.snapshotId,
        parent_snapshot_id: s.parentSnapshotId ?? null,
        timestamp_ms: s.timestampMs,
        operation: s.summary.operation,
      })),
    ).toEqual(
      want.snapshots.map((s) => ({
        snapshot_id: s.snapshot_id,
        parent_snapshot_id: s.parent_snapshot_id,
        timestamp_ms: s.timestamp_ms,
        operation: s.operation,
      })),
    );
    expect(md.snapshots[0].summary['txlake.run-id']).toBe('run-1');
    expect(md.snapshots[0].summary['added-records']).toBe('3');
    expect(md.snapshotLog).toEqual(
      want.snapshot_log.map((e) => ({ snapshotId: e.snapshot_id, timestampMs: e.timestamp_ms })),
    );
    expect(Object.fromEntries(md.refs.map((r) => [r.name, { snapshot_id: r.snapshotId, type: r.type }]))).toEqual(
      want.refs,
    );
    expect(md.refs.find((r) => r.name === 'audit_run-4')?.type).toBe('branch');
    expect(md.refs.find((r) => r.name === 'before-overwrite')?.type).toBe('tag');
  });

  test("every snapshot's live data files and record counts equal pyiceberg's scan", async () => {
    const md = await catalog.loadTable('silver_transactions');
    const want = expected.silver_transactions.snapshots;
    expect(want).toHaveLength(6);
    for (const s of want) {
      const snapshot = md.snapshots.find((x) => x.snapshotId === s.snapshot_id);
      expect(snapshot).toBeDefined();
      const files = await catalog.liveDataFiles(md, snapshot!);
      expect(files.map((f) => f.path)).toEqual(s.files.map(icebergLocalPath).sort());
      expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(s.records);
      expect(new Set(files.map((f) => f.fileFormat))).toEqual(new Set(['PARQUET']));
    }
  });

  test('main after the overwrite: the replaced file is no longer live; partition values as Iceberg stores them', async () => {
    const { metadata, snapshot, files } = await catalog.tableFiles('silver_transactions');
    const want = expected.silver_transactions;
    expect(snapshot?.snapshotId).toBe(want.current_snapshot_id);
    expect(snapshot?.snapshotId).toBe(metadata.currentSnapshotId);
    expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(6);
    const firstFile = icebergLocalPath(want.snapshots[0].files[0]);
    expect(fs.existsSync(firstFile)).toBe(true); // still on disk, but not part of main any more
    expect(files.map((f) => f.path)).not.toContain(firstFile);
    const days = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
    expect(files.map((f) => f.partition)).toEqual(
      ['2024-02-01', '2024-03-01', '2024-04-01', '2024-05-02'].map((d) => ({ ingest_date: days(d) })),
    );
    expect(files.every((f) => f.specId === 0 && f.fileSizeInBytes > 0)).toBe(true);
  });

  test('as of an instant: the snapshot that was main then (snapshot log), never a branch-only snapshot', async () => {
    const md = await catalog.loadTable('silver_transactions');
    const log = expected.silver_transactions.snapshot_log;
    expect(log).toHaveLength(5); // the branch commit is not in main's history
    for (const [i, entry] of log.entries()) {
      expect(selectSnapshot(md, { asOf: new Date(entry.timestamp_ms) })?.snapshotId).toBe(entry.snapshot_id);
      const justBeforeNext = i + 1 < log.length ? log[i + 1].timestamp_ms - 1 : entry.timestamp_ms + 86_400_000;
      expect(selectSnapshot(md, { asOf: new Date(justBeforeNext) })?.snapshotId).toBe(entry.snapshot_id);
    }
    const first = log[0].timestamp_ms;
    const asOfFirst = await catalog.tableFiles('silver_transactions', { asOf: new Date(first) });
    expect(asOfFirst.files.reduce((n, f) => n + f.recordCount, 0)).toBe(3);

    const before = new Date(first - 1);
    expect(() => selectSnapshot(md, { asOf: before })).toThrow(IcebergNoSnapshotAtInstantError);
    await expect(catalog.tableFiles('silver_transactions', { asOf: before })).rejects.toThrow(
      `Iceberg table txlake.txlake_dev.silver_transactions has no snapshot at or before ${before.toISOString()}: ` +
        `its first snapshot was committed at ${new Date(first).toISOString()}`,
    );
    try {
      selectSnapshot(md, { asOf: before });
    } catch (e) {
      expect(e).toBeInstanceOf(IcebergNoSnapshotAtInstantError);
      expect((e as IcebergNoSnapshotAtInstantError).firstSnapshotAt).toEqual(new Date(first));
    }
  });

  test('refs: a branch and a tag read their own heads; main is the default; an unknown ref throws', async () => {
    const want = expected.silver_transactions;
    const branch = await catalog.tableFiles('silver_transactions', { ref: 'audit_run-4' });
    expect(branch.snapshot?.snapshotId).toBe(want.refs['audit_run-4'].snapshot_id);
    expect(branch.files.reduce((n, f) => n + f.recordCount, 0)).toBe(snapshotOf(want, 'append', 3).records);
    expect(branch.files.reduce((n, f) => n + f.recordCount, 0)).toBe(8);
    const tag = await catalog.tableFiles('silver_transactions', { ref: 'before-overwrite' });
    expect(tag.files.reduce((n, f) => n + f.recordCount, 0)).toBe(7);
    const main = await catalog.tableFiles('silver_transactions', { ref: 'main' });
    expect(main.snapshot?.snapshotId).toBe(want.current_snapshot_id);
    await expect(catalog.tableFiles('silver_transactions', { ref: 'audit_nope' })).rejects.toThrow(
      IcebergRefNotFoundError,
    );
    await expect(catalog.tableFiles('silver_transactions', { ref: 'audit_run-4', asOf: new Date() })).rejects.toThrow(
      'selectSnapshot: give asOf or ref, not both',
    );
  });

  test('a table created and never written: no snapshot, no files; any instant is before its first snapshot', async () => {
    const { metadata, snapshot, files } = await catalog.tableFiles('empty_table');
    expect(metadata.currentSnapshotId).toBeUndefined();
    expect(metadata.snapshots).toEqual([]);
    expect(snapshot).toBeUndefined();
    expect(files).toEqual([]);
    await expect(catalog.tableFiles('empty_table', { asOf: new Date() })).rejects.toThrow(
      /empty_table has no snapshot at or before .*: it has no snapshot yet/,
    );
  });

  test('gold: identity partitions of strings', async () => {
    const { files } = await catalog.tableFiles('gold_monthly_balances');
    expect(files.map((f) => [f.partition, f.recordCount])).toEqual([
      [{ year: '2024', month: '01' }, 1],
      [{ year: '9999', month: '12' }, 1],
    ]);
  });

  describe('LocalAthena over the Iceberg tables', () => {
    test('main: exactly the live rows (the overwritten rows are not read although their file remains)', async () => {
      const silver = icebergTable(catalog, 'silver_transactions', silverColumns);
      const table = path.join(dir, 'silver', 'transactions');
      // a glob of the table's directory would see the replaced files too
      expect(parquetFiles(table).length).toBeGreaterThan((await silver.files()).length);
      const rows = await query(
        [silver],
        `SELECT transaction_id, customer_id, amount, currency, transaction_ts, ingest_date, source_file,
                source_record, run_id FROM silver_transactions ORDER BY transaction_id`,
      );
      expect(rows).toEqual([
        ['T0', 'ACC004', '3.00', 'CHF', '2024-01-02 00:00:00', '2024-02-01', 'run-1.csv', '3', 'run-1'],
        ['T3', 'ACC002', '-0.50', 'USD', '2024-02-29 12:00:00', '2024-03-01', 'run-2.csv', '1', 'run-2'],
        ['T4', 'ACC002', '10.00', 'USD', '2024-02-01 00:00:00', '2024-03-01', 'run-2.csv', '2', 'run-2'],
        ['T5', 'ACC003', '1.00', 'GBP', '2024-01-10 00:00:00', '2024-04-01', 'run-3.csv', '1', 'run-3'],
        ['T6', 'ACC003', '2.00', 'GBP', '2024-03-10 00:00:00', '2024-04-01', 'run-3.csv', '2', 'run-3'],
        ['T7', 'ACC001', '42.00', 'EUR', '2024-03-01 00:00:00', '2024-05-02', 'run-5.csv', '1', 'run-5'],
      ]);
      expect(rows.map((r) => r[0])).toEqual(
        expected.silver_transactions.snapshots[expected.silver_transactions.snapshots.length - 1].transaction_ids,
      );
    });

    test('as of an instant and on a branch: the rows of that snapshot', async () => {
      const want = expected.silver_transactions;
      const ids = 'SELECT transaction_id FROM silver_transactions ORDER BY 1';
      const firstAt = new Date(want.snapshot_log[0].timestamp_ms);
      expect(
        (await query([icebergTable(catalog, 'silver_transactions', silverColumns, { asOf: firstAt })], ids)).flat(),
      ).toEqual(want.snapshots[0].transaction_ids);
      expect(
        (
          await query([icebergTable(catalog, 'silver_transactions', silverColumns, { ref: 'audit_run-4' })], ids)
        ).flat(),
      ).toEqual(['B1', 'T0', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6']);
    });

    test("gold's year and month come from the files (Hive directory names are not read)", async () => {
      const rows = await query(
        [icebergTable(catalog, 'gold_monthly_balances', goldColumns)],
        `SELECT account_id, month_start, balance, year, month, typeof(year) FROM gold_monthly_balances
         WHERE year = '9999' OR month = '01' ORDER BY year`,
      );
      expect(rows).toEqual([
        ['ACC001', '2024-01-01', '326.00', '2024', '01', 'VARCHAR'],
        ['ACC001', '2024-01-01', '326.00', '9999', '12', 'VARCHAR'],
      ]);
    });

    test('a table without a snapshot is the empty view; a commit by another process is seen by the next query', async () => {
      const athena = await LocalAthena.create({
        tables: [icebergTable(catalog, 'empty_table', silverColumns, {}, 'late')],
        resolveUri: () => {
          throw new Error('no UNLOAD here');
        },
      });
      try {
        expect((await athena.execute('SELECT count(*) FROM late')).rows).toEqual([['0']]);
        const described = await athena.execute('DESCRIBE late');
        expect(described.rows.map((r) => r[0])).toEqual(silverColumns.map((c) => c.name));
        const appended = JSON.parse(
          await runPython([path.join(FIXTURES, 'pyiceberg_tables.py'), dir, 'append-to-empty-table']),
        ) as { snapshot_id: string };
        expect((await catalog.loadTable('empty_table')).currentSnapshotId).toBe(appended.snapshot_id);
        expect((await athena.execute('SELECT transaction_id, amount FROM late')).rows).toEqual([['E1', '5.00']]);
      } finally {
        athena.close();
      }
    });

    test('a missing table fails the query', async () => {
      // (a table is looked up when a statement names it)
      await expect(
        query([icebergTable(catalog, 'no_such_table', silverColumns)], 'SELECT count(*) FROM no_such_table'),
      ).rejects.toThrow(IcebergTableNotFoundError);
    });
  });

  describe('consistent reads of catalog.db', () => {
    const copyCatalog = (): string => {
      const copy = newDir();
      fs.copyFileSync(catalogDbPathOf(dir), catalogDbPathOf(copy));
      return catalogDbPathOf(copy);
    };

    test('a missing or empty catalog file has no tables', async () => {
      const missing = path.join(newDir(), 'catalog.db');
      expect(await readSqliteFileConsistently(missing)).toBeUndefined();
      const reader = (db: string) =>
        new IcebergCatalog({ catalogDbPath: db, catalogName: 'txlake', namespace: 'txlake_dev' });
      expect(await reader(missing).tableExists('silver_transactions')).toBe(false);
      const empty = path.join(newDir(), 'catalog.db');
      fs.writeFileSync(empty, '');
      expect(await reader(empty).tableExists('silver_transactions')).toBe(false);
    });

    test('a rollback journal (a transaction in flight) makes the read wait, then fail', async () => {
      const db = copyCatalog();
      fs.writeFileSync(`${db}-journal`, 'x');
      const started = Date.now();
      await expect(readSqliteFileConsistently(db, { attempts: 3, retryDelayMs: 20 })).rejects.toThrow(
        IcebergCatalogBusyError,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      await expect(readSqliteFileConsistently(db, { attempts: 3, retryDelayMs: 20 })).rejects.toThrow(
        `could not read a consistent state of ${db} in 3 attempts: ${db}-journal exists (a transaction is in progress)`,
      );
      // the transaction ends during the retries: the read succeeds
      setTimeout(() => fs.rmSync(`${db}-journal`), 60);
      const bytes = await readSqliteFileConsistently(db, { attempts: 20, retryDelayMs: 20 });
      expect(bytes?.subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
    });

    test('while another process commits to the catalog, every read sees one committed state', async () => {
      const db = copyCatalog();
      const reader = new IcebergCatalog({ catalogDbPath: db, catalogName: 'txlake', namespace: 'txlake_dev' });
      const a = await reader.metadataLocation('silver_transactions');
      const b = '/elsewhere/00099-x.metadata.json';
      // a writer in SQLite's default (rollback journal) mode, as Spark's JDBC driver and pyiceberg use it
      const writer = runPython([
        '-c',
        `
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
commits = 0
end = time.time() + 1.5
while time.time() < end:
    for location in (sys.argv[2], sys.argv[3]):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE iceberg_tables SET metadata_location = ? WHERE table_name = 'silver_transactions'", (location,))
        # a larger transaction: more pages, a longer window for a torn read
        conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        conn.execute("DELETE FROM filler")
        conn.execute("INSERT INTO filler VALUES (randomblob(200000))")
        conn.execute("COMMIT")
        commits += 1
        time.sleep(0.003)
print(commits)
`,
        db,
        `file://${a}`,
        b,
      ]);
      const seen = new Map<string, number>();
      let done = false;
      const finished = (): void => {
        done = true;
      };
      writer.then(finished, finished);
      let reads = 0;
      while (!done) {
        const location = await reader.metadataLocation('silver_transactions');
        seen.set(String(location), (seen.get(String(location)) ?? 0) + 1);
        reads++;
        // the reads resolve without I/O callbacks: let the writer's exit be seen
        await new Promise((resolve) => setImmediate(resolve));
      }
      const commits = Number((await writer).trim());
      expect(commits).toBeGreaterThan(20);
      expect(reads).toBeGreaterThan(10);
      expect([...seen.keys()].every((l) => l === a || l === b)).toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('tables written by Spark (JdbcCatalog V1, the Glue job runtime)', () => {
  let fixture: SparkFixture;
  let catalog: IcebergCatalog;

  beforeAll(async () => {
    fixture = await sparkFixture;
    catalog = catalogOf(fixture.dir);
  }, 240_000);

  test("silver (months(transaction_ts)): every snapshot's records and main's files equal Spark's", async () => {
    const md = await catalog.loadTable('silver_transactions');
    const want = fixture.silver_transactions;
    expect(md.snapshots.map((s) => [s.snapshotId, s.parentSnapshotId ?? null, s.summary.operation])).toEqual(
      want.snapshots.map((s) => [s.snapshot_id, s.parent_snapshot_id, s.operation]),
    );
    for (const s of want.snapshots) {
      const files = await catalog.liveDataFiles(
        md,
        md.snapshots.find((x) => x.snapshotId === s.snapshot_id)!,
      );
      expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(s.transaction_ids.length);
    }
    const main = await catalog.tableFiles('silver_transactions');
    expect(main.files.map((f) => ({ path: f.path, records: f.recordCount }))).toEqual(
      want.current_files.map((f) => ({ path: icebergLocalPath(f.path), records: f.records })),
    );
    // Spark writes `file:/…` locations
    expect(want.current_files[0].path.startsWith('file:/')).toBe(true);
    // months since 1970-01: 2024-01 → 648
    expect(main.files.map((f) => f.partition)).toEqual([648, 649, 650].map((m) => ({ transaction_ts_month: m })));
    expect(Object.fromEntries(md.refs.map((r) => [r.name, { type: r.type, snapshot_id: r.snapshotId }]))).toEqual(
      want.refs,
    );
  });

  test('LocalAthena reads main and the audit branch as Spark does', async () => {
    const want = fixture.silver_transactions;
    const idsOf = (snapshotId: string) => want.snapshots.find((s) => s.snapshot_id === snapshotId)!.transaction_ids;
    const main = await query(
      [icebergTable(catalog, 'silver_transactions', silverColumns)],
      'SELECT transaction_id, amount, transaction_ts, ingest_date FROM silver_transactions ORDER BY 1',
    );
    expect(main).toEqual([
      ['S2', '-0.50', '2024-01-15 12:00:00', '2024-02-01'],
      ['S4', '10.00', '2024-02-29 12:00:00', '2024-03-01'],
      ['S5', '1.00', '2024-03-10 00:00:00', '2024-03-01'],
    ]);
    expect(main.map((r) => r[0])).toEqual(idsOf(want.refs.main.snapshot_id));
    const branch = await query(
      [icebergTable(catalog, 'silver_transactions', silverColumns, { ref: 'audit_run-3' })],
      'SELECT transaction_id, transaction_ts FROM silver_transactions ORDER BY 1',
    );
    expect(branch.map((r) => r[0])).toEqual(idsOf(want.refs['audit_run-3'].snapshot_id));
    expect(branch[0]).toEqual(['S1', '2024-01-31 23:59:59.999']);
  });

  test('a merge-on-read snapshot (position delete file) is refused; its parent is read', async () => {
    const want = fixture.mor_transactions;
    const deleteFile = want.current_files.find((f) => f.content === 1);
    expect(deleteFile).toBeDefined();
    const md = await catalog.loadTable('mor_transactions');
    const error = await catalog.tableFiles('mor_transactions').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IcebergDeleteFilesError);
    expect((error as IcebergDeleteFilesError).snapshotId).toBe(want.refs.main.snapshot_id);
    expect((error as IcebergDeleteFilesError).deleteFiles).toEqual([icebergLocalPath(deleteFile!.path)]);
    expect((error as Error).message).toBe(
      `Iceberg table txlake.txlake_dev.mor_transactions, snapshot ${want.refs.main.snapshot_id}, holds 1 delete ` +
        `file(s) (merge-on-read), e.g. ${icebergLocalPath(deleteFile!.path)}; the local reader reads ` +
        "copy-on-write snapshots only (the lake's tables are written with write.delete/update/merge.mode=copy-on-write)",
    );
    await expect(
      query([icebergTable(catalog, 'mor_transactions', silverColumns)], 'SELECT count(*) FROM mor_transactions'),
    ).rejects.toThrow(IcebergDeleteFilesError);
    // the snapshot before the DELETE holds data files only
    const parent = want.snapshots[0];
    expect(parent.operation).toBe('append');
    const files = await catalog.liveDataFiles(
      md,
      md.snapshots.find((s) => s.snapshotId === parent.snapshot_id)!,
    );
    expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(parent.transaction_ids.length);
  });
});
