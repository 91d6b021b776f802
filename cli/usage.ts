import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { isCalendarDate } from '../core/calendar';
import { CONTRACT } from '../core/contract';
import { environmentNames, readProjectContext } from '../core/environments';
import { parseQuarter } from '../core/quarter';
import type { LocalGlue } from '../runner/local/local-glue';
import type { ProgressStream } from './progress';

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
  /** Repository root (cdk.json, sql/, glue/). */
  readonly root: string;
  /**
   * The local Glue service local runs send their job runs to (tests share one between runs).
   * @default one per run, stopped at its end
   */
  readonly localGlue?: LocalGlue;
  /** The stream `stderr` writes to (process.stderr): on a terminal, progress is one live line. */
  readonly stderrStream?: ProgressStream;
}

/** What a command's action reports: its exit code. */
export type SetExitCode = (code: number) => void;

export interface CommonOptions {
  readonly lake?: string;
  readonly target: 'local' | 'aws';
  readonly env?: string;
  readonly json?: boolean;
}

/** The options every pipeline command takes (SPEC §5). */
export const withCommonOptions = (cmd: Command): Command =>
  cmd
    .option('--lake <dir>', 'local lake directory (default: $TXLAKE_LAKE or ./.lake)')
    .addOption(new Option('--target <target>', 'where to run').choices(['local', 'aws']).default('local'))
    .option('--env <name>', 'environment of cdk.json (aws target and deployment settings)')
    .option('--json', 'print one JSON document');

export const parseDate = (value: string): string => {
  if (!isCalendarDate(value)) throw new InvalidArgumentError(`"${value}" is not a date YYYY-MM-DD`);
  return value;
};

/**
 * An instant in ISO 8601 (`YYYY-MM-DD`, optionally `T` or a space and `HH:MM[:SS[.fff…]]`, then `Z`
 * or `±HH:MM`); UTC when it names no offset (SPEC §4 `--as-of`).
 */
export const parseInstant = (value: string): Date => {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(
    value,
  );
  if (!m || !isCalendarDate(m[1])) {
    throw new InvalidArgumentError(`"${value}" is not an instant (ISO 8601, e.g. 2024-03-31T23:59:59Z)`);
  }
  const [, date, hh = '00', mm = '00', ss = '00', fraction = '', offset = 'Z'] = m;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) {
    throw new InvalidArgumentError(`"${value}" is not an instant: no such time of day`);
  }
  const ms = fraction.padEnd(3, '0').slice(0, 3);
  const instant = new Date(`${date}T${hh}:${mm}:${ss}.${ms}${offset}`);
  if (Number.isNaN(instant.getTime())) throw new InvalidArgumentError(`"${value}" is not an instant`);
  return instant;
};

export const parseRatio = (value: string): number => {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`"${value}" is not a ratio between 0 and 1`);
  }
  return n;
};

export const parseQuarterArg = (value: string): string => {
  try {
    parseQuarter(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
};

export const parsePositiveInt = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return n;
};

export const parseSeed = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffffffff) {
    throw new InvalidArgumentError(`"${value}" is not a seed from 0 to ${0xffffffff}`);
  }
  return n;
};

export const parseCurrencies = (value: string): string[] => {
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

/** The local lake directory, checked (and created when a command writes to it). */
export function lakeDir(options: Pick<CommonOptions, 'lake'>, io: CliIo, create: boolean): string {
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
export function checkEnvironment(options: Pick<CommonOptions, 'env'>, io: CliIo): void {
  if (options.env === undefined) return;
  const environments = environmentNames(readProjectContext(io.root));
  if (!environments.includes(options.env)) {
    throw new UsageError(`unknown environment "${options.env}": cdk.json defines ${environments.join(', ')}`);
  }
}

/** For a command that works on a local lake only (SPEC §5: every pipeline command also works on aws). */
export function requireLocal(options: Pick<CommonOptions, 'target'>, command: string): void {
  if (options.target === 'aws') {
    throw new UsageError(`${command} works on a local lake only; it has no --target aws`);
  }
}
