import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { RunRecord } from '../../lambdas/record-run/core';
import { addDays, dateInZone, dateRange, sanitizeId } from '../../lambdas/resolve-run/core';
import { runRecordsPrefix } from '../../core/lake-layout';

/** CloudFormation output keys of the `Txlake-<env>-Pipeline` stack that the aws target reads. */
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';
export const STAGING_BUCKET_OUTPUT = 'StagingBucketName';

export interface AwsClients {
  readonly sfn?: SFNClient;
  readonly s3?: S3Client;
  readonly cloudFormation?: CloudFormationClient;
}

export interface AwsRunOptions {
  /** The execution input: `{date}` or `{from, to}`. */
  readonly input: Record<string, string>;
  /** Environment of cdk.json; default `txlake:defaultEnvironment`. */
  readonly envName?: string;
  /** Repository root (holds cdk.json). */
  readonly root: string;
  readonly progress: (line: string) => void;
  /** SDK clients to use (tests); default clients in the environment's region. */
  readonly clients?: AwsClients;
  /** Wait between two polls of the execution. @default 5000 */
  readonly pollIntervalMs?: number;
  /** Clock for the execution name (tests). */
  readonly now?: () => Date;
}

interface DeployedEnvironment {
  readonly envName: string;
  readonly region?: string;
  readonly scheduleTimeZone?: string;
}

/** The environment the CLI targets, from cdk.json's context. */
export function readEnvironment(root: string, envName?: string): DeployedEnvironment {
  let context: Record<string, unknown>;
  try {
    const cdkJson = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as {
      context?: Record<string, unknown>;
    };
    context = cdkJson.context ?? {};
  } catch (error) {
    throw new Error(`cannot read ${path.join(root, 'cdk.json')}: ${(error as Error).message}`);
  }
  const name = envName ?? (context['txlake:defaultEnvironment'] as string | undefined);
  const all = (context['txlake:environments'] ?? {}) as Record<
    string,
    { region?: unknown; scheduleTimeZone?: unknown }
  >;
  if (!name) throw new Error('no environment: pass --env NAME or set txlake:defaultEnvironment in cdk.json');
  if (!Object.prototype.hasOwnProperty.call(all, name)) {
    throw new Error(`unknown environment "${name}": cdk.json defines ${Object.keys(all).join(', ')}`);
  }
  const settings = all[name] ?? {};
  return {
    envName: name,
    region: typeof settings.region === 'string' ? settings.region : undefined,
    scheduleTimeZone: typeof settings.scheduleTimeZone === 'string' ? settings.scheduleTimeZone : undefined,
  };
}

/** The deployed state machine and staging bucket, from the pipeline stack's outputs. */
export async function findDeployment(
  cloudFormation: CloudFormationClient,
  envName: string,
): Promise<{ stateMachineArn: string; stagingBucket: string }> {
  const stackName = `Txlake-${envName}-Pipeline`;
  const deployFirst = `run "npx cdk deploy -c env=${envName} --all" first`;
  let outputs: Record<string, string>;
  try {
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = result.Stacks?.[0];
    if (!stack) throw new Error(`stack ${stackName} is not deployed: ${deployFirst}`);
    if (/_IN_PROGRESS$/.test(stack.StackStatus ?? '') && !stack.Outputs?.length) {
      throw new Error(`stack ${stackName} is ${stack.StackStatus}: wait for it, or ${deployFirst}`);
    }
    outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ValidationError' && /does not exist/i.test(e.message)) {
      throw new Error(`stack ${stackName} is not deployed: ${deployFirst}`);
    }
    if (e.message.startsWith(`stack ${stackName}`)) throw e;
    throw new Error(`cannot read stack ${stackName}: ${oneLine(e.message)}`);
  }
  const missing = [STATE_MACHINE_OUTPUT, STAGING_BUCKET_OUTPUT].filter((k) => !outputs[k]);
  if (missing.length > 0) {
    throw new Error(`stack ${stackName} has no output ${missing.join(', ')}: ${deployFirst}`);
  }
  return { stateMachineArn: outputs[STATE_MACHINE_OUTPUT], stagingBucket: outputs[STAGING_BUCKET_OUTPUT] };
}

/** A date interval, both ends inclusive (YYYY-MM-DD compares as text). */
interface DateSpan {
  readonly from: string;
  readonly to: string;
}

/**
 * The dates an execution input names: `{date}`, `{from, to}`, or, for a schedule tick (or an empty
 * start), the day before the tick in the schedule's zone. Undefined when it cannot be told.
 */
