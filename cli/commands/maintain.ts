import type { Command } from 'commander';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  requireLocal,
  type SetExitCode,
  withCommonOptions,
} from '../usage';

/**
 * `txlake maintain`: Iceberg upkeep of the lake's tables (expire old snapshots, compact, remove
 * orphan files, condemned rows past their retention), the mode the deployment schedules weekly.
 */
export function addMaintainCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(
    program
      .command('maintain')
      .description('Iceberg upkeep of the lake: expire snapshots, compact, remove orphan files'),
  ).action(async (options: CommonOptions) => {
    requireLocal(options, 'maintain');
    checkEnvironment(options, io);
    const lake = lakeDir(options, io, true);
    const { maintainLocal } = await import('../../runner/local/local-maintain');
    const summary = await maintainLocal({ root: io.root, lake, envName: options.env, glue: io.localGlue });
    io.stdout(`${JSON.stringify(summary, null, options.json ? undefined : 2)}\n`);
    setExitCode(0);
  });
}
