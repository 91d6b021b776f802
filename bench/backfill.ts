/**
 * Benchmark (e) of issue #14: the per-date cost of a backfill. One date's `txlake run` on a fresh
 * lake, a backfill of N consecutive dates (one generated file each) on another fresh lake, their
 * ratio, where the backfill's time goes state by state, and the demo after its set-up.
 * Run through `npm run bench -- --only e` (bench/run.ts); every figure is measured, none is assumed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addDays } from '../core/calendar';
import { landingPrefix } from '../core/lake-layout';
import { generateFiles, type GenerateSummary } from '../tools/generate/generate';
import { synthesizeTemplates } from '../runner/local/template-resolver';
import { ROOT, runProcess, type StateEnd, txlake } from './pipeline';

/** The first date of the backfill (and the single date): a calendar month starts there. */
const FIRST_DATE = '2024-01-01';
/**
 * States whose seconds are other states' (left out of the sums): the entry state machine's Task
 * that runs a child execution, and the Map whose iterations are the gold refresh's chunks.
 */
const CONTAINER_STATES: ReadonlySet<string> = new Set(['ProcessDates', 'RefreshGold']);

export interface StateTotal {
  readonly state: string;
  /** How many times the state ended (`ok`), over all dates. */
  readonly count: number;
  /** Its seconds summed over all dates. */
  readonly seconds: number;
}

export interface BackfillRun {
  readonly dates: number;
  readonly from: string;
  readonly to: string;
  readonly wall_seconds: number;
  readonly per_date_seconds: number;
  /** Seconds per state summed over dates, most expensive first (the child execution wrapper left out). */
  readonly states: StateTotal[];
  /** Wall time not spent in any state: the CLI's start, the tables' creation, execution set-up. */
  readonly outside_states_seconds: number;
  /** Seconds of each date, first state's start to its record (from the CLI's date lines). */
  readonly date_seconds: {
    readonly first: number;
    readonly median: number;
    readonly last: number;
    readonly max: number;
  };
  readonly rows_read: number;
  /** 1-minute load average when the command started and when it ended. */
  readonly load: readonly [number, number];
}

export interface BackfillBench {
  readonly rows_per_file: number;
  readonly single: BackfillRun;
  readonly backfill: BackfillRun;
  /** backfill wall time / single-date wall time (target ≤ 3). */
  readonly ratio: number;
  readonly demo?: { readonly wall_seconds: number; readonly load: readonly [number, number] };
}

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

const load = (): number => Number(os.loadavg()[0].toFixed(2));

/** `dates` consecutive dates from `first`. */
const datesFrom = (first: string, dates: number): string[] =>
  Array.from({ length: dates }, (_, i) => addDays(first, i));

/** One generated file of `rows` rows per date (cached under `cache`), copied into a fresh lake. */
async function freshLake(lake: string, cache: string, dates: string[], rows: number): Promise<GenerateSummary[]> {
  rmSync(lake, { recursive: true, force: true });
  const summaries: GenerateSummary[] = [];
  for (const [i, date] of dates.entries()) {
    const cached = path.join(cache, date);
    const manifest = path.join(cached, 'generated.json');
    let summary: GenerateSummary;
    if (existsSync(manifest)) summary = JSON.parse(readFileSync(manifest, 'utf8')) as GenerateSummary;
    else {
      summary = await generateFiles(cached, { rows, ingestDate: date, seed: 1000 + i, spanDays: 1, accounts: 1_000 });
      writeFileSync(manifest, JSON.stringify(summary));
    }
    const landing = path.join(lake, 'bronze', landingPrefix(date));
    mkdirSync(landing, { recursive: true });
    for (const file of summary.files) {
      writeFileSync(path.join(landing, file.name), readFileSync(path.join(cached, file.name)));
    }
    summaries.push(summary);
  }
  return summaries;
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
};
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** `[txlake] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 12.3s` */
const DATE_LINE = /^\[txlake\] (\d{4}-\d{2}-\d{2}) (\S+) read=(\d+) .* ([0-9.]+)s$/;

/** Per-state totals over dates (container states left out: their seconds are other states'). */
export function stateTotals(states: readonly StateEnd[]): StateTotal[] {
  const totals = new Map<string, { count: number; seconds: number }>();
  for (const s of states) {
    if (s.outcome !== 'ok' || CONTAINER_STATES.has(s.state)) continue;
    const total = totals.get(s.state) ?? { count: 0, seconds: 0 };
    total.count += 1;
    total.seconds += s.seconds;
    totals.set(s.state, total);
  }
  return [...totals.entries()]
    .map(([state, t]) => ({ state, count: t.count, seconds: round(t.seconds) }))
    .sort((a, b) => b.seconds - a.seconds);
}