export function inputDates(
  input: unknown,
  startDate: Date | undefined,
  timeZone: string | undefined,
): DateSpan | undefined {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const value = input as Record<string, unknown>;
  if (typeof value.date === 'string') return { from: value.date, to: value.date };
  if (typeof value.from === 'string' && typeof value.to === 'string') return { from: value.from, to: value.to };
  if (!timeZone) return undefined;
  const tick = typeof value.scheduled_time === 'string' ? new Date(value.scheduled_time) : startDate;
  if (!tick || Number.isNaN(tick.getTime())) return undefined;
  try {
    const day = addDays(dateInZone(tick, timeZone), -1);
    return { from: day, to: day };
  } catch {
    return undefined;
  }
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

/** `cli-<dates>-<yyyymmddHHMMSS>`: readable, unique per second, within Step Functions' 80 characters. */
export function executionName(requested: DateSpan, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dates = requested.from === requested.to ? requested.from : `${requested.from}_${requested.to}`;
  return sanitizeId(`cli-${dates}-${stamp}`);
}

const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** Turns the execution history into progress lines, one per state exit or failure. */
class HistoryFollower {
  private lastId = 0;
  private date = '';
  private readonly events = new Map<number, { previous?: number; entered?: string }>();
  private readonly enteredAt = new Map<string, number>();

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
    private readonly print: (line: string) => void,
  ) {}

  /**
   * Reads the events added since the last call and prints them, oldest first. The history is read
   * newest first and only back to the last event already seen, so a poll costs one call however
   * long the execution's history has grown.
   */
  async poll(): Promise<void> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    pages: do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn: this.executionArn,
          reverseOrder: true,
          includeExecutionData: true,
          maxResults: 1000,
          nextToken,
        }),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= this.lastId) break pages;
        fresh.push(event);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
    for (const event of fresh) this.handle(event);
  }

  private handle(event: HistoryEvent): void {
    const id = event.id ?? 0;
    this.lastId = Math.max(this.lastId, id);
    const type = event.type ?? '';
    const time = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
    const entered = type.endsWith('StateEntered') ? event.stateEnteredEventDetails?.name : undefined;
    this.events.set(id, { previous: event.previousEventId, entered });
    if (entered) {
      this.enteredAt.set(entered, time);
      return;
    }
    if (type.endsWith('StateExited') && event.stateExitedEventDetails?.name) {
      const name = event.stateExitedEventDetails.name;
      const date = ingestDateOf(event.stateExitedEventDetails.output);
      if (date) this.date = date;
      this.print(this.line(name, 'ok', time, ''));
      return;
    }
    if (type.startsWith('Execution')) return;
    if (/(Failed|TimedOut)$/.test(type)) {
      const details = failureDetails(event);
      const name = this.stateOf(event.previousEventId) ?? type;
      this.print(this.line(name, 'failed', time, details.error ?? type));
    }
  }

  /** The state an event belongs to: the nearest StateEntered event up its chain. */
  private stateOf(previous: number | undefined): string | undefined {
    for (let id = previous, hops = 0; id !== undefined && hops < 10000; hops++) {
      const seen = this.events.get(id);
      if (!seen) return undefined;
      if (seen.entered) return seen.entered;
      id = seen.previous;
    }
    return undefined;
  }

  private line(name: string, outcome: string, time: number, detail: string): string {
    const started = this.enteredAt.get(name);
    const seconds = started === undefined ? '' : ` ${((time - started) / 1000).toFixed(2)}s`;
    return `${(this.date || '-').padEnd(10)} ${name.padEnd(16)} ${outcome.padEnd(7)}${seconds}${detail ? ` ${detail}` : ''}`;
  }
}

function ingestDateOf(output: string | undefined): string | undefined {
  if (!output || !output.includes('ingest_date')) return undefined;
  try {
    const value = JSON.parse(output) as { current?: { ingest_date?: unknown } };
    return typeof value.current?.ingest_date === 'string' ? value.current.ingest_date : undefined;
  } catch {
    return undefined;
  }
}

function failureDetails(event: HistoryEvent): { error?: string; cause?: string } {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object' && 'error' in value) {
      const details = value as { error?: string; cause?: string };
      return { error: details.error, cause: details.cause };
    }
  }
  return {};
}

const runRecordSchema = z
  .object({
    ingest_date: z.string(),
    run_id: z.string(),
    status: z.enum(['SUCCEEDED', 'NO_DATA', 'FAILED']),
    error: z.string().optional(),
    error_detail: z.string().optional(),
    files: z.object({ accepted: z.number(), rejected: z.number() }).passthrough(),
    rows: z
      .object({ read: z.number(), silver: z.number(), quarantined: z.number(), condemned: z.number() })
      .passthrough(),
    reasons: z.record(z.string(), z.number()),
  })
  .passthrough();

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
  for (const key of keys) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await object.Body?.transformToString('utf8')) ?? '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`s3://${bucket}/${key} is not JSON`);
    }
    const result = runRecordSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new Error(
        `s3://${bucket}/${key} is not a run record: ${issue.path.join('.') || 'record'} ${issue.message}`,
      );
    }
    records.push(result.data as unknown as RunRecord);
  }
  return records.sort((a, b) => (a.ingest_date < b.ingest_date ? -1 : a.ingest_date > b.ingest_date ? 1 : 0));
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the deployed state machine and follows it to the end (SPEC §5, `--target aws`). */
export async function runOnAws(options: AwsRunOptions): Promise<RunRecord[]> {
  const env = readEnvironment(options.root, options.envName);
  const config = env.region ? { region: env.region } : {};
  const sfn = options.clients?.sfn ?? new SFNClient(config);
  const s3 = options.clients?.s3 ?? new S3Client(config);
  const cloudFormation = options.clients?.cloudFormation ?? new CloudFormationClient(config);
  const pollMs = options.pollIntervalMs ?? 5000;

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
  options.progress(
    `started execution ${name} of ${stateMachineArn.split(':').pop() ?? stateMachineArn} (${env.envName})`,
  );

  const follower = new HistoryFollower(sfn, executionArn, options.progress);
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
  options.progress(`execution ${name} ${status}${failure ? ` ${failure}` : ''}`);

  const executionId = sanitizeId(name);
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
    run_id: `${stoppedIn}_${executionId}`,
    status: 'FAILED',
    error: /^[A-Z][A-Z0-9_]*$/.test(execution.error ?? '') ? (execution.error as string) : `EXECUTION_${status}`,
    error_detail: failure || `execution ${name} ended ${status}`,
    files: { accepted: 0, rejected: 0 },
    rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
    reasons: {},
  };
  return [...records, unfinished].sort((a, b) => (a.ingest_date < b.ingest_date ? -1 : 1));
}
