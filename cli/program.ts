import { Command, CommanderError } from 'commander';
import { addBalanceHistoryCommand } from './commands/balance-history';
import { addGenerateCommand } from './commands/generate';
import { addLandCommand } from './commands/land';
import { addMaintainCommand } from './commands/maintain';
import { addReportCommand } from './commands/report';
import { addRunCommands } from './commands/run';
import { addRunsCommand } from './commands/runs';
import { type CliIo, UsageError } from './usage';

export { type CliIo, UsageError } from './usage';

/** Builds the `txlake` command line. Actions resolve to the process exit code. */
export function buildCli(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('txlake')
    .description('txlake: finance-grade, history-safe pipeline for bank transaction files')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .allowExcessArguments(false);
  addLandCommand(program, io, setExitCode);
  addRunCommands(program, io, setExitCode);
  addBalanceHistoryCommand(program, io, setExitCode);
  addMaintainCommand(program, io, setExitCode);
  addReportCommand(program, io, setExitCode);
  addRunsCommand(program, io, setExitCode);
  addGenerateCommand(program, io, setExitCode);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 a date failed, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.stderr(
      'txlake: missing command: land, run, backfill, balance-history, report, runs or maintain (see txlake --help)\n',
    );
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
    io.stderr(`txlake: ${(error as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
