import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  GlueJobHost,
  GlueJobRunFailed,
  SMALL_RUNS_MAX_DATES,
  SMALL_RUNS_MAX_LANDED_BYTES,
  SPARK_JVM_ENV,
  sparkJvmProfile,
} from '../../../runner/local/local-glue';
import { landedFiles } from '../../../runner/local/local-runner';
import { ROOT } from '../../helpers/cli';
import { tempDirs } from '../../helpers/lake';

/**
 * A stand-in Glue entry: main(argv) appends its arguments and its process id to a file, raises
 * when asked to and exits the whole process when asked to.
 */
const ENTRY = `
import os, sys

def main(argv):
    out, action = argv[argv.index("--out") + 1], argv[argv.index("--action") + 1]
    with open(out, "a") as f:
        f.write(f"{os.getpid()} {action} {os.environ.get('TXLAKE_SPARK_JVM', '-')}\\n")
    print(f"ran {action}")
    if action == "raise":
        raise ValueError("the job failed on purpose")
    if action == "exit":
        os._exit(3)
`;

const lines = (out: string): string[][] =>
  readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '));

describe('GlueJobHost', () => {
  const dirs = tempDirs('glue-host-');
  let host: GlueJobHost | undefined;
  afterEach(() => host?.close());

  const setUp = (): { script: string; out: string } => {
    const dir = dirs();
    const script = path.join(dir, 'entry.py');
    writeFileSync(script, ENTRY);
    return { script: path.relative(ROOT, script), out: path.join(dir, 'runs.txt') };
  };

  test('serves every run in one process, in order, with each run its own arguments and output', async () => {
    const { script, out } = setUp();
    host = new GlueJobHost(ROOT);
    const seen: string[] = [];
    const runs = ['a', 'b', 'c'].map((action) =>
      host!.run({ script, arguments: { '--out': out, '--action': action }, onLine: (l) => seen.push(l) }),
    );
    await Promise.all(runs);
    const written = lines(out);
    expect(written.map((l) => l[1])).toEqual(['a', 'b', 'c']);
    expect(new Set(written.map((l) => l[0])).size).toBe(1);
    expect(seen).toEqual(['ran a', 'ran b', 'ran c']);
  });

  test('a run that raises fails with its error, and the host serves the next run', async () => {
    const { script, out } = setUp();
    host = new GlueJobHost(ROOT);
    const failed = host.run({ script, arguments: { '--out': out, '--action': 'raise' } });
    await expect(failed).rejects.toThrow(GlueJobRunFailed);
    await expect(failed).rejects.toThrow(/the job failed on purpose/);
    await host.run({ script, arguments: { '--out': out, '--action': 'after' } });
    const written = lines(out);
    expect(written.map((l) => l[1])).toEqual(['raise', 'after']);
    expect(written[0][0]).toBe(written[1][0]);
  });

  test('a run that ends the process fails; the next run gets a new host', async () => {
    const { script, out } = setUp();
    host = new GlueJobHost(ROOT);
    await expect(host.run({ script, arguments: { '--out': out, '--action': 'exit' } })).rejects.toThrow(
      /local Glue host/,
    );
    await host.run({ script, arguments: { '--out': out, '--action': 'after' } });
    const written = lines(out);
    expect(written.map((l) => l[1])).toEqual(['exit', 'after']);
    expect(written[0][0]).not.toBe(written[1][0]);
  });
});