/** `txlake run --date` (one date) or `backfill --from --to` on a fresh lake: timed, state by state. */
async function timedRun(lake: string, cache: string, dates: string[], rows: number): Promise<BackfillRun> {
  const summaries = await freshLake(lake, cache, dates, rows);
  const [from, to] = [dates[0], dates[dates.length - 1]];
  const args = dates.length === 1 ? ['run', '--date', from] : ['backfill', '--from', from, '--to', to];
  warmUp();
  log(`(e) ${args.join(' ')}`);
  const before = load();
  const run = await txlake([...args, '--lake', lake, '--json', '--verbose']);
  const after = load();
  // The progress, state by state, beside the lake (for a closer look at where the time went).
  writeFileSync(`${lake}.stderr.log`, run.stderr);
  if (run.code !== 0) throw new Error(`txlake ${args[0]} exited ${run.code}:\n${run.stderr.slice(-3000)}`);
  const list = (JSON.parse(run.stdout) as { runs: { ingest_date: string; status: string; rows: { read: number } }[] })
    .runs;
  const expected = summaries.reduce((sum, s) => sum + s.expected.rows.read, 0);
  const read = list.reduce((sum, r) => sum + r.rows.read, 0);
  if (list.length !== dates.length || list.some((r) => r.status !== 'SUCCEEDED') || read !== expected) {
    throw new Error(`unexpected run records (read ${read}, expected ${expected}): ${run.stdout.slice(0, 2000)}`);
  }
  const perDate = run.stderr
    .split('\n')
    .map((line) => DATE_LINE.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[4]));
  const states = stateTotals(run.states);
  const inStates = run.states
    .filter((s) => s.outcome === 'ok' && !CONTAINER_STATES.has(s.state))
    .reduce((sum, s) => sum + s.seconds, 0);
  return {
    dates: dates.length,
    from,
    to,
    wall_seconds: round(run.wall_seconds),
    per_date_seconds: round(run.wall_seconds / dates.length),
    states,
    outside_states_seconds: round(run.wall_seconds - inStates),
    date_seconds: {
      first: perDate[0] ?? 0,
      median: median(perDate),
      last: perDate[perDate.length - 1] ?? 0,
      max: Math.max(0, ...perDate),
    },
    rows_read: read,
    load: [before, after],
  };
}

/** `bash scripts/demo.sh` without its set-up line, on a fresh lake: wall time. */
async function timedDemo(lake: string): Promise<{ wall_seconds: number; load: [number, number] }> {
  const script = path.join(ROOT, 'scripts', 'demo.sh');
  const text = readFileSync(script, 'utf8');
  const withoutSetup = text
    .split('\n')
    .filter((line) => line.trim() !== 'bash scripts/setup.sh')
    .join('\n');
  if (withoutSetup === text) throw new Error('scripts/demo.sh has no set-up line to leave out');
  rmSync(lake, { recursive: true, force: true });
  warmUp();
  log('(e) the demo without its set-up');
  const before = load();
  const started = Date.now();
  // `bash -c TEXT NAME`: NAME is the script's $0, so its `cd "$(dirname "$0")/.."` works as it does.
  const { code, stdout, stderr } = await runProcess('bash', ['-c', withoutSetup, script], {
    ...process.env,
    TXLAKE_LAKE: lake,
  });
  const wall = (Date.now() - started) / 1000;
  if (code !== 0 || !stdout.trim()) throw new Error(`the demo exited ${code}:\n${stderr.slice(-3000)}`);
  return { wall_seconds: round(wall), load: [before, load()] };
}

/**
 * What a user has after `npm run setup`: the CLI bundle current and the app's templates cached.
 * Neither is a run's cost; both are made again right before each timed command, since a source
 * edited in between (on a shared working tree) would otherwise time a ts-node start or a synthesis.
 */
function warmUp(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-cli.js'), '--if-stale'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  synthesizeTemplates({ root: ROOT });
}

/** (e) One date, a backfill of `days` dates (one file of `rows` rows each), their ratio; the demo. */
export async function benchBackfill(options: {
  days: number;
  rows: number;
  workDir: string;
  demo: boolean;
}): Promise<BackfillBench> {
  const work = path.join(options.workDir, `backfill-${options.rows}`);
  const cache = path.join(work, 'generated');
  const single = await timedRun(path.join(work, 'lake-1'), cache, datesFrom(FIRST_DATE, 1), options.rows);
  log(`(e) one date: ${single.wall_seconds} s`);
  const backfill = await timedRun(
    path.join(work, `lake-${options.days}`),
    cache,
    datesFrom(FIRST_DATE, options.days),
    options.rows,
  );
  log(`(e) ${options.days} dates: ${backfill.wall_seconds} s`);
  const demo = options.demo ? await timedDemo(path.join(work, 'demo-lake')) : undefined;
  if (demo) log(`(e) demo: ${demo.wall_seconds} s`);
  return {
    rows_per_file: options.rows,
    single,
    backfill,
    ratio: round(backfill.wall_seconds / single.wall_seconds),
    ...(demo ? { demo } : {}),
  };
}
