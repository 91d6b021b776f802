/**
 * Benchmark (g) of issue #14: the test suite on a fresh clone, as a new contributor meets it —
 * `git clone` of this repository's HEAD into the work directory, then `bash scripts/test.sh` there
 * (its set-up included), timed. Opt-in (`npm run bench -- --only g`): it runs the whole suite.
 */
import { rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, runProcess } from './pipeline';

export interface SuiteBench {
  /** The commit cloned (HEAD of the repository the bench runs in; uncommitted changes are not in it). */
  readonly commit: string;
  readonly wall_seconds: number;
  /** jest's summary line, e.g. `Tests: 726 passed, 726 total`. */
  readonly jest: string;
  /** pytest's summary line, e.g. `191 passed in 207.81s`. */
  readonly pytest: string;
  /** 1-minute load average when the run started and when it ended. */
  readonly load: readonly [number, number];
}

const load = (): number => Number(os.loadavg()[0].toFixed(2));

/** The last line of `text` that matches `pattern` (trimmed), or '' when none does. */
const lastLine = (text: string, pattern: RegExp): string =>
  text
    .split('\n')
    .filter((line) => pattern.test(line))
    .pop()
    ?.trim() ?? '';

export async function benchSuite(options: { workDir: string }): Promise<SuiteBench> {
  const commit = (await runProcess('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
  const clone = path.join(options.workDir, 'suite-clone');
  rmSync(clone, { recursive: true, force: true });
  const cloned = await runProcess('git', ['clone', '-q', ROOT, clone]);
  if (cloned.code !== 0) throw new Error(`git clone failed: ${cloned.stderr.trim()}`);
  const loadAtStart = load();
  const started = Date.now();
  const run = await runProcess('bash', ['scripts/test.sh'], process.env, clone);
  const wall_seconds = (Date.now() - started) / 1000;
  const output = `${run.stdout}\n${run.stderr}`;
  if (run.code !== 0) {
    throw new Error(`the suite failed on the fresh clone of ${commit} (exit ${run.code}):\n${output.slice(-3000)}`);
  }
  rmSync(clone, { recursive: true, force: true });
  return {
    commit,
    wall_seconds,
    jest: lastLine(output, /^Tests:/),
    pytest: lastLine(output, /^\d+ passed/),
    load: [loadAtStart, load()],
  };
}
