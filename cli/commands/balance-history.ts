import type { Command } from 'commander';
import { Option } from 'commander';
import { balanceHistoryValues } from '../../core/quarter';
import { loadSql } from '../../core/sql-files';
import { localPath } from '../../runner/local/lake-paths';
import { formatRows } from '../format';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  parseInstant,
  parseQuarterArg,
  UsageError,
  requireLocal,
  type SetExitCode,
  withCommonOptions,
} from '../usage';

/** `txlake balance-history --quarter YYYY-Qn`: sql/balance_history.sql on the lake's gold snapshot. */
export function addBalanceHistoryCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(program.command('balance-history').description('print the month-end balance history of a quarter'))
    .requiredOption('--quarter <quarter>', 'YYYY-Qn, e.g. 2024-Q1', parseQuarterArg)
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option(
      '--as-of <instant>',
      'the history as gold stood at this instant (ISO 8601, UTC without offset)',
      parseInstant,
    )
    .action(async (options: CommonOptions & { quarter: string; format: 'csv' | 'json'; asOf?: Date }) => {
      requireLocal(options, 'balance-history');
      checkEnvironment(options, io);
      const lake = lakeDir(options, io, false);
      const { resolvePipeline, synthesizeTemplates } = await import('../../runner/local/template-resolver');
      const { LocalAthena } = await import('../../runner/local/local-athena');
      const { lakeTables } = await import('../../runner/local/lake-tables');
      const { IcebergNoSnapshotAtInstantError, IcebergTableNotFoundError } =
        await import('../../runner/local/iceberg-catalog');
      const pipeline = resolvePipeline(synthesizeTemplates({ root: io.root, envName: options.env }));
      const athena = await LocalAthena.create({
        tables: lakeTables(pipeline, lake, { asOf: options.asOf }),
        resolveUri: (uri) => localPath(lake, uri),
      });
      try {
        const result = await athena.execute(loadSql('balance_history'), balanceHistoryValues(options.quarter));
        io.stdout(formatRows(result.columns, result.rows, options.format === 'json' || Boolean(options.json)));
      } catch (error) {
        // An instant before gold's first retained snapshot names no state of the table (SPEC §4).
        if (
          options.asOf &&
          (error instanceof IcebergNoSnapshotAtInstantError || error instanceof IcebergTableNotFoundError)
        ) {
          throw new UsageError(
            `--as-of ${options.asOf.toISOString()} is before the first retained snapshot of the gold table`,
          );
        }
        throw error;
      } finally {
        athena.close();
      }
      setExitCode(0);
    });
}
