import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { ROOT } from './cli';
import { diskFiles, duck, filesUnder, sha256 } from './lake-state';

/** A run of the real CLI binary in a process group of its own (it leads the group). */
export interface CliProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** Progress lines (`[txlake] …`) and anything else the CLI wrote to stderr, so far. */
  readonly lines: string[];
  stdout(): string;
  /** Resolves with the exit code (or the signal) once the CLI process itself is gone and reaped. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Calls `action` synchronously as soon as a stderr line matches (at once if one already did). */
  onLine(pattern: RegExp, action: (line: string) => void): void;
}

/** Spawns `node bin/txlake.js …` with `detached: true`: its pid is also its process group id. */
export function spawnCli(args: string[]): CliProcess {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'txlake.js'), ...args],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (child.pid === undefined) throw new Error('the CLI did not start');
  const lines: string[] = [];
  const watchers: { pattern: RegExp; action: (line: string) => void; done: boolean }[] = [];
  let partial = '';
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    partial += d.toString('utf8');
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      for (const w of watchers) {
        if (!w.done && w.pattern.test(line)) {
          w.done = true;
          w.action(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid,
    startedAt: Date.now(),
    lines,
    stdout: () => out,
    exited,
    onLine(pattern, action) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) action(seen);
      else watchers.push({ pattern, action, done: false });
    },
  };
}

/** True while any process of the group still exists (zombies included). */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** SIGKILLs the whole process group; ignores a group that is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Waits until no process of the group is left; false if some still exist after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupExists(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** `promise`, bounded: rejects with `message` if it has not settled within `ms` (a wait that must not hang). */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

/**
 * A table's logical content: its Parquet rows (hive partition columns as text, `run_id` left out,
 * sorted), plus the names of any other files under it (a half-copied temp file, a stray marker):
 * readers of the prefix would see those too, and neither a clean before nor a clean after has any.
 */
async function tableContent(dir: string, excludeRunId: boolean): Promise<{ digest: string; summary: string }> {
  const files = filesUnder(dir);
  const parquet = files.filter((f) => f.endsWith('.parquet') && !path.basename(f).startsWith('.'));
  const stray = files.filter((f) => !parquet.includes(f)).map((f) => path.relative(dir, f));
  let rows = { n: '0', digest: '' };
  if (parquet.length > 0) {
    // Each row as JSON, sorted, hashed in DuckDB (100k rows in a fraction of a second).
    const [result] = await duck(
      `SELECT count(*) AS n, md5(coalesce(string_agg(j, chr(10) ORDER BY j), '')) AS digest FROM (SELECT CAST(to_json(t) AS VARCHAR) AS j FROM (SELECT * ${excludeRunId ? 'EXCLUDE (run_id)' : ''} FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)) t)`,
    );
    rows = { n: String(result.n), digest: String(result.digest) };
  }
  return {
    digest: sha256(JSON.stringify({ rows, stray })),
    summary: `${rows.n} rows${stray.length > 0 ? `, stray files: ${stray.join(' ')}` : ''}`,
  };
}

/** Files by their bytes, keyed by path (rejected files keep their landed names). */
const bytesContent = (dir: string): Record<string, string> => diskFiles(dir, { content: 'sha256' });

/** Rejection reasons, without the run id they name. */
function rejectionsContent(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of filesUnder(dir)) {
    const text = readFileSync(f, 'utf8');
    try {
      const { run_id: _runId, ...rest } = JSON.parse(text) as Record<string, unknown>;
      out[path.relative(dir, f)] = rest;
    } catch {
      out[path.relative(dir, f)] = { unparsable: sha256(text) };
    }
  }
  return out;
}

export const LAYERS = ['silver', 'quarantine', 'condemned', 'gold'] as const;
export type Layer = (typeof LAYERS)[number];
export type LayerState = Record<Layer, { digest: string; summary: string }>;

/** The logical content of every published layer (gold: the monthly balances). */
export async function layerState(lake: string): Promise<LayerState> {
  const silver = await tableContent(path.join(lake, 'silver', 'transactions'), true);
  const quarantineRows = await tableContent(path.join(lake, 'quarantine', 'transactions'), true);
  const rejectedFiles = bytesContent(path.join(lake, 'quarantine', 'files'));
  const rejections = rejectionsContent(path.join(lake, 'quarantine', 'file_rejections'));
  const otherQuarantine = filesUnder(path.join(lake, 'quarantine'))
    .map((f) => path.relative(path.join(lake, 'quarantine'), f))
    .filter((f) => !/^(transactions|files|file_rejections)\//.test(f));
  const condemned = await tableContent(path.join(lake, 'condemned', 'transactions'), true);
  const gold = await tableContent(path.join(lake, 'gold', 'monthly_balances'), false);
  return {
    silver,
    quarantine: {
      digest: sha256(JSON.stringify({ rows: quarantineRows.digest, rejectedFiles, rejections, otherQuarantine })),
      summary: `${quarantineRows.summary}; rejected files: ${Object.keys(rejectedFiles).join(' ')}; reasons: ${Object.keys(rejections).join(' ')}${otherQuarantine.length > 0 ? `; other: ${otherQuarantine.join(' ')}` : ''}`,
    },
    condemned,
    gold,
  };
}

/** Per layer: 'before', 'after' (both when they coincide, which the test rules out) or 'NEITHER …'. */
export function classify(state: LayerState, before: LayerState, after: LayerState): Record<Layer, string> {
  const out = {} as Record<Layer, string>;
  for (const layer of LAYERS) {
    const d = state[layer].digest;
    if (d === before[layer].digest) out[layer] = 'before';
    else if (d === after[layer].digest) out[layer] = 'after';
    else
      out[layer] =
        `NEITHER (${state[layer].summary}; before: ${before[layer].summary}; after: ${after[layer].summary})`;
  }
  return out;
}

/** The gold report files by bytes (not a table the task lists; observed for the record). */
export function reportState(lake: string): string {
  return JSON.stringify(bytesContent(path.join(lake, 'gold', 'reports')));
}

/** mulberry32: a small seeded generator, so a random kill point can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
