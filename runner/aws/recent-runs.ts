import type { GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { RUN_RECORDS_PREFIX } from '../../core/lake-layout';
import { sanitizeId } from '../../core/run-plan';
import { byIngestDate, type RunRecord, parseRunRecord } from '../../core/run-record';
import { type GlueJobRunSummary, listGlueJobRuns, summarizeJobRun } from './aws-glue';
import { oneLine } from './deployment';

/** One date of an execution, as `txlake runs` shows it: its run record and, in AWS, its Glue job runs. */
export interface DateRun extends RunRecord {
  readonly glue_job_runs?: GlueJobRunSummary[];
}

/** An execution and the dates it recorded. */
export interface ExecutionRuns {
  /** The id its run records are filed under (`run-records/<execution_id>/`). */
  readonly execution_id: string;
  /** Step Functions' status of the execution (AWS), e.g. RUNNING, SUCCEEDED, FAILED. */
  readonly status?: string;
  readonly started_at?: string;
  readonly stopped_at?: string;
  /** Why the execution failed (AWS), e.g. LAKE_BUSY before any date. */
  readonly error?: string;
  readonly runs: DateRun[];
}

/** `run-records/<execution>/<date>.json` → `[execution, date]`. */
export function recordKeyParts(key: string): [executionId: string, ingestDate: string] | undefined {
  const match = new RegExp(`^${RUN_RECORDS_PREFIX}([^/]+)/(\\d{4}-\\d{2}-\\d{2})\\.json$`).exec(key);
  return match ? [match[1], match[2]] : undefined;
}

/** The run records written on or after `since` (by S3's LastModified), by execution id. */
export async function readRecentRunRecords(
  s3: S3Client,
  bucket: string,
  since: Date,
): Promise<Map<string, RunRecord[]>> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: RUN_RECORDS_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key && recordKeyParts(object.Key) && (!object.LastModified || object.LastModified >= since)) {
        keys.push(object.Key);
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const byExecution = new Map<string, RunRecord[]>();
  for (const key of keys) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const record = parseRunRecord((await object.Body?.transformToString('utf8')) ?? '', `s3://${bucket}/${key}`);
    const [executionId] = recordKeyParts(key) as [string, string];
    byExecution.set(executionId, [...(byExecution.get(executionId) ?? []), record]);
  }
  return byExecution;
}

/** The state machine's executions that ran on or after `since` (started then, or not ended before it). */
export async function listRecentExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
  since: Date,
): Promise<ExecutionListItem[]> {
  const executions: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, nextToken }));
    for (const item of page.executions ?? []) {
      if ((item.stopDate ?? new Date()) >= since || (item.startDate && item.startDate >= since)) executions.push(item);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return executions;
}

export interface RecentRunsOnAws {
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly glue: GlueClient;
  readonly stagingBucket: string;
  readonly stateMachineArn: string;
  readonly glueJobName: string;
  readonly since: Date;
}

/**
 * The deployment's recent executions (Step Functions) with their run records (staging) and each
 * date's Glue job runs (matched by the run's `--run_id` argument), newest execution first; the
 * records of executions Step Functions no longer lists come last.
 */
export async function recentRunsOnAws(options: RecentRunsOnAws): Promise<ExecutionRuns[]> {
  const { sfn, since } = options;
  const records = await readRecentRunRecords(options.s3, options.stagingBucket, since);
  const executions = await listRecentExecutions(sfn, options.stateMachineArn, since);
  const jobRuns = new Map<string, GlueJobRunSummary[]>();
  if (records.size > 0) {
    for (const run of await listGlueJobRuns(options.glue, options.glueJobName)) {
      const runId = run.Arguments?.['--run_id'];
      if (runId) jobRuns.set(runId, [...(jobRuns.get(runId) ?? []), summarizeJobRun(run)]);
    }
  }
  const byStart = (a: GlueJobRunSummary, b: GlueJobRunSummary): number =>
    (a.started_on ?? '').localeCompare(b.started_on ?? '');
  const withJobRuns = (list: readonly RunRecord[]): DateRun[] =>
    [...list]
      .sort(byIngestDate)
      .map((r) => ({ ...r, glue_job_runs: [...(jobRuns.get(r.run_id) ?? [])].sort(byStart) }));

  const listed: ExecutionRuns[] = [];
  const seen = new Set<string>();
  for (const item of executions) {
    const executionId = sanitizeId(item.name ?? '');
    seen.add(executionId);
    let error: string | undefined;
    if (item.executionArn && ['FAILED', 'TIMED_OUT', 'ABORTED'].includes(item.status ?? '')) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
      error = [described.error, described.cause]
        .filter(Boolean)
        .map((t) => oneLine(t as string))
        .join(': ');
    }
    listed.push({
      execution_id: executionId,
      ...(item.status ? { status: item.status } : {}),
      ...(item.startDate ? { started_at: item.startDate.toISOString() } : {}),
      ...(item.stopDate ? { stopped_at: item.stopDate.toISOString() } : {}),
      ...(error ? { error } : {}),
      runs: withJobRuns(records.get(executionId) ?? []),
    });
  }
  listed.sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? ''));
  // Records of executions Step Functions no longer lists (it keeps them 90 days after they end).
  const unlisted = [...records].filter(([id]) => !seen.has(id)).sort(([a], [b]) => b.localeCompare(a));
  return [...listed, ...unlisted.map(([id, list]) => ({ execution_id: id, runs: withJobRuns(list) }))];
}
