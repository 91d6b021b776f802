import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { ROOT } from './cli';
import { LAKE_LEASE_KEY } from '../../core/lake-layout';
import { executionProcess } from '../../runner/local/local-executions';
import { diskFiles, filesUnder, sha256 } from './lake-state';
import { type TableName, tableRows } from './lake-tables';

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

/** A table's logical content: its rows at main's head (`run_id` left out), hashed. */
async function tableContent(lake: string, table: TableName): Promise<{ digest: string; summary: string }> {
  const rows = await tableRows(lake, table, {
    columns: table === 'gold_monthly_balances' ? '*' : '* EXCLUDE (run_id)',
  });
  const lines = rows.map((r) => JSON.stringify(r)).sort();
  return { digest: sha256(lines.join('\n')), summary: `${lines.length} rows` };
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

/**
 * The published units a kill is judged on: each table, and the date's rejected files with their
 * reasons (S3 objects, published by their own step after the tables).
 */
export const LAYERS = ['silver', 'quarantine', 'condemned', 'gold', 'rejected'] as const;
export type Layer = (typeof LAYERS)[number];
export type LayerState = Record<Layer, { digest: string; summary: string }>;

/** The logical content of every published layer (gold: the monthly balances). */
export async function layerState(lake: string): Promise<LayerState> {
  const silver = await tableContent(lake, 'silver_transactions');
  const quarantineRows = await tableContent(lake, 'quarantine_transactions');
  const rejectedFiles = bytesContent(path.join(lake, 'quarantine', 'files'));
  const rejections = rejectionsContent(path.join(lake, 'quarantine', 'file_rejections'));
  const condemned = await tableContent(lake, 'condemned_transactions');
  const gold = await tableContent(lake, 'gold_monthly_balances');
  return {
    silver,
    quarantine: quarantineRows,
    condemned,
    gold,
    rejected: {
      digest: sha256(JSON.stringify({ rejectedFiles, rejections })),
      summary: `rejected files: ${Object.keys(rejectedFiles).join(' ')}; reasons: ${Object.keys(rejections).join(' ')}`,
    },
  };
}

/**
 * The process of the execution holding the lake's lease (`staging/lease/lake.json`, SPEC §1), as
 * the local runner registers it; undefined when no lease is held.
 */
export function leaseHolderPid(lake: string): string | undefined {
  const lease = path.join(lake, 'staging', LAKE_LEASE_KEY);
  if (!existsSync(lease)) return undefined;
  const { execution_id: holder } = JSON.parse(readFileSync(lease, 'utf8')) as { execution_id: string };
  const pid = executionProcess(lake, holder);
  return pid !== undefined ? String(pid) : `(unregistered ${holder})`;
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
