import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../cli/program';

export const ROOT = path.join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

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
  });
  return { code, stdout, stderr };
}

export const tempLake = (): string => mkdtempSync(path.join(os.tmpdir(), 'txlake-lake-'));

/** SPEC §5's usage error: exit 2, nothing on stdout, one `txlake: …` line on stderr matching `message`. */
export function expectUsageError(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(result.stderr).toMatch(/^txlake: /);
  expect(result.stderr).toMatch(message);
}
