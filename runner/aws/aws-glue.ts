import {
  GetJobRunCommand,
  GetJobRunsCommand,
  type GlueClient,
  type JobRun,
  StartJobRunCommand,
} from '@aws-sdk/client-glue';
import { oneLine } from './deployment';

/** The job argument naming the Glue job's mode (lib/constructs/ingestion-job.ts `JOB_MODE_ARGUMENT`). */
export const JOB_MODE_ARGUMENT = '--job_mode';

/**
 * The arguments the weekly maintenance trigger starts the job with (lib/constructs/table-maintenance.ts):
 * maintain mode; the job's default arguments supply the rest.
 */
export const MAINTAIN_ARGUMENTS: Readonly<Record<string, string>> = {
  [JOB_MODE_ARGUMENT]: 'maintain',
  '--run_id': 'scheduled',
};

const FINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'STOPPED', 'TIMEOUT', 'ERROR', 'EXPIRED']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a job run ended. */
export interface GlueRunOutcome {
  readonly jobRunId: string;
  readonly state: string;
  readonly error?: string;
  /** Seconds the run took (Glue's ExecutionTime). */
  readonly executionTime?: number;
}

/**
 * Starts a run of the job with `args` (on top of its default arguments) and follows it to its end,
 * reporting each change of state.
 */
export async function runGlueJob(
  glue: GlueClient,
  jobName: string,
  args: Readonly<Record<string, string>>,
  options: { readonly progress: (line: string) => void; readonly maxPollMs?: number },
): Promise<GlueRunOutcome> {
  let jobRunId: string | undefined;
  try {
    jobRunId = (await glue.send(new StartJobRunCommand({ JobName: jobName, Arguments: { ...args } }))).JobRunId;
  } catch (error) {
    const e = error as Error;
    const why = e.name === 'ConcurrentRunsExceededException' ? 'another run of the job is going on' : e.message;
    throw new Error(`cannot start Glue job ${jobName}: ${oneLine(why)}`);
  }
  if (!jobRunId) throw new Error(`Glue started no run of ${jobName}`);
  options.progress(`started Glue job run ${jobRunId} of ${jobName}`);
  let last: string | undefined;
  let wait = 100;
  for (;;) {
    const { JobRun: run } = await glue.send(new GetJobRunCommand({ JobName: jobName, RunId: jobRunId }));
    const state = run?.JobRunState ?? 'UNKNOWN';
    if (state !== last) {
      options.progress(`Glue job run ${jobRunId} ${state}`);
      last = state;
    }
    if (FINAL_STATES.has(state)) {
      return {
        jobRunId,
        state,
        ...(run?.ErrorMessage ? { error: oneLine(run.ErrorMessage) } : {}),
        ...(run?.ExecutionTime !== undefined ? { executionTime: run.ExecutionTime } : {}),
      };
    }
    await sleep(wait);
    wait = Math.min(wait * 2, options.maxPollMs ?? 10_000);
  }
}

/** Every run of a job Glue still keeps (90 days), all pages. */
export async function listGlueJobRuns(glue: GlueClient, jobName: string): Promise<JobRun[]> {
  const runs: JobRun[] = [];
  let nextToken: string | undefined;
  do {
    const page = await glue.send(new GetJobRunsCommand({ JobName: jobName, NextToken: nextToken, MaxResults: 200 }));
    runs.push(...(page.JobRuns ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return runs;
}

/** What `txlake runs` shows of one job run. */
export interface GlueJobRunSummary {
  readonly id: string;
  readonly mode: string;
  readonly state: string;
  readonly started_on?: string;
  /** Seconds (ExecutionTime). */
  readonly execution_time_s: number;
  /** DPUSeconds when Glue reports it (auto scaling, Flex), else capacity × ExecutionTime. */
  readonly dpu_seconds: number;
  readonly error?: string;
}

/** DPUs of one worker of a Glue worker type (G.1X: 1, G.025X: 0.25, Z.2X: 2), 0 when unknown. */
export function dpuPerWorker(workerType: string | undefined): number {
  const match = /^[A-Z]\.(\d+)X$/.exec(workerType ?? '');
  if (!match) return workerType === 'Standard' ? 1 : 0;
  return match[1].startsWith('0') ? Number(`0.${match[1].slice(1)}`) : Number(match[1]);
}

/**
 * A job run's id, mode, state, time and DPU-seconds: Glue's DPUSeconds when it reports them (auto
 * scaling, Flex), else its capacity × ExecutionTime (MaxCapacity, or workers × DPUs per worker).
 */
export function summarizeJobRun(run: JobRun): GlueJobRunSummary {
  const seconds = run.ExecutionTime ?? 0;
  const capacity = run.MaxCapacity ?? (run.NumberOfWorkers ?? 0) * dpuPerWorker(run.WorkerType);
  return {
    id: run.Id ?? '',
    mode: run.Arguments?.[JOB_MODE_ARGUMENT] ?? 'transform',
    state: run.JobRunState ?? 'UNKNOWN',
    ...(run.StartedOn ? { started_on: run.StartedOn.toISOString() } : {}),
    execution_time_s: seconds,
    dpu_seconds: run.DPUSeconds ?? capacity * seconds,
    ...(run.ErrorMessage ? { error: oneLine(run.ErrorMessage) } : {}),
  };
}
