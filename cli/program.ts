import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { RunRecord } from '../lambdas/record-run/core';
import { dateRange } from '../lambdas/resolve-run/core';
import { isCalendarDate, landingPrefix } from '../core/lake-layout';
import { LakeBusyError } from '../runner/local/lake-lock';
import { LocalAthena } from '../runner/local/local-athena';
import { localPath, runLocal } from '../runner/local/local-runner';
import { projectContext, resolvePipeline, synthesizeTemplates } from '../runner/local/template-resolver';
import { CONTRACT } from '../core/contract';
import {
  type GeneratedFileCounts,
  generatedFileDigest,
  generatedFileName,
  type ResolvedGenerateOptions,
  resolveGenerateOptions,
  summarize,
  writeGeneratedFile,
} from '../tools/generate/generate';
import { balanceHistoryValues, parseQuarter } from '../core/quarter';
import { loadSql } from '../core/sql-files';

/** A usage error: one line on stderr, exit 2, nothing changed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Repository root (cdk.json, sql/, glue-scripts/). */
  readonly root: string;
}

const parseDate = (value: string): string => {
  if (!isCalendarDate(value)) throw new InvalidArgumentError(`"${value}" is not a date YYYY-MM-DD`);
  return value;
};
const parseRatio = (value: string): number => {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`"${value}" is not a ratio between 0 and 1`);
  }
  return n;
};
const parseQuarterArg = (value: string): string => {
  try {
    parseQuarter(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
};

interface CommonOptions {
  readonly lake?: string;
  readonly target: 'local' | 'aws';
  readonly env?: string;
  readonly json?: boolean;
}

function lakeDir(options: CommonOptions, io: CliIo, create: boolean): string {
  const lake = path.resolve(io.cwd, options.lake ?? io.env.TXLAKE_LAKE ?? '.lake');
  if (existsSync(lake)) {
    if (!statSync(lake).isDirectory()) throw new UsageError(`lake ${lake} is not a directory`);
    try {
      accessSync(lake, create ? constants.W_OK | constants.R_OK : constants.R_OK);
    } catch {
      throw new UsageError(`lake ${lake} is not ${create ? 'writable' : 'readable'}`);
    }
  } else if (create) {
    try {
      mkdirSync(lake, { recursive: true });
    } catch {
      throw new UsageError(`cannot create the lake directory ${lake}`);
    }
  }
  return lake;
}

/** An unknown `--env` is a usage error, found before anything is touched. */
function checkEnvironment(options: CommonOptions, io: CliIo): void {
  if (options.env === undefined) return;
  const environments = Object.keys((projectContext(io.root)['txlake:environments'] ?? {}) as Record<string, unknown>);
  if (!environments.includes(options.env)) {
    throw new UsageError(`unknown environment "${options.env}": cdk.json defines ${environments.join(', ')}`);
  }
}

function requireLocal(options: CommonOptions, command: string): void {
  if (options.target === 'aws') {
    throw new UsageError(`${command} works on a local lake; --target aws applies to run and backfill`);
  }
}

/** Renders run records for people (one line per date) or as SPEC §5's JSON document. */
export function formatRuns(records: readonly RunRecord[], json: boolean): string {
  const runs = records.map((r) => ({
    ingest_date: r.ingest_date,
    run_id: r.run_id,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    files: r.files,
    rows: r.rows,
    reasons: r.reasons,
  }));
  if (json) return `${JSON.stringify({ runs })}\n`;
  return runs
    .map(
      (r) =>
        `${r.ingest_date} ${r.status}${'error' in r ? ` ${r.error}` : ''} files=${r.files.accepted}+${r.files.rejected}rejected read=${r.rows.read} silver=${r.rows.silver} quarantined=${r.rows.quarantined} condemned=${r.rows.condemned}\n`,
    )
    .join('');
}

async function runDates(
  input: Record<string, string>,
  options: CommonOptions & { maxQuarantineRatio?: number },
  io: CliIo,
): Promise<number> {
  checkEnvironment(options, io);
  if (options.target === 'aws') {
    if (options.maxQuarantineRatio !== undefined) {
      throw new UsageError('--max-quarantine-ratio applies to local runs; a deployment takes it from cdk.json');
    }
    const { runOnAws } = await import('../runner/aws/aws-runner');
    const records = await runOnAws({
      input,
      envName: options.env,
      root: io.root,
      progress: (l) => io.stderr(`${l}\n`),
    });
    io.stdout(formatRuns(records, Boolean(options.json)));
    return records.some((r) => r.status === 'FAILED') ? 1 : 0;
  }
  const lake = lakeDir(options, io, true);
  const result = await runLocal({
    root: io.root,
    lake,
    input,
    envName: options.env,
    maxQuarantineRatio: options.maxQuarantineRatio,
    progress: (line) => io.stderr(`[txlake] ${line}\n`),
  });
  io.stdout(formatRuns(result.records, Boolean(options.json)));
  for (const r of result.records) {
    if (r.status === 'FAILED') io.stderr(`txlake: ${r.ingest_date} failed: ${r.error}: ${r.error_detail ?? ''}\n`);
  }
  if (result.error) io.stderr(`txlake: run failed: ${result.error.code}: ${result.error.detail}\n`);
  return result.status === 'FAILED' || result.records.some((r) => r.status === 'FAILED') ? 1 : 0;
}

const parsePositiveInt = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return n;
};
const parseSeed = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffffffff) {
    throw new InvalidArgumentError(`"${value}" is not a seed from 0 to ${0xffffffff}`);
  }
  return n;
};
const parseCurrencies = (value: string): string[] => {
  const codes = value.split(',').map((c) => c.trim());
  for (const code of codes) {
    if (!/^[A-Z]{3}$/.test(code))
      throw new InvalidArgumentError(`"${code}" is not a currency code (3 uppercase letters)`);
    if (!CONTRACT.currencies.includes(code)) {
      throw new InvalidArgumentError(
        `unknown currency "${code}": the contract allows ${CONTRACT.currencies.join(', ')}`,
      );
    }
  }
  return codes;
};

