import type { Command } from 'commander';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  type SetExitCode,
  withCommonOptions,
} from '../usage';

/**
 * `--target aws`: a run of the deployed Glue job in maintain mode, with the weekly trigger's
 * arguments, followed to its end (state changes on stderr); exit 1 unless it succeeded.
 */
async function maintainOnAws(options: CommonOptions, io: CliIo): Promise<number> {
  const { openDeployment } = await import('../../runner/aws/deployment');
  const { MAINTAIN_ARGUMENTS, runGlueJob } = await import('../../runner/aws/aws-glue');
  const { GlueClient } = await import('@aws-sdk/client-glue');
  const { config, deployment } = await openDeployment({ root: io.root, envName: options.env, env: io.env }, [
    'glueJob',
  ]);
  const outcome = await runGlueJob(new GlueClient(config), deployment.glueJob, MAINTAIN_ARGUMENTS, {
    progress: (line) => io.stderr(`[txlake] ${line}\n`),
  });
  const summary = {
    job_name: deployment.glueJob,
    job_run_id: outcome.jobRunId,
    state: outcome.state,
    ...(outcome.executionTime !== undefined ? { execution_time_s: outcome.executionTime } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  io.stdout(`${JSON.stringify(summary, null, options.json ? undefined : 2)}\n`);
  if (outcome.state === 'SUCCEEDED') return 0;
  io.stderr(
    `txlake: maintenance run ${outcome.jobRunId} ${outcome.state}${outcome.error ? `: ${outcome.error}` : ''}\n`,
  );
  return 1;
}

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
    checkEnvironment(options, io);
    if (options.target === 'aws') {
      setExitCode(await maintainOnAws(options, io));
      return;
    }
    const lake = lakeDir(options, io, true);
    const { maintainLocal } = await import('../../runner/local/local-maintain');
    const summary = await maintainLocal({ root: io.root, lake, envName: options.env, glue: io.localGlue });
    io.stdout(`${JSON.stringify(summary, null, options.json ? undefined : 2)}\n`);
    setExitCode(0);
  });
}
