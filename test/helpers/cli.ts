import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../cli/program';
import { LocalGlue } from '../../runner/local/local-glue';
import { GLUE_SOCKETS_ENV } from '../global/glue-hosts';

// Lakes come from ./lake; re-exported for the tests that import it from here (test/tools/generate.test.ts).
export { tempLake } from './lake';

export const ROOT = path.join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The local Glue service of this test file: the in-process runs of a file share one Spark session
 * (as the runs of one execution do). Under jest's global set-up (test/global) that session is a
 * long-lived host per jest worker, shared with the worker's other test files (each run still gets a
 * new session of it, and nothing cached carries over); the file only disconnects after its tests.
 */
let sharedGlue: LocalGlue | undefined;
afterAll(() => {
  sharedGlue?.close();
  sharedGlue = undefined;
});
export const sharedLocalGlue = (): LocalGlue => {
  const dir = process.env[GLUE_SOCKETS_ENV];
  return (sharedGlue ??= new LocalGlue(ROOT, dir ? { dir, key: process.env.JEST_WORKER_ID ?? '1' } : undefined));
};

/** Runs the real CLI entry (`main`) in-process, capturing its streams. */
export async function txlake(args: string[], cwd: string = ROOT): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
    cwd,
    root: ROOT,
    localGlue: sharedLocalGlue(),
  });
  return { code, stdout, stderr };
}

/** The `--json` output of `txlake run` and `txlake backfill` (SPEC §5): one record per date. */
/** The real CLI entry in-process with the given environment variables (no shared local Glue). */
export async function txlakeWithEnv(args: string[], env: Readonly<Record<string, string>>): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    cwd: ROOT,
    root: ROOT,
  });
  return { code, stdout, stderr };
}

export interface RunSummary {
  runs: {
    ingest_date: string;
    status: string;
    error?: string;
    files: Record<string, number>;
    rows: Record<string, number>;
    reasons: Record<string, number>;
  }[];
}

/** The real CLI binary running in a child process (see {@link startCli}). */
export interface StartedCli {
  readonly pid: number | undefined;
  /** What it wrote to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has exited and its output streams are closed. */
  readonly closed: Promise<number | null>;
  /**
   * Calls `action` once, synchronously, as soon as the stderr written so far matches `pattern`
   * (e.g. a progress line: the run is at that step while the callback runs).
   */
  onStderr(pattern: RegExp, action: () => void): void;
}

/**
 * Starts `node bin/txlake.js …` in a child process of its own (not in-process like {@link txlake}),
 * so a test can act while the run is going on. `run` and `backfill` get `--verbose`: a progress line
 * per state, for {@link StartedCli.onStderr} to wait for. (For SIGKILLing a run's whole process
 * group, see spawnCli in ./kill.)
 */
export function startCli(args: string[]): StartedCli {
  const verbose = ['run', 'backfill'].includes(args[0]) && !args.includes('--verbose') ? ['--verbose'] : [];
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'txlake.js'), ...args, ...verbose], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; action: () => void; done: boolean }[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of watchers) {
      if (!w.done && w.pattern.test(stderr)) {
        w.done = true;
        w.action();
      }
    }
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    closed,
    onStderr(pattern, action) {
      if (pattern.test(stderr)) action();
      else watchers.push({ pattern, action, done: false });
    },
  };
}

/** SPEC §5's usage error: exit 2, nothing on stdout, one `txlake: …` line on stderr matching `message`. */
export function expectUsageError(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(result.stderr).toMatch(/^txlake: /);
  expect(result.stderr).toMatch(message);
}
