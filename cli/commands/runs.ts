import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { addDays } from '../../core/calendar';
import { RUN_RECORDS_PREFIX } from '../../core/lake-layout';
import { byIngestDate, type RunRecord, parseRunRecord } from '../../core/run-record';
import type { ExecutionRuns } from '../../runner/aws/recent-runs';
import { localPath } from '../../runner/local/lake-paths';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  parseDate,
  type SetExitCode,
  withCommonOptions,
} from '../usage';

/** How far back `txlake runs` looks without `--since`. */
export const DEFAULT_RUNS_DAYS = 30;

type RunsOptions = CommonOptions & { since?: string };

/**
 * The local lake's run records (`<lake>/staging/run-records/<execution>/<date>.json`) written on
 * or after `since` (by the file's modification time), newest execution first.
 */
export function recentRunsLocally(lake: string, since: Date): ExecutionRuns[] {
  const root = localPath(lake, `s3://staging/${RUN_RECORDS_PREFIX}`);
  if (!existsSync(root)) return [];
  const executions: { execution: ExecutionRuns; latest: number }[] = [];
  for (const executionId of readdirSync(root).sort()) {
    const dir = path.join(root, executionId);
    if (!statSync(dir).isDirectory()) continue;
    const runs: RunRecord[] = [];
    let latest = 0;
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (!/^\d{4}-\d{2}-\d{2}\.json$/.test(name)) continue;
      const modified = statSync(file).mtimeMs;
      if (modified < since.getTime()) continue;
      runs.push(parseRunRecord(readFileSync(file, 'utf8'), file));
      latest = Math.max(latest, modified);
    }
    if (runs.length > 0)
      executions.push({ execution: { execution_id: executionId, runs: runs.sort(byIngestDate) }, latest });
  }
  return executions
    .sort((a, b) => b.latest - a.latest || b.execution.execution_id.localeCompare(a.execution.execution_id))
    .map((e) => e.execution);
}

/** A text table: a header row, columns padded to their widest cell (the last one is not padded). */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/** One line per date of each execution (one for an execution that recorded no date), newest first. */
export function formatRunsTable(executions: readonly ExecutionRuns[], withGlue: boolean): string {
  const header = ['EXECUTION', 'STATUS', 'STARTED', 'DATE', 'RESULT', 'FILES', 'READ', 'SILVER', 'QUARANTINED'];
  header.push('CONDEMNED', ...(withGlue ? ['GLUE RUNS', 'GLUE S', 'DPU-S'] : []), 'ERROR');
  const rows: string[][] = [];
  for (const e of executions) {
    const execution = [e.execution_id, e.status ?? '-', e.started_at?.slice(0, 19).replace('T', ' ') ?? '-'];
    if (e.runs.length === 0) {
      rows.push([...execution, '-', '-', '-', '-', '-', '-', '-', ...(withGlue ? ['-', '-', '-'] : []), e.error ?? '']);
    }
    for (const r of e.runs) {
      const glue = r.glue_job_runs ?? [];
      const seconds = glue.reduce((t, g) => t + g.execution_time_s, 0);
      const dpu = glue.reduce((t, g) => t + g.dpu_seconds, 0);
      rows.push([
        ...execution,
        r.ingest_date,
        r.status,
        `${r.files.accepted}+${r.files.rejected}`,
        String(r.rows.read),
        String(r.rows.silver),
        String(r.rows.quarantined),
        String(r.rows.condemned),
        ...(withGlue ? [String(glue.length), String(seconds), String(Math.round(dpu))] : []),
        r.error ?? '',
      ]);
    }
  }
  return rows.length === 0 ? '' : textTable(header, rows);
}

/**
 * `txlake runs [--since D]`: the recent executions and how each of their dates ended (status,
 * counts, error); with `--target aws` the deployed state machine's executions, their run records
 * and each date's Glue job runs (time, DPU-seconds).
 */
export function addRunsCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(program.command('runs').description('recent executions: each date’s status, counts and error'))
    .option(
      '--since <date>',
      `runs recorded on or after this date (UTC; default: the last ${DEFAULT_RUNS_DAYS} days), and executions running since`,
      parseDate,
    )
    .action(async (options: RunsOptions) => {
      checkEnvironment(options, io);
      const sinceDate = options.since ?? addDays(new Date().toISOString().slice(0, 10), -DEFAULT_RUNS_DAYS);
      const since = new Date(`${sinceDate}T00:00:00Z`);
      let executions: ExecutionRuns[];
      if (options.target === 'aws') {
        const { openDeployment } = await import('../../runner/aws/deployment');
        const { recentRunsOnAws } = await import('../../runner/aws/recent-runs');
        const { S3Client } = await import('@aws-sdk/client-s3');
        const { SFNClient } = await import('@aws-sdk/client-sfn');
        const { GlueClient } = await import('@aws-sdk/client-glue');
        const { config, deployment } = await openDeployment({ root: io.root, envName: options.env, env: io.env }, [
          'stateMachineArn',
          'stagingBucket',
          'glueJob',
        ]);
        executions = await recentRunsOnAws({
          s3: new S3Client(config),
          sfn: new SFNClient(config),
          glue: new GlueClient(config),
          stagingBucket: deployment.stagingBucket,
          stateMachineArn: deployment.stateMachineArn,
          glueJobName: deployment.glueJob,
          since,
        });
      } else {
        executions = recentRunsLocally(lakeDir(options, io, false), since);
      }
      if (options.json) {
        io.stdout(`${JSON.stringify({ target: options.target, since: sinceDate, executions })}\n`);
      } else {
        io.stdout(formatRunsTable(executions, options.target === 'aws'));
        if (executions.length === 0) io.stderr(`txlake: no runs since ${sinceDate}\n`);
      }
      setExitCode(0);
    });
}
