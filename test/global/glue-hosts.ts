/**
 * Jest global set-up and tear-down: a directory where each jest worker's test files share one
 * long-lived local Glue host (one warm Spark session) through a Unix socket (see
 * runner/local/local-glue.ts and test/helpers/cli.ts sharedLocalGlue), and the hosts stopped at
 * the end of the run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SPARK_JVM_ENV } from '../../runner/local/local-glue';

export const GLUE_SOCKETS_ENV = 'TXLAKE_TEST_GLUE_SOCKETS';

export function setUp(): void {
  // The tests' runs are small: every Spark of the run on the small-runs JVM (workers, their hosts
  // and the CLI processes tests spawn inherit it); a profile already set wins.
  process.env[SPARK_JVM_ENV] ??= 'small-runs';
  // workers inherit the environment of the process that starts them
  process.env[GLUE_SOCKETS_ENV] = mkdtempSync(path.join(os.tmpdir(), 'txlake-jest-glue-'));
}

export function tearDown(): void {
  const dir = process.env[GLUE_SOCKETS_ENV];
  if (!dir) return;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(readFileSync(path.join(dir, name), 'utf8'));
    try {
      process.kill(-pid, 'SIGKILL'); // the host's whole group: Python, the JVM, Spark's workers
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
