import type { Command } from 'commander';
import { LAKE_BUSY } from '../../core/errors';
import { refusedRecords } from '../../core/run-record';
import { dateRange, type RunRequest } from '../../core/run-plan';
import type { PipelineRunner, RunOutcome } from '../../runner/pipeline-runner';
import { formatRuns } from '../format';
import { startProgress } from '../progress';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  parseDate,
  parseRatio,
  type SetExitCode,
  UsageError,
  withCommonOptions,
} from '../usage';

type RunOptions = CommonOptions & { maxQuarantineRatio?: number; verbose?: boolean };

/** The runner of `--target`: the deployed state machine, or the local one on the lake. */
async function runnerFor(options: RunOptions, io: CliIo): Promise<PipelineRunner> {
  if (options.target === 'aws') {
    if (options.maxQuarantineRatio !== undefined) {
      throw new UsageError('--max-quarantine-ratio applies to local runs; a deployment takes it from cdk.json');
    }
    const { AwsPipelineRunner } = await import('../../runner/aws/aws-runner');
    return new AwsPipelineRunner({ envName: options.env, root: io.root, env: io.env });
  }
  const lake = lakeDir(options, io, true);
  const { LocalPipelineRunner } = await import('../../runner/local/local-runner');
  return new LocalPipelineRunner({
    root: io.root,
    lake,
    envName: options.env,
    maxQuarantineRatio: options.maxQuarantineRatio,
    glue: io.localGlue,
  });
}

/**
 * Runs the request, shows its progress (stderr: a live line on a terminal, else a line per date),
 * prints each date's record (stdout) and why dates failed (stderr); the exit code.
 */
async function runDates(request: RunRequest, options: RunOptions, io: CliIo): Promise<number> {
  checkEnvironment(options, io);
  const runner = await runnerFor(options, io);
  const reporter = await startProgress({
    write: io.stderr,
    stream: io.stderrStream,
    json: options.json,
    verbose: options.verbose,
    env: io.env,
  });
  let outcome: RunOutcome;
  try {
    outcome = await runner.run(request, reporter.progress);
  } finally {
    reporter.stop();
  }
  // An execution refused before any date (another one holds the lake: LAKE_BUSY) fails every date
  // it was asked for, having changed nothing.
  const refused =
    outcome.records.length === 0 && outcome.error?.code === LAKE_BUSY
      ? refusedRecords('date' in request ? [request.date] : dateRange(request.from, request.to), outcome.error)
      : [];
  io.stdout(formatRuns([...outcome.records, ...refused], Boolean(options.json)));
  for (const r of outcome.records) {
    if (r.status === 'FAILED') io.stderr(`txlake: ${r.ingest_date} failed: ${r.error}: ${r.error_detail ?? ''}\n`);
  }
  if (outcome.error) io.stderr(`txlake: run failed: ${outcome.error.code}: ${outcome.error.detail}\n`);
  return outcome.status === 'FAILED' || outcome.records.some((r) => r.status === 'FAILED') ? 1 : 0;
}

const VERBOSE = 'progress: a line per state of the state machine and the execution quota figures';

/** `txlake run --date D` and `txlake backfill --from D1 --to D2`. */
export function addRunCommands(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(program.command('run').description('process one ingest date'))
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .option('--max-quarantine-ratio <ratio>', 'quality gate: highest share of quarantined rows', parseRatio)
    .option('--verbose', VERBOSE)
    .action(async (options: RunOptions & { date: string }) => {
      setExitCode(await runDates({ date: options.date }, options, io));
    });

  withCommonOptions(
    program.command('backfill').description('process each date of a range, ascending; stops at the first failure'),
  )
    .requiredOption('--from <date>', 'first ingest date', parseDate)
    .requiredOption('--to <date>', 'last ingest date', parseDate)
    .option('--max-quarantine-ratio <ratio>', 'quality gate: highest share of quarantined rows', parseRatio)
    .option('--verbose', VERBOSE)
    .action(async (options: RunOptions & { from: string; to: string }) => {
      if (options.from > options.to) throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
      try {
        dateRange(options.from, options.to);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      setExitCode(await runDates({ from: options.from, to: options.to }, options, io));
    });
}
