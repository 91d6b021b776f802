/**
 * Benchmark (b) of issue #7: the balance history of one quarter at up to 100 M silver transactions,
 * the gold snapshot path (sql/gold_monthly_balances.sql, published like publish-gold does, then
 * sql/balance_history.sql over the quarter's gold partitions and the tail partition) against the
 * case study's naive window query over all of silver (sql/transactions_view.sql +
 * sql/balance_history_case_shape.sql). Both run through LocalAthena (the local Athena stand-in,
 * DuckDB) with the tables of the data contract, like `txlake balance-history` does. The snapshot
 * path's timed runs are what the CLI does for its CSV output (issue #14): LocalAthena.executeCsv,
 * the statement's result as the CSV text the command prints; the naive path's are execute (rows).
 *
 *   npx ts-node --transpile-only bench/balance-history.ts --rows 100000000 --work /tmp/bh
 *
 * prints one JSON document on stdout; progress goes to stderr. Options: --rows N, --work DIR,
 * --iterations N (snapshot timed runs, default 20), --naive-iterations N (default 5), --quarter
 * YYYY-Qn (default 2024-Q1), --accounts N (default min(1 M, rows / 100)), --memory-limit SIZE
 * (DuckDB, default 8GB), --reuse-gold (keep a gold snapshot built earlier for the same silver).
 *
 * Silver is generated with DuckDB SQL (range() and hash(), so deterministic) in the silver layout
 * of SPEC section 4 and cached in the work dir: a later run with the same rows, accounts and
 * generator version reuses it (its manifest.json says so) and reports no silver build time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import contract from '../contract/transactions.v1.json';
import { TABLES } from '../core/lake-layout';
import { balanceHistoryValues, parseQuarter } from '../core/quarter';
import { loadSql } from '../core/sql-files';
import { formatRows } from '../cli/format';
import { type SnapshotDiagnostics, snapshotDiagnostics } from './balance-history-diagnostics';
import { buildGold } from './balance-history-gold';
import { lakeOf, monthOfFile, openAthena, parquetFiles, partitionsOf } from './balance-history-lake';
import { compareRows, columnBytes, type PathBench, profiledRun, summarizePath } from './balance-history-measure';
import { ensureSilver } from './balance-history-silver';
import { memory, round, sum, timed } from './balance-history-stats';

// The parts of the bench live beside this file: the lake and its tables (balance-history-lake.ts),
// silver generation (-silver), the gold snapshot build (-gold), measuring a path (-measure), the
// snapshot diagnostics (-diagnostics) and timing statistics (-stats).
export type { SnapshotDiagnostics } from './balance-history-diagnostics';
export type { PathBench } from './balance-history-measure';

export interface BenchOptions {
  /** silver transactions to generate */
  readonly rows: number;
  /** work directory: the lake (`<workDir>/lake/<bucket>/...`), DuckDB spill files, the manifest */
  readonly workDir: string;
  /** timed runs of the snapshot path (default 20) */
  readonly iterations?: number;
  /** timed runs of the naive path (default 5) */
  readonly naiveIterations?: number;
  /** default 2024-Q1 */
  readonly quarter?: string;
  /** distinct accounts (customer_id); default min(1 000 000, max(1, rows / 100)) */
  readonly accounts?: number;
  /** DuckDB memory_limit for every instance the bench opens (default '8GB'); spills to the work dir */
  readonly memoryLimit?: string;
  /** reuse the gold snapshot of an earlier run over the same silver instead of rebuilding it */
  readonly reuseGold?: boolean;
  /** progress lines (default: none) */
  readonly log?: (line: string) => void;
}

export interface BalanceHistoryBench {
  readonly rows: number;
  readonly accounts: number;
  /** (account, currency) pairs in silver */
  readonly pairs: number;
  readonly silver: {
    readonly files: number;
    readonly bytes: number;
    readonly partitions: number;
    readonly build_seconds?: number;
  };
  readonly gold: {
    readonly files: number;
    readonly bytes: number;
    readonly rows: number;
    readonly partitions: number;
    /** UNLOAD through LocalAthena + publish-gold, full rebuild from the first month */
    readonly build_seconds: number;
    readonly unload_seconds: number;
    readonly publish_seconds: number;
    readonly reused?: boolean;
  };
  readonly quarter: string;
  readonly snapshot: PathBench & { readonly diagnostics: SnapshotDiagnostics };
  readonly naive: PathBench;
  /** naive.bytes_read / snapshot.bytes_read */
  readonly bytes_ratio: number;
  /** naive.p50_ms / snapshot.p50_ms */
  readonly speedup_p50: number;
  readonly same_result: true;
  readonly environment: {
    readonly duckdb: string;
    readonly node: string;
    readonly threads: number;
    readonly memory_limit: string;
    readonly cpus: number;
    /** os.loadavg() (1, 5, 15 min) when the measurements started and ended: the machine is shared */
    readonly load_average: { readonly start: number[]; readonly end: number[] };
  };
}

