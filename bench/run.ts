/**
 * `npm run bench [-- options]`: the figures of issue #7, measured on this machine. Prints one JSON
 * document on stdout (progress on stderr), keeps every part's latest result in
 * bench/results.json and writes BENCHMARKS.md from it. Targets are reported, never asserted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { benchBackfill } from './backfill';
import { benchBalanceHistory } from './balance-history';
import { costModel } from './cost-model';
import { benchGoldRefresh } from './gold-refresh';
import { renderBenchmarks } from './report';
import { benchDailyRun, benchGlueJob, type GlueJobBench, ROOT } from './pipeline';
import type { BenchResults, Machine } from './results';
import { benchSuite } from './suite';

const RESULTS = path.join(ROOT, 'bench', 'results.json');

function positiveInts(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.replace(/_/g, '')));
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) throw new InvalidArgumentError('expected positive integers');
  return list;
}

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0];
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    return stderr.trim().split('\n')[0] || 'unknown';
  }
}

function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    python: versionOf(path.join(ROOT, '.venv', 'bin', 'python'), ['--version']),
    java: (() => {
      // java -version prints to stderr
      const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
      return (out.stderr || out.stdout || 'unknown').trim().split('\n')[0];
    })(),
    load_average_at_start: Number(os.loadavg()[0].toFixed(2)),
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench')
    .description('txlake benchmarks (issue #7): prints one JSON document, writes BENCHMARKS.md')
    .option(
      '--only <parts>',
      'parts to run: a (Glue vs DuckDB), b (balance history), c (daily run), d (cost), e (backfill and demo), f (gold refresh reads as the lake ages), g (the test suite on a fresh clone; only when named)',
      'a,b,c,e,f,d',
    )
    .option('--glue-rows <n,...>', '(a) rows per Glue job file', positiveInts, [1_000_000, 5_000_000])
    .option(
      '--glue-repeats <n>',
      '(a) runs of each engine per file (the median is reported)',
      (v) => positiveInts(v)[0],
      3,
    )
    .option('--history-rows <n>', '(b) silver transactions', (v) => positiveInts(v)[0], 100_000_000)
    .option('--history-accounts <n>', '(b) distinct accounts in silver', (v) => positiveInts(v)[0], 10_000)
    .option('--history-iterations <n>', '(b) timed runs of the snapshot path', (v) => positiveInts(v)[0], 20)
    .option(
      '--naive-iterations <n>',
      '(b) timed runs of the naive path (each scans all silver)',
      (v) => positiveInts(v)[0],
      1,
    )
    .option('--daily-rows <n>', '(c) rows of the daily run', (v) => positiveInts(v)[0], 1_000_000)
    .option('--backfill-days <n>', '(e) consecutive dates of the backfill', (v) => positiveInts(v)[0], 90)
    .option('--backfill-rows <n>', "(e) rows of each date's file", (v) => positiveInts(v)[0], 1_000)
    .option('--no-demo', '(e) leave out the demo')
    .option('--gold-rows-per-day <n>', '(f) generated transactions a day', (v) => positiveInts(v)[0], 100_000)
    .option(
      '--work <dir>',
      'work directory (generated files and lakes are cached there)',
      path.join(os.tmpdir(), 'txlake-bench'),
    )
    .option('--no-write', 'do not update bench/results.json and BENCHMARKS.md')
    .option('--no-report', 'update bench/results.json but not BENCHMARKS.md')
    .option('--report-only', 'run nothing: write BENCHMARKS.md from bench/results.json')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    only: string;
    glueRows: number[];
    glueRepeats: number;
    historyRows: number;
    historyIterations: number;
    historyAccounts: number;
    naiveIterations: number;
    dailyRows: number;
    backfillDays: number;
    backfillRows: number;
    demo: boolean;
    goldRowsPerDay: number;
    work: string;
    write: boolean;
    report: boolean;
    reportOnly?: boolean;
  }>();
  if (o.reportOnly) {
    writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), renderBenchmarks(readResults()));
    process.stderr.write('[bench] wrote BENCHMARKS.md from bench/results.json\n');
    return;
  }
  const parts = new Set(o.only.split(',').map((p) => p.trim()));
  for (const p of parts) {
    if (!['a', 'b', 'c', 'd', 'e', 'f', 'g'].includes(p)) throw new InvalidArgumentError(`unknown part ${p}`);
  }

  // Only this run's parts: they are merged into the file as it is when written (other runs of
  // other parts may have written it since this one started).
  const results: BenchResults = { machine: machine(), measured_at: {}, load_average: {} };
  const started = (part: string): void => {
    results.measured_at![part] = new Date().toISOString();
    results.load_average![part] = Number(os.loadavg()[0].toFixed(2));
  };
  const log = (line: string): void => {
    process.stderr.write(`[bench] ${line}\n`);
  };

  if (parts.has('a')) {
    started('glue');
    const glue: GlueJobBench[] = [];
    for (const rows of o.glueRows) glue.push(await benchGlueJob({ rows, workDir: o.work, repeats: o.glueRepeats }));
    results.glue = glue;
  }
  if (parts.has('b')) {
    started('balance_history');
    results.balance_history = await benchBalanceHistory({
      rows: o.historyRows,
      workDir: path.join(o.work, `history-${o.historyRows}-${o.historyAccounts}`),
      iterations: o.historyIterations,
      accounts: o.historyAccounts,
      naiveIterations: o.naiveIterations,
      reuseGold: true,
      log,
    });
  }
  if (parts.has('c')) {
    started('daily_run');
    results.daily_run = await benchDailyRun({ rows: o.dailyRows, workDir: o.work });
  }
  if (parts.has('e')) {
    started('backfill');
    results.backfill = await benchBackfill({
      days: o.backfillDays,
      rows: o.backfillRows,
      workDir: o.work,
      demo: o.demo,
    });
  }
  if (parts.has('f')) {
    started('gold_refresh');
    results.gold_refresh = await benchGoldRefresh({
      rowsPerDay: o.goldRowsPerDay,
      accounts: 10_000,
      workDir: o.work,
      log,
    });
  }
  if (parts.has('g')) {
    started('suite');
    results.suite = await benchSuite({ workDir: o.work });
  }
  if (parts.has('d')) {
    // From the latest figures of a, b, c and f: this run's, else the stored ones.
    started('cost');
    results.cost = costModel(merged(readResults(), results));
  }
  const all = merged(readResults(), results);
  process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  if (o.write) {
    writeFileSync(RESULTS, `${JSON.stringify(merged(readResults(), results), null, 2)}\n`);
    if (o.report) writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), renderBenchmarks(readResults()));
    log(`wrote bench/results.json${o.report ? ' and BENCHMARKS.md' : ''}`);
  }
}

function readResults(): BenchResults {
  return existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchResults) : {};
}

/** The stored results with this run's parts (and their times and load averages) in place of theirs. */
function merged(stored: BenchResults, run: BenchResults): BenchResults {
  return {
    ...stored,
    ...run,
    measured_at: { ...stored.measured_at, ...run.measured_at },
    load_average: { ...stored.load_average, ...run.load_average },
  };
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const e = error as { code?: string; message?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) {
    process.exitCode = e.code === 'commander.helpDisplayed' ? 0 : 2;
    return;
  }
  if (error instanceof InvalidArgumentError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
