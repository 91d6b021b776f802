import type { Command } from 'commander';
import { Option } from 'commander';
import { balanceHistoryParameters, balanceHistoryValues } from '../../core/quarter';
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
  type SetExitCode,
  withCommonOptions,
} from '../usage';

type BalanceHistoryOptions = CommonOptions & { quarter: string; format: 'csv' | 'json'; asOf?: Date };

/**
 * `--target aws`: the same SQL file on Athena, in the environment's workgroup and database, with
 * the state machine's execution parameters; `--as-of` reads gold with Iceberg time travel.
 */
async function balanceHistoryOnAws(options: BalanceHistoryOptions, io: CliIo): Promise<string> {
  const { openDeployment } = await import('../../runner/aws/deployment');
  const { readGoldAsOf, runAthenaQuery } = await import('../../runner/aws/aws-athena');
  const { AthenaClient } = await import('@aws-sdk/client-athena');
  let sql = loadSql('balance_history');
  if (options.asOf) {
    try {
      sql = readGoldAsOf(sql, options.asOf);
    } catch (error) {
      throw new UsageError(`--as-of: ${(error as Error).message}`);
    }
  }
  const { config, deployment } = await openDeployment({ root: io.root, envName: options.env, env: io.env }, [
    'workGroup',
    'database',
  ]);
  const result = await runAthenaQuery(
    new AthenaClient(config),
    {
      sql,
      parameters: balanceHistoryParameters(options.quarter),
      workGroup: deployment.workGroup,
      database: deployment.database,
    },
    { progress: (line) => io.stderr(`[txlake] ${line}\n`) },
  );
  return formatRows(result.columns, result.rows, options.format === 'json' || Boolean(options.json));
}

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
    .action(async (options: BalanceHistoryOptions) => {
      checkEnvironment(options, io);
      if (options.target === 'aws') {
        io.stdout(await balanceHistoryOnAws(options, io));
        setExitCode(0);
        return;
      }
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
        const sql = loadSql('balance_history');
        const parameters = balanceHistoryValues(options.quarter);
        if (options.format === 'json' || options.json) {
          const result = await athena.execute(sql, parameters);
          io.stdout(formatRows(result.columns, result.rows, true));
        } else {
          // formatRows' CSV, written by DuckDB (no value converted in JS)
          io.stdout(await athena.executeCsv(sql, parameters));
        }
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
