/**
 * Benchmarks (a) and (c) of issue #7: the Glue job on local Spark against a one-statement DuckDB
 * anchor of the same contract, and a whole daily run of the real local pipeline, state by state.
 * Run through `npm run bench` (bench/run.ts); every figure is measured, none is assumed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CONTRACT } from '../core/contract';
import { jobCountsPrefix, landingPrefix, landingSummaryKey } from '../core/lake-layout';
import { generateFiles, type GenerateSummary } from '../tools/generate/generate';
import { createLocalTables, icebergJob, localJobRun } from '../runner/local/local-catalog';
import { LocalGlue, runGlueScript } from '../runner/local/local-glue';
import { resolvePipeline, synthesizeTemplates } from '../runner/local/template-resolver';
import { JOB_MODE_ARGUMENT } from '../lib/constructs/ingestion-job';

export const ROOT = path.resolve(__dirname, '..');
const INGEST_DATE = '2024-03-01';

export interface GlueJobBench {
  readonly rows: number;
  readonly file_bytes: number;
  readonly generate_seconds?: number;
  /** Wall time of the job process (Python + JVM start, Spark session, the job itself): the median run. */
  readonly glue_seconds: number;
  /** Every run's wall time, in run order (each on a fresh lake, a new process). */
  readonly glue_runs_seconds?: readonly number[];
  /** Every run of the DuckDB anchor, in run order. */
  readonly duckdb_runs_seconds?: readonly number[];
  readonly glue_rows_per_second: number;
  readonly duckdb_seconds: number;
  readonly duckdb_rows_per_second: number;
  /** glue_seconds / duckdb_seconds, medians (target ≤ 3 at 5 M rows). */
  readonly ratio: number;
  /** Output rows per destination, both engines (they must agree). */
  readonly glue_rows: Record<string, number>;
  readonly duckdb_rows: Record<string, number>;
  readonly expected_rows: Record<string, number>;
}

export interface DailyRunBench {
  readonly rows: number;
  readonly wall_seconds: number;
  /** Seconds per state, in the order they ran (from the CLI's progress lines). */
  readonly states: { readonly state: string; readonly seconds: number }[];
  readonly summary: unknown;
  readonly expected_rows: Record<string, number>;
  /** the landed CSV and the published silver Parquet of the day */
  readonly bronze_bytes: number;
  readonly silver_bytes: number;
}

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** Files of `rows` generated rows for the ingest date, cached under `dir` by their summary. */
async function landed(
  dir: string,
  rows: number,
  spanDays = 1,
): Promise<{ summary: GenerateSummary; seconds?: number }> {
  const manifest = path.join(dir, 'generated.json');
  if (existsSync(manifest)) return { summary: JSON.parse(readFileSync(manifest, 'utf8')) as GenerateSummary };
  const started = Date.now();
  const summary = await generateFiles(dir, { rows, ingestDate: INGEST_DATE, seed: 7, spanDays, accounts: 50_000 });
  writeFileSync(manifest, JSON.stringify(summary));
  return { summary, seconds: (Date.now() - started) / 1000 };
}

