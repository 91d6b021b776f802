import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers/cli';

/** The modules a command that does no pipeline work must not load (and the TypeScript toolchain). */
const HEAVY =
  /[\\/]node_modules[\\/](aws-cdk-lib|@duckdb|aws-local-stepfunctions|@aws-sdk|sql\.js|vega|vega-lite|typescript|ts-node)[\\/]/;
const BUNDLE = path.join(ROOT, 'dist', 'txlake-cli.js');
const PRELOAD = path.join(ROOT, 'test', 'fixtures', 'cli', 'record-modules.js');

const scratch = mkdtempSync(path.join(os.tmpdir(), 'txlake-cli-start-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `node bin/txlake.js …` as a shell runs it, with the modules it loaded. */
function startCli(args: string[]): { code: number | null; stdout: string; stderr: string; modules: string[] } {
  const out = path.join(scratch, `modules-${args.join('-').replace(/[^\w-]/g, '_')}.json`);
  const result = spawnSync(process.execPath, ['--require', PRELOAD, path.join(ROOT, 'bin', 'txlake.js'), ...args], {
    cwd: scratch,
    env: { ...process.env, TXLAKE_MODULES_OUT: out },
    encoding: 'utf8',
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    modules: JSON.parse(readFileSync(out, 'utf8')) as string[],
  };
}

beforeAll(() => {
  // The bundle setup builds (scripts/setup.sh): built here if missing or older than a source.
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-cli.js'), '--if-stale'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect({ code: build.status, stderr: build.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
});

describe('txlake starts from the compiled bundle and loads only what the command needs', () => {
  test('--help: exit 0, every command listed, no pipeline module and no TypeScript loaded', () => {
    const result = startCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['land', 'run', 'backfill', 'balance-history', 'report', 'runs', 'maintain', 'generate']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    expect(result.modules).toContain(BUNDLE);
    expect(result.modules.filter((m) => HEAVY.test(m))).toEqual([]);
    expect(result.modules.filter((m) => m.endsWith('.ts'))).toEqual([]);
  });

  test('a usage error: exit 2, one line on stderr, nothing heavy loaded', () => {
    const result = startCli(['run', '--date', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      "txlake: option '--date <date>' argument 'nope' is invalid. \"nope\" is not a date YYYY-MM-DD",
    ]);
    expect(result.modules).toContain(BUNDLE);
    expect(result.modules.filter((m) => HEAVY.test(m))).toEqual([]);
  });
});
