import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { runRecordKey, runRecordsPrefix } from '../../core/lake-layout';
import {
  type DateSpan,
  dateRange,
  executionName,
  inputDates,
  type RunRequest,
  runIdFor,
  sanitizeId,
} from '../../core/run-plan';
import { byIngestDate, isErrorCode, type RunRecord, parseRunRecord, ZERO_COUNTS } from '../../core/run-record';
import { type PipelineRunner, type Progress, progressSink, type RunOutcome } from '../pipeline-runner';
import { awsClientConfig, awsPollIntervalMs } from './client-config';
import { findDeployment, oneLine, readEnvironment } from './deployment';
import { HistoryFollower } from './history-follower';

export interface AwsClients {
  readonly sfn?: SFNClient;
  readonly s3?: S3Client;
  readonly cloudFormation?: CloudFormationClient;
}

export interface AwsRunOptions {
  /** The execution input: `{date}` or `{from, to}`. */
  readonly input: RunRequest;
  /** Environment of cdk.json; default `txlake:defaultEnvironment`. */
  readonly envName?: string;
  /** Repository root (holds cdk.json). */
  readonly root: string;
  /** One line per state, and notes (the execution started, ended): the text of `events`' events. */
  readonly progress: (line: string) => void;
  /** Progress as events: the plan, each state's end, each date's run record (read from S3), notes. */
  readonly events?: Progress;
  /** SDK clients to use (tests); default clients in the environment's region. */
  readonly clients?: AwsClients;
  /** Environment variables of the clients' configuration (client-config.ts). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wait between two polls of the execution. @default `TXLAKE_AWS_POLL_MS` of `env`, else 5000 */
  readonly pollIntervalMs?: number;
  /** Clock for the execution name (tests). */
  readonly now?: () => Date;
}

/** Refuses to start while a running execution processes one of the requested dates. */
async function refuseOverlap(
  sfn: SFNClient,
  stateMachineArn: string,
  requested: DateSpan,
  timeZone: string | undefined,
): Promise<void> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
    );
    for (const item of page.executions ?? []) {
      if (!item.executionArn) continue;
      const running = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
      if (running.status && running.status !== 'RUNNING') continue;
      let input: unknown;
      try {
        input = JSON.parse(running.input ?? '{}');
      } catch {
        continue;
      }
      const span = inputDates(input, running.startDate ?? item.startDate, timeZone);
      if (!span || span.from > requested.to || span.to < requested.from) continue;
      const from = span.from > requested.from ? span.from : requested.from;
      const to = span.to < requested.to ? span.to : requested.to;
      const name = running.name ?? item.name ?? item.executionArn;
      throw new Error(
        `another execution (${name}) is already processing ${from === to ? from : `${from}..${to}`}; wait for it to end or stop it before starting this run`,
      );
    }
    nextToken = page.nextToken;
  } while (nextToken);
}

const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** Every run record the execution wrote, by ingest date. */
export async function readRunRecords(s3: S3Client, bucket: string, executionId: string): Promise<RunRecord[]> {
  const prefix = runRecordsPrefix(executionId);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith('.json')) keys.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const records: RunRecord[] = [];
  for (const key of keys) records.push(await readRunRecord(s3, bucket, key));
  return records.sort(byIngestDate);
}

/** One run record object, checked against the schema. */
async function readRunRecord(s3: S3Client, bucket: string, key: string): Promise<RunRecord> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return parseRunRecord((await object.Body?.transformToString('utf8')) ?? '', `s3://${bucket}/${key}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the deployed state machine and follows it to the end (SPEC §5, `--target aws`). */
export async function runOnAws(options: AwsRunOptions): Promise<RunRecord[]> {
  const env = readEnvironment(options.root, options.envName);
  const variables = options.env ?? process.env;
  const config = awsClientConfig(variables, env.region);
  const sfn = options.clients?.sfn ?? new SFNClient(config);
  const s3 = options.clients?.s3 ?? new S3Client(config);
  const cloudFormation = options.clients?.cloudFormation ?? new CloudFormationClient(config);
  const pollMs = options.pollIntervalMs ?? awsPollIntervalMs(variables) ?? 5000;

  const requested = inputDates(options.input, undefined, undefined);
  if (!requested)
    throw new Error(`the aws target runs {"date": D} or {"from": D1, "to": D2}, not ${JSON.stringify(options.input)}`);
  const dates = dateRange(requested.from, requested.to);

  const { stateMachineArn, stagingBucket } = await findDeployment(cloudFormation, env.envName);
  await refuseOverlap(sfn, stateMachineArn, requested, env.scheduleTimeZone);

  const name = executionName(requested, (options.now ?? (() => new Date()))());
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(options.input) }),
  );
  const executionArn = started.executionArn;
  if (!executionArn) throw new Error(`Step Functions did not start ${name}`);
  const emit = progressSink(options.progress, options.events)!;
  emit({
    kind: 'note',
    level: 'info',
    text: `started execution ${name} of ${stateMachineArn.split(':').pop() ?? stateMachineArn} (${env.envName})`,
  });
  options.events?.({ kind: 'plan', total: dates.length, from: requested.from, to: requested.to });

  const executionId = sanitizeId(name);
  const follower = new HistoryFollower(sfn, executionArn, options.progress, {
    events: options.events,
    readRecord: options.events
      ? (date) => readRunRecord(s3, stagingBucket, runRecordKey(executionId, date))
      : undefined,
  });
  let execution: DescribeExecutionCommandOutput;
  for (;;) {
    execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    await follower.poll();
    if (FINAL_STATUSES.has(execution.status ?? '')) break;
    await sleep(pollMs);
  }
  const status = execution.status ?? 'UNKNOWN';
  const failure = [execution.error, execution.cause]
    .filter(Boolean)
    .map((t) => oneLine(t as string))
    .join(': ');
  emit({ kind: 'note', level: 'detail', text: `execution ${name} ${status}${failure ? ` ${failure}` : ''}` });

  const records = await readRunRecords(s3, stagingBucket, executionId);
  if (status === 'SUCCEEDED') return records;
  if (records.length === 0) {
    throw new Error(`execution ${name} ${status}${failure ? `: ${failure}` : ''}`);
  }
  if (records.some((r) => r.status === 'FAILED')) return records;
  // The execution stopped (timed out, aborted) without recording a failed date: the first date
  // without a record is the one it stopped in, so report it as failed rather than exit 0.
  const stoppedIn = dates.find((d) => !records.some((r) => r.ingest_date === d));
  if (!stoppedIn) return records;
  const unfinished: RunRecord = {
    ingest_date: stoppedIn,
    run_id: runIdFor(stoppedIn, executionId),
    status: 'FAILED',
    error: isErrorCode(execution.error ?? '') ? (execution.error as string) : `EXECUTION_${status}`,
    error_detail: failure || `execution ${name} ended ${status}`,
    ...ZERO_COUNTS,
  };
  return [...records, unfinished].sort(byIngestDate);
}

/** The deployed pipeline of an environment (`--target aws`). */
export class AwsPipelineRunner implements PipelineRunner {
  constructor(private readonly options: Omit<AwsRunOptions, 'input' | 'progress' | 'events'>) {}

  async run(request: RunRequest, progress: Progress): Promise<RunOutcome> {
    const records = await runOnAws({ ...this.options, input: request, progress: () => undefined, events: progress });
    return { status: records.some((r) => r.status === 'FAILED') ? 'FAILED' : 'SUCCEEDED', records };
  }
}