export async function benchBalanceHistory(options: BenchOptions): Promise<BalanceHistoryBench> {
  const log = options.log ?? ((): void => undefined);
  const rows = options.rows;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  const accounts = options.accounts ?? Math.min(1_000_000, Math.max(1, Math.floor(rows / 100)));
  const quarter = options.quarter ?? '2024-Q1';
  const q = parseQuarter(quarter);
  const iterations = options.iterations ?? 20;
  const naiveIterations = options.naiveIterations ?? 5;
  const memoryLimit = options.memoryLimit ?? '8GB';
  const workDir = path.resolve(options.workDir);
  fs.mkdirSync(workDir, { recursive: true });
  // spill files left by a run that was killed (DuckDB removes its own on a normal close)
  fs.rmSync(path.join(workDir, 'duckdb-tmp'), { recursive: true, force: true });
  const lake = lakeOf(workDir);
  const settings = { workDir, memoryLimit };

  // 1. silver
  const silverBuild = await ensureSilver(lake, { rows, accounts, workDir, memoryLimit }, log);
  const silverFiles = parquetFiles(lake.silver);

  // 2. gold
  const goldBuild = await buildGold(
    lake,
    silverBuild.manifest,
    { ...settings, reuse: options.reuseGold ?? false },
    log,
  );
  const goldFiles = parquetFiles(lake.gold);

  // 3. both paths on one LocalAthena over every table of the contract (as `txlake balance-history`)
  const snapshotSql = loadSql('balance_history');
  const snapshotParams = balanceHistoryValues(quarter);
  const naiveSql = loadSql('balance_history_case_shape');
  const naiveParams = balanceHistoryValues(quarter).slice(0, 6);
  // the quarter's months and the gold snapshot's open-ended tail month (sql/gold_monthly_balances.sql)
  const snapshotMonths: string[] = [...q.months, '9999-12'];
  const snapshotLayout = goldFiles.filter((f) => snapshotMonths.includes(monthOfFile(lake.gold, f.file) ?? ''));

  const { athena } = await openAthena(lake, settings);
  try {
    const environment = {
      duckdb: (await athena.execute('SELECT version()')).rows[0][0] ?? '',
      node: process.version,
      threads: Number((await athena.execute(`SELECT current_setting('threads')`)).rows[0][0]),
      memory_limit: (await athena.execute(`SELECT current_setting('memory_limit')`)).rows[0][0] ?? '',
      cpus: os.cpus().length,
      load_average: { start: os.loadavg().map((x) => round(x)), end: [] as number[] },
    };
    const goldRows = Number((await athena.execute(`SELECT count(*) FROM ${TABLES.gold}`)).rows[0][0]);

    log(`snapshot: warm-up (profiled) ${quarter}`);
    const snapWarm = await profiledRun(
      athena,
      snapshotSql,
      snapshotParams,
      path.join(workDir, 'profile-snapshot.json'),
    );
    log(`snapshot: warm-up ${round(snapWarm.ms)} ms, ${snapWarm.rows.length} rows`);

    log('naive: creating the transactions view (sql/transactions_view.sql); warm-up (profiled)');
    await athena.execute(loadSql('transactions_view'));
    const naiveWarm = await profiledRun(athena, naiveSql, naiveParams, path.join(workDir, 'profile-naive.json'));
    log(`naive: warm-up ${round(naiveWarm.ms)} ms, ${naiveWarm.rows.length} rows`);
    compareRows(snapWarm.rows, naiveWarm.rows);
    const resultRows = snapWarm.rows.length;
    log(`same result: ${resultRows} rows; ${memory()}`);
    // the CLI's output: the CSV that executeCsv returns is formatRows of the rows, byte for byte
    const csv = formatRows(snapWarm.columns, snapWarm.rows, false);
    const csvWarm = await timed(() => athena.executeCsv(snapshotSql, snapshotParams));
    if (csvWarm.value !== csv) throw new Error('snapshot: executeCsv differs from formatRows of the rows');
    log(`snapshot: CSV warm-up ${round(csvWarm.ms)} ms, ${csv.length} characters, identical to formatRows`);
    snapWarm.rows.length = 0;
    naiveWarm.rows.length = 0;

    const snapRuns: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const run = await timed(() => athena.executeCsv(snapshotSql, snapshotParams));
      if (run.value !== csv) throw new Error(`snapshot run ${i}: a different CSV (${run.value.length} characters)`);
      snapRuns.push(run.ms);
      log(`snapshot: run ${i + 1}/${iterations} ${round(run.ms)} ms`);
    }

    log('snapshot: diagnostics');
    const diagnostics: SnapshotDiagnostics = await snapshotDiagnostics(athena, lake, settings, {
      sql: snapshotSql,
      params: snapshotParams,
    });
    log(`snapshot: diagnostics ${JSON.stringify(diagnostics)}; ${memory()}`);
    const goldColumns = contract.tables[TABLES.gold].columns.map((c) => c.name);
    const snapshot = {
      ...summarizePath(
        snapRuns,
        snapWarm.ms,
        snapshotLayout,
        await columnBytes(athena, snapshotLayout, goldColumns),
        resultRows,
        snapWarm.scans,
        goldFiles,
      ),
      diagnostics,
    };
    // the snapshot figures are complete: logged now, so a run stopped during the naive runs keeps them
    log(`snapshot: ${JSON.stringify(snapshot)}`);

    const naiveRuns: number[] = [];
    for (let i = 0; i < naiveIterations; i++) {
      const run = await timed(() => athena.execute(naiveSql, naiveParams));
      if (run.value.rows.length !== resultRows) throw new Error(`naive run ${i}: ${run.value.rows.length} rows`);
      naiveRuns.push(run.ms);
      log(`naive: run ${i + 1}/${naiveIterations} ${round(run.ms)} ms`);
    }

    const naiveColumns = ['transaction_id', 'customer_id', 'currency', 'amount', 'transaction_ts'];
    const naive = summarizePath(
      naiveRuns.length > 0 ? naiveRuns : [naiveWarm.ms],
      naiveWarm.ms,
      silverFiles,
      await columnBytes(athena, silverFiles, naiveColumns),
      resultRows,
      naiveWarm.scans,
      silverFiles,
    );
    return {
      rows,
      accounts,
      pairs: silverBuild.manifest.pairs,
      silver: {
        files: silverFiles.length,
        bytes: sum(silverFiles.map((f) => f.size)),
        partitions: partitionsOf(silverFiles),
        ...(silverBuild.built ? { build_seconds: silverBuild.manifest.build_seconds } : {}),
      },
      gold: {
        files: goldFiles.length,
        bytes: sum(goldFiles.map((f) => f.size)),
        rows: goldRows,
        partitions: partitionsOf(goldFiles),
        build_seconds: round(goldBuild.unload_seconds + goldBuild.publish_seconds, 1),
        unload_seconds: goldBuild.unload_seconds,
        publish_seconds: goldBuild.publish_seconds,
        ...(goldBuild.reused ? { reused: true } : {}),
      },
      quarter,
      snapshot,
      naive,
      bytes_ratio: round(naive.bytes_read / snapshot.bytes_read, 1),
      speedup_p50: round(naive.p50_ms / snapshot.p50_ms, 1),
      same_result: true,
      environment: {
        ...environment,
        load_average: { ...environment.load_average, end: os.loadavg().map((x) => round(x)) },
      },
    };
  } finally {
    athena.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Standalone
// ---------------------------------------------------------------------------------------------

function parseArgs(argv: readonly string[]): BenchOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reuse-gold') flags.add(arg);
    else if (arg.startsWith('--') && i + 1 < argv.length) values.set(arg, argv[++i]);
    else throw new Error(`unexpected argument ${arg}`);
  }
  const known = ['--rows', '--work', '--iterations', '--naive-iterations', '--quarter', '--accounts', '--memory-limit'];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown option ${k}`);
  const int = (name: string): number | undefined => {
    const v = values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
    return n;
  };
  const rows = int('--rows');
  const workDir = values.get('--work');
  if (!rows || !workDir) throw new Error('usage: balance-history.ts --rows N --work DIR [options]');
  return {
    rows,
    workDir,
    iterations: int('--iterations'),
    naiveIterations: int('--naive-iterations'),
    quarter: values.get('--quarter'),
    accounts: int('--accounts'),
    memoryLimit: values.get('--memory-limit'),
    reuseGold: flags.has('--reuse-gold'),
    log: (line) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`),
  };
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  benchBalanceHistory(options).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