describe('GlueJobHost on a Unix socket (the test suite: one warm host per jest worker)', () => {
  const dirs = tempDirs('glue-socket-');
  const hosts: GlueJobHost[] = [];
  let socketPath = '';
  afterEach(() => {
    for (const h of hosts.splice(0)) h.close();
    // the host is detached: stop its process group, as the suite's global tear-down does
    const pidFile = `${socketPath}.pid`;
    if (existsSync(pidFile)) {
      try {
        process.kill(-Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  test('a second client (the next test file) is served by the same process; a failing run and a lost host are reported', async () => {
    const dir = dirs();
    const script = path.relative(ROOT, path.join(dir, 'entry.py'));
    writeFileSync(path.join(ROOT, script), ENTRY);
    const out = path.join(dir, 'runs.txt');
    socketPath = path.join(dir, 'glue.sock');
    const first = new GlueJobHost(ROOT, undefined, socketPath);
    hosts.push(first);
    await first.run({ script, arguments: { '--out': out, '--action': 'a' } });
    first.close(); // the first test file is done: disconnected, the host lives on
    const second = new GlueJobHost(ROOT, undefined, socketPath);
    hosts.push(second);
    await second.run({ script, arguments: { '--out': out, '--action': 'b' } });
    await expect(second.run({ script, arguments: { '--out': out, '--action': 'raise' } })).rejects.toThrow(
      /the job failed on purpose/,
    );
    // the host's output is in its log, beside the socket
    expect(readFileSync(`${socketPath}.log`, 'utf8')).toContain('ran b');
    // a run that ends the host: reported, and the next run starts a new host on the same socket
    // (os._exit leaves the socket file behind; the new host replaces it)
    await expect(second.run({ script, arguments: { '--out': out, '--action': 'exit' } })).rejects.toThrow(
      /local Glue host/,
    );
    await second.run({ script, arguments: { '--out': out, '--action': 'after' } });
    const written = lines(out);
    expect(written.map((l) => l[1])).toEqual(['a', 'b', 'raise', 'exit', 'after']);
    expect(new Set(written.slice(0, 4).map((l) => l[0])).size).toBe(1);
    expect(written[4][0]).not.toBe(written[0][0]);
  });
});

describe("an execution's Spark JVM profile", () => {
  const dirs = tempDirs('glue-jvm-');

  test("small-runs up to 64 MiB landed on up to 10 dates; Java's own beyond, or when not known", () => {
    const max = SMALL_RUNS_MAX_LANDED_BYTES;
    expect(
      [
        undefined,
        { bytes: 0, dates: 0 },
        { bytes: max, dates: SMALL_RUNS_MAX_DATES },
        { bytes: max + 1, dates: 1 },
        { bytes: 1000, dates: SMALL_RUNS_MAX_DATES + 1 },
      ].map((landed) => sparkJvmProfile(landed)),
    ).toEqual(['default', 'small-runs', 'small-runs', 'default', 'default']);
    expect([SMALL_RUNS_MAX_LANDED_BYTES, SMALL_RUNS_MAX_DATES]).toEqual([64 * 1024 * 1024, 10]);
  });

  test("landed files: the bytes and dates of the input's dates' files in bronze (nothing else)", () => {
    const lake = dirs();
    const land = (date: string, name: string, bytes: number): void => {
      const dir = path.join(lake, 'bronze', 'transactions', `ingest_date=${date}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, name), 'x'.repeat(bytes));
    };
    land('2024-01-01', 'a.csv', 100);
    land('2024-01-01', 'b.csv', 20);
    land('2024-01-03', 'c.csv', 7);
    land('2024-01-04', 'd.csv', 1000); // outside the range below
    mkdirSync(path.join(lake, 'bronze', 'transactions', 'ingest_date=2024-01-03', 'nested'));
    expect(landedFiles(lake, { date: '2024-01-01' })).toEqual({ bytes: 120, dates: 1 });
    expect(landedFiles(lake, { from: '2024-01-01', to: '2024-01-03' })).toEqual({ bytes: 127, dates: 2 });
    expect(landedFiles(lake, { date: '2024-02-01' })).toEqual({ bytes: 0, dates: 0 });
    expect(landedFiles(lake, {})).toBeUndefined();
    expect(landedFiles(lake, { date: '2024-02-30' })).toBeUndefined();
  });

  test("a host starts on the execution's profile unless the environment names one", async () => {
    const dir = dirs();
    const script = path.relative(ROOT, path.join(dir, 'entry.py'));
    writeFileSync(path.join(ROOT, script), ENTRY);
    const out = path.join(dir, 'runs.txt');
    const saved = process.env[SPARK_JVM_ENV];
    const seen: string[] = [];
    try {
      for (const [environment, action] of [
        [undefined, 'unset'],
        ['default', 'named'],
      ] as const) {
        if (environment === undefined) delete process.env[SPARK_JVM_ENV];
        else process.env[SPARK_JVM_ENV] = environment;
        const host = new GlueJobHost(ROOT, undefined, undefined, 'small-runs');
        try {
          await host.run({ script, arguments: { '--out': out, '--action': action } });
        } finally {
          host.close();
        }
      }
      seen.push(...lines(out).map((l) => `${l[1]} ${l[2]}`));
    } finally {
      if (saved === undefined) delete process.env[SPARK_JVM_ENV];
      else process.env[SPARK_JVM_ENV] = saved;
    }
    expect(seen).toEqual(['unset small-runs', 'named default']);
  });
});