function fillTemplate(sql: string, values: Record<string, string>): string {
  return sql.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {{${name}}}`);
    return value;
  });
}

const sqlString = (s: string): string => s.replace(/'/g, "''");

async function duckdbAnchor(file: string, out: string): Promise<{ seconds: number; rows: Record<string, number> }> {
  rmSync(out, { recursive: true, force: true });
  const sql = fillTemplate(readFileSync(path.join(ROOT, 'bench', 'contract_anchor.sql'), 'utf8'), {
    FILE: sqlString(file),
    OUT: sqlString(out),
    CURRENCIES: CONTRACT.currencies.map((c) => `'${c}'`).join(', '),
    AMOUNT_PATTERN: sqlString(CONTRACT.amountPattern.replace(/^\^|\$$/g, '')),
    TIMESTAMP_PATTERN: sqlString(CONTRACT.timestampPattern.replace(/^\^|\$$/g, '')),
  });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const started = Date.now();
    await connection.run(sql);
    const seconds = (Date.now() - started) / 1000;
    const reader = await connection.runAndReadAll(
      `SELECT destination, count(*) FROM read_parquet('${sqlString(out)}/**/*.parquet', hive_partitioning = true) GROUP BY 1`,
    );
    const rows = Object.fromEntries(reader.getRows().map((r) => [String(r[0]), Number(r[1])]));
    return { seconds, rows };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The job's output rows per destination, from the counts document of its run (one JSON line). */
function countedRows(countsDir: string): Record<string, number> {
  const lines = readdirSync(countsDir)
    .filter((name) => name.startsWith('part-'))
    .flatMap((name) => readFileSync(path.join(countsDir, name), 'utf8').split('\n'))
    .filter((line) => line.trim().length > 0);
  if (lines.length !== 1) throw new Error(`expected one counts document under ${countsDir}, found ${lines.length}`);
  const counts = JSON.parse(lines[0]) as { silver: number; quarantined: number; condemned: number };
  return { silver: counts.silver, quarantine: counts.quarantined, condemned: counts.condemned };
}

/** The middle value (the mean of the two middle ones for an even count). */
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const expectedRows = (summary: GenerateSummary): Record<string, number> => ({
  silver: summary.expected.rows.silver,
  quarantine: summary.expected.rows.quarantined,
  condemned: summary.expected.rows.condemned,
});

/**
 * (a) The Glue job exactly as the local pipeline runs it (`--job_mode transform` on an Iceberg lake:
 * the date's rows to the run's audit branches), then the DuckDB anchor, on one file.
 */
export async function benchGlueJob(options: {
  rows: number;
  workDir: string;
  repeats?: number;
}): Promise<GlueJobBench> {
  const repeats = options.repeats ?? 1;
  const work = path.join(options.workDir, `glue-${options.rows}`);
  const lake = path.join(work, 'lake');
  const pipeline = resolvePipeline(synthesizeTemplates({ root: ROOT }));
  const runId = `bench-${options.rows}`;
  // The job run exactly as the local Glue binding makes it.
  const run = localJobRun(icebergJob(pipeline), lake, {
    [JOB_MODE_ARGUMENT]: 'transform',
    '--run_id': runId,
    '--ingest_date': INGEST_DATE,
  });
  const bronze = run.arguments['--bronze_root'];
  const staging = run.arguments['--staging_root'];
  const landing = path.join(bronze, landingPrefix(INGEST_DATE));
  mkdirSync(landing, { recursive: true });
  log(`(a) ${options.rows} rows: generating`);
  const { summary, seconds: generateSeconds } = await landed(landing, options.rows);
  const [file] = summary.files;
  const glueJobOnFreshLake = async (
    rows: number,
    attempt: number,
    of: number,
  ): Promise<{ seconds: number; rows: Record<string, number> }> => {
    for (const entry of readdirSync(lake)) {
      const entryPath = path.join(lake, entry);
      if (entryPath !== bronze) rmSync(entryPath, { recursive: true, force: true });
    }
    log(`(a) ${rows} rows: creating the tables (${attempt}/${of})`);
    const glue = new LocalGlue(ROOT);
    try {
      await createLocalTables(pipeline, lake, glue);
    } finally {
      glue.close();
    }
    const landingSummary = path.join(staging, landingSummaryKey(runId));
    mkdirSync(path.dirname(landingSummary), { recursive: true });
    writeFileSync(
      landingSummary,
      JSON.stringify({
        ingest_date: INGEST_DATE,
        run_id: runId,
        files: [{ name: file.name, key: `${landingPrefix(INGEST_DATE)}${file.name}`, records: file.rows }],
        rejected: [],
      }),
    );
    log(`(a) ${rows} rows: Glue job (${attempt}/${of})`);
    const { durationMs } = await runGlueScript({ root: ROOT, ...run });
    return { seconds: durationMs / 1000, rows: countedRows(path.join(staging, jobCountsPrefix(runId))) };
  };
  // Each run on a fresh lake but for the landed (cached) files: no catalog, tables or staging of
  // an earlier run. The machine's noise (a few seconds at 5 M rows) is why the median is reported.
  const glueRuns: number[] = [];
  let glueRows: Record<string, number> = {};
  for (let attempt = 1; attempt <= repeats; attempt += 1) {
    const run = await glueJobOnFreshLake(options.rows, attempt, repeats);
    glueRuns.push(run.seconds);
    glueRows = run.rows;
  }
  const anchorRuns: { seconds: number; rows: Record<string, number> }[] = [];
  for (let attempt = 1; attempt <= repeats; attempt += 1) {
    log(`(a) ${options.rows} rows: DuckDB anchor (${attempt}/${repeats})`);
    anchorRuns.push(await duckdbAnchor(path.join(landing, file.name), path.join(work, 'anchor')));
  }
  const anchor = { seconds: median(anchorRuns.map((r) => r.seconds)), rows: anchorRuns[0].rows };
  const glueSeconds = median(glueRuns);
  return {
    rows: options.rows,
    file_bytes: file.bytes,
    ...(generateSeconds !== undefined ? { generate_seconds: generateSeconds } : {}),
    glue_seconds: glueSeconds,
    glue_rows_per_second: Math.round(options.rows / glueSeconds),
    glue_runs_seconds: glueRuns,
    duckdb_runs_seconds: anchorRuns.map((r) => r.seconds),
    duckdb_seconds: anchor.seconds,
    duckdb_rows_per_second: Math.round(options.rows / anchor.seconds),
    ratio: Number((glueSeconds / anchor.seconds).toFixed(2)),
    glue_rows: glueRows,
    duckdb_rows: anchor.rows,
    expected_rows: expectedRows(summary),
  };
}

/** A `--verbose` progress line of a state: `[txlake] <date or -> <state> <outcome> <seconds>s`. */
const PROGRESS = /^\[txlake\] (\S+)\s+(\S+)\s+(ok|failed|caught|retry)\s+([0-9.]+)s/;

/** A state's end, from the CLI's `--verbose` progress. */
export interface StateEnd {
  /** The date the state worked on (`-`: none, e.g. the entry state machine's states). */
  readonly date: string;
  readonly state: string;
  readonly outcome: string;
  readonly seconds: number;
}

/** What one `txlake` command did: its exit code, output, wall time and the state ends it reported. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wall_seconds: number;
  readonly states: StateEnd[];
}

/** Runs a command from the repository root to its end, collecting its output. */
export async function runProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  return { code, stdout, stderr };
}

/** Runs `txlake <args>` as a user would (bin/txlake.js, a process of its own) and times it. */
export async function txlake(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  const started = Date.now();
  const { code, stdout, stderr } = await runProcess(
    process.execPath,
    [path.join(ROOT, 'bin', 'txlake.js'), ...args],
    env,
  );
  const states = stderr
    .split('\n')
    .map((line) => PROGRESS.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ date: m[1], state: m[2], outcome: m[3], seconds: Number(m[4]) }));
  return { code, stdout, stderr, wall_seconds: (Date.now() - started) / 1000, states };
}

function directoryBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** (c) `txlake run --date D` on a fresh lake holding one generated day: wall time per state. */
export async function benchDailyRun(options: { rows: number; workDir: string }): Promise<DailyRunBench> {
  const lake = path.join(options.workDir, `daily-${options.rows}`);
  rmSync(lake, { recursive: true, force: true });
  const landing = path.join(lake, 'bronze', 'transactions', `ingest_date=${INGEST_DATE}`);
  mkdirSync(landing, { recursive: true });
  log(`(c) ${options.rows} rows: generating`);
  const { summary } = await landed(landing, options.rows, 3);
  rmSync(path.join(landing, 'generated.json'));
  log(`(c) ${options.rows} rows: txlake run`);
  const run = await txlake(['run', '--date', INGEST_DATE, '--lake', lake, '--json', '--verbose']);
  if (run.code !== 0) throw new Error(`txlake run exited ${run.code}:\n${run.stderr.slice(-3000)}`);
  // ProcessDates, the entry state machine's Task, spans the child execution whose states these are.
  const states = run.states
    .filter((s) => s.outcome === 'ok' && s.state !== 'ProcessDates')
    .map((s) => ({ state: s.state, seconds: s.seconds }));
  return {
    rows: options.rows,
    wall_seconds: run.wall_seconds,
    states,
    summary: JSON.parse(run.stdout) as unknown,
    expected_rows: expectedRows(summary),
    bronze_bytes: summary.files.reduce((sum, f) => sum + f.bytes, 0),
    silver_bytes: directoryBytes(path.join(lake, 'silver')),
  };
}
