import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expectUsageError, ROOT, txlake } from '../helpers/cli';
import { tempLake } from '../helpers/lake';

const run = promisify(execFile);

describe('usage errors: exit 2, one line on stderr, nothing on stdout, nothing changed', () => {
  const lake = tempLake();
  const file = path.join(lake, '..', `sample-${path.basename(lake)}.csv`);
  writeFileSync(file, 'TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n');
  const notADir = path.join(lake, '..', `plain-file-${path.basename(lake)}`);
  writeFileSync(notADir, 'x');
  const emptyDir = path.join(lake, '..', `empty-${path.basename(lake)}`);
  mkdirSync(emptyDir);

  const cases: [string, string[], RegExp][] = [
    ['no command', [], /missing command: land, run, backfill, balance-history, report, runs or maintain/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown flag', ['run', '--date', '2024-01-16', '--colour'], /unknown option '--colour'/],
    ['missing --date', ['run'], /required option '--date <date>' not specified/],
    ['not a date', ['run', '--date', '16/01/2024'], /"16\/01\/2024" is not a date YYYY-MM-DD/],
    ['impossible date', ['run', '--date', '2023-02-29'], /"2023-02-29" is not a date/],
    [
      'reversed range',
      ['backfill', '--from', '2024-03-01', '--to', '2024-01-01'],
      /--from 2024-03-01 is after --to 2024-01-01/,
    ],
    ['missing --to', ['backfill', '--from', '2024-03-01'], /required option '--to <date>'/],
    ['bad ratio', ['run', '--date', '2024-01-16', '--max-quarantine-ratio', '1.5'], /not a ratio between 0 and 1/],
    ['invalid quarter', ['balance-history', '--quarter', '2024-Q5'], /invalid quarter "2024-Q5"/],
    ['quarter without Q', ['balance-history', '--quarter', '2024-1'], /invalid quarter/],
    ['bad format', ['balance-history', '--quarter', '2024-Q1', '--format', 'xml'], /argument 'xml' is invalid/],
    ['bad target', ['run', '--date', '2024-01-16', '--target', 'gcp'], /argument 'gcp' is invalid/],
    ['missing file', ['land', path.join(lake, 'nope.csv'), '--date', '2024-01-16'], /no such file/],
    ['land without date', ['land', file], /required option '--date <date>'/],
    ['lake is a file', ['run', '--date', '2024-01-16', '--lake', notADir], /is not a directory/],
    [
      'lake cannot be created',
      ['run', '--date', '2024-01-16', '--lake', path.join(notADir, 'lake')],
      /cannot create the lake directory/,
    ],
    ['extra argument', ['run', '--date', '2024-01-16', 'extra'], /too many arguments/],
    [
      'unknown environment',
      ['run', '--date', '2024-01-16', '--env', 'nope'],
      /unknown environment "nope": cdk.json defines dev, staging, prod/,
    ],
    [
      'ratio with the aws target',
      ['run', '--date', '2024-01-16', '--target', 'aws', '--max-quarantine-ratio', '0.2'],
      /--max-quarantine-ratio applies to local runs/,
    ],
    ['land an empty directory', ['land', emptyDir, '--date', '2024-01-16'], /no files in directory /],
    ['runs since no date', ['runs', '--since', 'last-week'], /"last-week" is not a date YYYY-MM-DD/],
  ];

  test.each(cases)('%s', async (_name, args, message) => {
    const withLake = args.includes('--lake') || args.length === 0 ? args : [...args, '--lake', lake];
    const result = await txlake(withLake);
    expectUsageError(result, message);
    expect(readdirSync(lake)).toEqual([]);
  });

  test('the installed command exits 2 the same way', async () => {
    const error = await run('node', [
      path.join(ROOT, 'bin', 'txlake.js'),
      'run',
      '--date',
      '2024-13-01',
      '--lake',
      lake,
    ]).then(
      () => undefined,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(error?.code).toBe(2);
    expect(error?.stdout).toBe('');
    expect(error?.stderr).toBe(
      "txlake: option '--date <date>' argument '2024-13-01' is invalid. \"2024-13-01\" is not a date YYYY-MM-DD\n",
    );
    expect(existsSync(path.join(lake, 'bronze'))).toBe(false);
  });

  test('--help prints usage on stdout and exits 0', async () => {
    const result = await txlake(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: txlake/);
    expect(result.stdout).toMatch(/balance-history/);
  });
});