/** SHA-256 of a file, streamed (the file may be large). */
async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Builds the `txlake` command line. Actions resolve to the process exit code. */
export function buildCli(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('txlake')
    .description('txlake: finance-grade, history-safe pipeline for bank transaction files')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .allowExcessArguments(false);

  const common = (cmd: Command): Command =>
    cmd
      .option('--lake <dir>', 'local lake directory (default: $TXLAKE_LAKE or ./.lake)')
      .addOption(new Option('--target <target>', 'where to run').choices(['local', 'aws']).default('local'))
      .option('--env <name>', 'environment of cdk.json (aws target and deployment settings)')
      .option('--json', 'print one JSON document');

  common(program.command('land').description('copy FILE byte-identical into bronze for an ingest date'))
    .argument('<file>', 'the transaction file to land')
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .action((file: string, options: CommonOptions & { date: string }) => {
      requireLocal(options, 'land');
      const source = path.resolve(io.cwd, file);
      if (!existsSync(source) || !statSync(source).isFile()) throw new UsageError(`no such file: ${file}`);
      const lake = lakeDir(options, io, true);
      const name = path.basename(source);
      const target = localPath(lake, `s3://bronze/${landingPrefix(options.date)}${name}`);
      if (existsSync(target)) {
        if (!readFileSync(target).equals(readFileSync(source))) {
          throw new UsageError(`bronze already holds a different ${name} for ${options.date}; bronze is immutable`);
        }
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(source, target);
      }
      const key = `bronze/${landingPrefix(options.date)}${name}`;
      io.stdout(options.json ? `${JSON.stringify({ landed: key, bytes: statSync(target).size })}\n` : `${key}\n`);
      setExitCode(0);
    });

  common(program.command('run').description('process one ingest date'))
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .option('--max-quarantine-ratio <ratio>', 'quality gate: highest share of quarantined rows', parseRatio)
    .action(async (options: CommonOptions & { date: string; maxQuarantineRatio?: number }) => {
      setExitCode(await runDates({ date: options.date }, options, io));
    });

  common(program.command('backfill').description('process each date of a range, ascending; stops at the first failure'))
    .requiredOption('--from <date>', 'first ingest date', parseDate)
    .requiredOption('--to <date>', 'last ingest date', parseDate)
    .option('--max-quarantine-ratio <ratio>', 'quality gate: highest share of quarantined rows', parseRatio)
    .action(async (options: CommonOptions & { from: string; to: string; maxQuarantineRatio?: number }) => {
      if (options.from > options.to) throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
      try {
        dateRange(options.from, options.to);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      setExitCode(await runDates({ from: options.from, to: options.to }, options, io));
    });

  common(program.command('balance-history').description('print the month-end balance history of a quarter'))
    .requiredOption('--quarter <quarter>', 'YYYY-Qn, e.g. 2024-Q1', parseQuarterArg)
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .action(async (options: CommonOptions & { quarter: string; format: 'csv' | 'json' }) => {
      requireLocal(options, 'balance-history');
      checkEnvironment(options, io);
      const lake = lakeDir(options, io, false);
      const pipeline = resolvePipeline(synthesizeTemplates({ root: io.root, envName: options.env }));
      const athena = await LocalAthena.create({
        tables: pipeline.tables.map((t) => ({ ...t, location: localPath(lake, t.location) })),
        resolveUri: (uri) => localPath(lake, uri),
      });
      try {
        const result = await athena.execute(loadSql('balance_history'), balanceHistoryValues(options.quarter));
        if (options.format === 'json' || options.json) {
          const rows = result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])));
          io.stdout(`${JSON.stringify(rows)}\n`);
        } else {
          const field = (v: string | null): string =>
            v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
          io.stdout([result.columns.join(','), ...result.rows.map((r) => r.map(field).join(','))].join('\n') + '\n');
        }
      } finally {
        athena.close();
      }
      setExitCode(0);
    });

  program
    .command('generate')
    .description(
      'write deterministic test transaction files into bronze for an ingest date and print the counts a run must report (JSON)',
    )
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .requiredOption('--rows <n>', 'data records in total', parsePositiveInt)
    .option('--files <k>', 'split the rows into K files generated-<seed>-<k>.csv (default: 1)', parsePositiveInt)
    .option('--seed <s>', 'seed 0..4294967295: same options, same bytes (default: 1)', parseSeed)
    .option('--accounts <a>', 'distinct CustomerIDs (default: 10000)', parsePositiveInt)
    .option('--currencies <list>', 'comma-separated currencies of valid rows (default: EUR,USD,GBP)', parseCurrencies)
    .option(
      '--span-days <n>',
      'timestamps fall in the N days ending with the ingest date (default: 1)',
      parsePositiveInt,
    )
    .option('--late-rate <r>', 'share of valid rows dated 1-90 days before the span (default: 0.01)', parseRatio)
    .option('--invalid-rate <r>', 'share of rows breaking one row rule: quarantined (default: 0.001)', parseRatio)
    .option('--duplicate-rate <r>', 'share of rows repeating an earlier row: condemned (default: 0.001)', parseRatio)
    .option('--lake <dir>', 'local lake directory (default: $TXLAKE_LAKE or ./.lake)')
    .option('--json', 'print one JSON document (the summary always is)')
    .action(
      async (options: {
        date: string;
        rows: number;
        files?: number;
        seed?: number;
        accounts?: number;
        currencies?: string[];
        spanDays?: number;
        lateRate?: number;
        invalidRate?: number;
        duplicateRate?: number;
        lake?: string;
      }) => {
        let resolved: ResolvedGenerateOptions;
        try {
          resolved = resolveGenerateOptions({ ...options, ingestDate: options.date });
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const lake = lakeDir({ lake: options.lake, target: 'local' }, io, true);
        const prefix = `bronze/${landingPrefix(options.date)}`;
        const landing = localPath(lake, `s3://${prefix}`);
        const files: (GeneratedFileCounts & { name: string })[] = [];
        const missing: number[] = [];
        // Bronze is immutable: a landed file of the same name must hold the same bytes already.
        for (let index = 0; index < resolved.files; index += 1) {
          const name = generatedFileName(resolved.seed, index);
          const target = path.join(landing, name);
          if (!existsSync(target)) {
            missing.push(index);
            continue;
          }
          const generated = generatedFileDigest(resolved, index);
          if (generated.sha256 !== (await fileSha256(target))) {
            throw new UsageError(`bronze already holds a different ${name} for ${options.date}; bronze is immutable`);
          }
          files[index] = { name, ...generated.counts };
        }
        for (const f of files) if (f) io.stderr(`[txlake] kept ${f.name}: bronze already holds it\n`);
        if (missing.length > 0) {
          // Written beside the lake first, so bronze only ever holds complete files.
          mkdirSync(path.join(lake, '_local'), { recursive: true });
          const scratch = mkdtempSync(path.join(lake, '_local', 'generate-'));
          try {
            for (const index of missing) {
              const name = generatedFileName(resolved.seed, index);
              const started = Date.now();
              const counts = await writeGeneratedFile(path.join(scratch, name), resolved, index);
              const seconds = ((Date.now() - started) / 1000).toFixed(2);
              io.stderr(`[txlake] generated ${name}: ${counts.rows} rows, ${counts.bytes} bytes in ${seconds} s\n`);
              files[index] = { name, ...counts };
            }
            mkdirSync(landing, { recursive: true });
            for (const index of missing) {
              const name = generatedFileName(resolved.seed, index);
              renameSync(path.join(scratch, name), path.join(landing, name));
            }
          } finally {
            rmSync(scratch, { recursive: true, force: true });
          }
        }
        const summary = summarize(resolved, files);
        const landed = summary.files.map((f) => ({
          name: f.name,
          key: `${prefix}${f.name}`,
          rows: f.rows,
          bytes: f.bytes,
        }));
        io.stdout(`${JSON.stringify({ ...summary, files: landed })}\n`);
        setExitCode(0);
      },
    );

  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 a date failed, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.stderr('txlake: missing command: land, run, backfill or balance-history (see txlake --help)\n');
    return 2;
  }
  let code = 0;
  const program = buildCli(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return 0;
      io.stderr(`txlake: ${error.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      io.stderr(`txlake: ${error.message}\n`);
      return 2;
    }
    if (error instanceof LakeBusyError) {
      io.stderr(`txlake: ${error.message}\n`);
      return 1;
    }
    io.stderr(`txlake: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
