import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { FsObjectStore } from './fs-object-store';
import { landingPrefix, runRecordKey, runRecordsPrefix } from '../../core/lake-layout';
import { dateRange, inputDates, type RunRequest, sanitizeId } from '../../core/run-plan';
import { isCalendarDate } from '../../core/calendar';
import { byIngestDate, type RunRecord } from '../../core/run-record';
import {
  type PipelineRunner,
  planOf,
  type Progress,
  progressSink,
  RECORD_STATES,
  type RunOutcome,
} from '../pipeline-runner';
import { fromAthenaLiteral } from '../../core/quarter';
import { LOCAL_HANDLERS } from './handlers';
import {
  ExecutionAccount,
  type LocalExecutionEvent,
  MAX_HISTORY_EVENTS,
  MAX_PAYLOAD_BYTES,
  statesOf,
} from './execution-quota';
import { isLocalExecutionRunning, registerExecution } from './local-executions';
import { localPath, parseS3Uri } from './lake-paths';
import { lakeTables } from './lake-tables';
import { createLocalTables, localJobRun } from './local-catalog';
import { LocalAthena, type QueryResult } from './local-athena';
import { type LandedFiles, LocalGlue, sparkJvmProfile } from './local-glue';
import {
  type CfnTemplate,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type ResolvedPipeline,
  resolvePipeline,
  synthesizeTemplates,
} from './template-resolver';

type Json = unknown;

/** Lets tests wrap a Task's local binding (fault injection, counting calls). */
export type TaskWrapper = (stateName: string, input: Json, invoke: () => Promise<Json>) => Promise<Json>;

export interface LocalRunOptions {
  /** Repository root (cdk.json, glue/, sql/). */
  readonly root: string;
  /** The lake directory: `<lake>/<layer>/…` mirrors `s3://<layer-bucket>/…`. */
  readonly lake: string;
  /** The execution input: `{date}` or `{from, to}` (anything else is refused by ResolveRun). */
  readonly input: Readonly<Record<string, string>>;
  /** Overrides the deployment's quality-gate ratio. */
  readonly maxQuarantineRatio?: number;
  /** cdk.json environment whose settings apply. @default the default environment */
  readonly envName?: string;
  /** Pre-synthesized templates (tests pass a modified app's). @default synthesized from the CDK app */
  readonly templates?: readonly CfnTemplate[];
  /** One line per state, and notes (quota figures, notifications): the text of `events`' events. */
  readonly progress?: (line: string) => void;
  /** Progress as events: each state's end, each date's run record, notes. */
  readonly events?: Progress;
  readonly wrapTask?: TaskWrapper;
  /**
   * The local Glue service the execution's job runs go to (tests share one between runs).
   * @default one for this execution, stopped at its end
   */
  readonly glue?: LocalGlue;
  /** Milliseconds between retries (tests make them instant). @default the definition's backoff */
  readonly retryIntervalMs?: number;
}

export interface LocalRunResult extends RunOutcome {
  readonly executionId: string;
  /**
   * What the executions used of Step Functions' per-execution quotas, counted as AWS counts: the
   * most events and the largest payload of any one of them, and each execution's figures.
   */
  readonly quota: {
    readonly events: number;
    readonly largestPayloadBytes: number;
    readonly executions: readonly ExecutionQuota[];
  };
}

function athenaCsv(columns: string[], rows: (string | null)[][]): string {
  const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`;
  const lines = [columns.map(quote).join(',')];
  for (const row of rows) lines.push(row.map((v) => (v === null ? '' : quote(v))).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * The local Athena of one execution, its child executions included: one DuckDB session serves its
 * queries in turn and keeps what it has read of the lake's files — Iceberg metadata files and
 * manifests (never rewritten) and Parquet footers (per file version) — instead of reading them all
 * again for every query. Each query still reads the tables as they are when it starts (LocalAthena
 * makes its views afresh from the catalog), as each Athena query does. A query that fails drops
 * the session (closed once no query of it is left): the next query starts a new one.
 */
export class ExecutionAthena {
  private current?: { readonly athena: Promise<LocalAthena>; running: number; dropped: boolean };

  constructor(
    private readonly pipeline: ResolvedPipeline,
    private readonly lake: string,
  ) {}

  async execute(sql: string, parameters: string[]): Promise<QueryResult> {
    const session = (this.current ??= {
      athena: LocalAthena.create({
        tables: lakeTables(this.pipeline, this.lake),
        resolveUri: (uri) => localPath(this.lake, uri),
      }),
      running: 0,
      dropped: false,
    });
    session.running += 1;
    try {
      return await (await session.athena).execute(sql, parameters);
    } catch (error) {
      this.drop(session);
      throw error;
    } finally {
      session.running -= 1;
      this.closeIfDone(session);
    }
  }

  /** Ends the session (once its queries have). */
  close(): void {
    if (this.current) this.drop(this.current);
  }

  private drop(session: NonNullable<ExecutionAthena['current']>): void {
    session.dropped = true;
    if (this.current === session) this.current = undefined;
    this.closeIfDone(session);
  }

  private closeIfDone(session: NonNullable<ExecutionAthena['current']>): void {
    if (!session.dropped || session.running > 0) return;
    session.athena.then(
      (athena) => athena.close(),
      () => undefined,
    );
  }
}

/** What the Tasks of an execution run on: the local Glue and Athena, shared by its child executions. */
interface LocalServices {
  readonly glue: LocalGlue;
  readonly athena: ExecutionAthena;
}

/** Binds every Task state of the definition to its local stand-in. */
export function localTaskBindings(
  pipeline: ResolvedPipeline,
  options: Pick<LocalRunOptions, 'root' | 'lake' | 'maxQuarantineRatio' | 'progress' | 'events' | 'wrapTask'> &
    LocalServices & {
      /** The states to bind (a definition's, Map iterations' included: `statesOf`). */
      readonly states: Readonly<Record<string, { Type: string; Resource?: string }>>;
      /** Runs a child execution (`states:startExecution.sync:2`) and returns its description. */
      readonly startChild: (input: Json) => Promise<Json>;
    },
): Record<string, (input: Json) => Promise<Json>> {
  const store = new FsObjectStore(options.lake);
  const bindings: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [name, state] of Object.entries(options.states)) {
    if (state.Type !== 'Task' || !state.Resource) continue;
    const invoke = bindTask(name, state.Resource, pipeline, store, options);
    bindings[name] = options.wrapTask ? (input) => options.wrapTask!(name, input, () => invoke(input)) : invoke;
  }
  return bindings;
}

function bindTask(
  stateName: string,
  resource: string,
  pipeline: ResolvedPipeline,
  store: FsObjectStore,
  options: Pick<LocalRunOptions, 'root' | 'lake' | 'maxQuarantineRatio' | 'progress' | 'events'> &
    LocalServices & {
      readonly startChild: (input: Json) => Promise<Json>;
    },
): (input: Json) => Promise<Json> {
  const fn = pipeline.functions[resource];
  if (fn) {
    const core = LOCAL_HANDLERS[fn.handlerName];
    if (!core) throw new Error(`state ${stateName}: no local handler for ${fn.handlerName}`);
    const env: Record<string, string> = { ...fn.environment };
    if (options.maxQuarantineRatio !== undefined) env.MAX_QUARANTINE_RATIO = String(options.maxQuarantineRatio);
    // The monthly status report is stamped with the wall clock: `txlake report` makes it locally.
    env.STATUS_REPORTS = 'off';
    return (input) =>
      core(input, {
        store,
        env,
        isExecutionRunning: async (executionId) => isLocalExecutionRunning(options.lake, executionId),
      });
  }
  switch (resource) {
    case 'arn:aws:states:::glue:startJobRun.sync':
      return async (input) => {
        const { JobName, Arguments } = input as { JobName: string; Arguments?: Record<string, string> };
        const job = pipeline.jobs[JobName];
        if (!job) throw new Error(`state ${stateName}: no Glue job ${JobName} in the app`);
        const { durationMs } = await options.glue.run(localJobRun(job, options.lake, Arguments));
        return { JobName, JobRunState: 'SUCCEEDED', ExecutionTime: Math.round(durationMs / 1000) };
      };
    case 'arn:aws:states:::athena:startQueryExecution.sync':
      return async (input) => {
        const q = input as { QueryString: string; ExecutionParameters?: string[]; WorkGroup?: string };
        const result = await options.athena.execute(
          q.QueryString,
          (q.ExecutionParameters ?? []).map(fromAthenaLiteral),
        );
        const id = randomUUID();
        const outputLocation = `${pipeline.athenaOutputLocation.replace(/\/?$/, '/')}${id}.csv`;
        if (result.columns.length > 0) {
          const [bucket, key] = parseS3Uri(outputLocation)!;
          await store.put(bucket, key, athenaCsv(result.columns, result.rows));
        }
        return {
          QueryExecution: {
            QueryExecutionId: id,
            Query: q.QueryString,
            WorkGroup: q.WorkGroup,
            ResultConfiguration: { OutputLocation: outputLocation },
            Status: { State: 'SUCCEEDED' },
          },
        };
      };
    case 'arn:aws:states:::states:startExecution.sync:2':
      return options.startChild;
    case 'arn:aws:states:::sns:publish':
      return async (input) => {
        const message = input as { TopicArn: string; Subject?: string; Message: unknown };
        const dir = path.join(options.lake, '_local');
        mkdirSync(dir, { recursive: true });
        appendFileSync(
          path.join(dir, 'notifications.jsonl'),
          `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`,
        );
        const note = progressSink(options.progress, options.events);
        note?.({ kind: 'note', level: 'detail', text: `notification: ${message.Subject ?? ''}` });
        return { MessageId: randomUUID() };
      };
    default:
      throw new Error(`state ${stateName}: local mode has no stand-in for ${resource}`);
  }
}

/** The pipeline on a local lake (`--target local`): the synthesized definitions on local stand-ins. */
export class LocalPipelineRunner implements PipelineRunner {
  constructor(private readonly options: Omit<LocalRunOptions, 'input' | 'progress' | 'events'>) {}

  run(request: RunRequest, progress: Progress): Promise<RunOutcome> {
    const plan = planOf(request);
    if (plan) progress(plan);
    return runLocal({ ...this.options, input: request, events: progress });
  }
}

/** Synthesizes (unless given) and resolves the app, then runs one execution on the local lake. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const templates = options.templates ?? synthesizeTemplates({ root: options.root, envName: options.envName });
  const pipeline = resolvePipeline(templates);
  const glue =
    options.glue ?? new LocalGlue(options.root, undefined, sparkJvmProfile(landedFiles(options.lake, options.input)));
  const athena = new ExecutionAthena(pipeline, options.lake);
  try {
    // What a killed run was writing when it died (never in a bucket: FsObjectStore stages writes).
    await new FsObjectStore(options.lake).sweepTemporaryFiles();
    // CloudFormation creates the tables in AWS; locally they are made from the same template.
    await createLocalTables(pipeline, options.lake, glue);
    return await execute(pipeline, { ...options, glue, athena });
  } finally {
    athena.close();
    if (!options.glue) glue.close();
  }
}

/**
 * The files landed in bronze for the dates an execution input names (`{date}`, `{from, to}`);
 * undefined when it names none (the scheduled run resolves its date itself) or not as dates.
 */
export function landedFiles(lake: string, input: Readonly<Record<string, string>>): LandedFiles | undefined {
  const span = inputDates(input, undefined, undefined);
  if (!span || !isCalendarDate(span.from) || !isCalendarDate(span.to)) return undefined;
  let dates: string[];
  try {
    dates = dateRange(span.from, span.to);
  } catch {
    return undefined; // too many dates: ResolveRun refuses the input
  }
  let bytes = 0;
  let withFiles = 0;
  for (const day of dates) {
    const dir = localPath(lake, `s3://bronze/${landingPrefix(day)}`);
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isFile());
    if (files.length > 0) withFiles += 1;
    for (const file of files) bytes += statSync(path.join(dir, file.name)).size;
  }
  return { bytes, dates: withFiles };
}

async function execute(pipeline: ResolvedPipeline, options: LocalRunOptions & LocalServices): Promise<LocalRunResult> {
  const executionName = `local-${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
  const executionId = sanitizeId(executionName);
  const executionArn = `arn:aws:states:us-east-1:000000000000:execution:txlake-local:${executionName}`;
  const ended = registerExecution(options.lake, executionArn);
  try {
    return await executeRegistered(pipeline, options, executionName, executionId, executionArn);
  } finally {
    ended();
  }
}

/** What one execution (the entry one or a child) used of Step Functions' per-execution quotas. */
export interface ExecutionQuota {
  readonly name: string;
  readonly stateMachine: string;
  readonly events: number;
  readonly largestPayloadBytes: number;
  readonly exceeded?: { readonly code: string; readonly detail: string };
}

/** How an execution ended. */
interface LocalExecutionEnd {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Json;
  readonly failure?: { readonly code: string; readonly detail: string };
  readonly quota: ExecutionQuota;
}

/** The error a `startExecution.sync` Task fails with when its child execution fails (as in AWS). */
class ChildExecutionFailed extends Error {
  override readonly name = 'States.TaskFailed';
}

/**
 * Runs one execution of a state machine of the app on the local stand-ins, counting its history
 * and payloads against Step Functions' quotas (over one, it stops, as AWS stops it). A
 * `states:startExecution.sync` Task runs its child execution the same way, awaited in-process.
 */
async function runExecution(
  pipeline: ResolvedPipeline,
  options: LocalRunOptions & LocalServices,
  machine: { readonly name: string; readonly definition: Record<string, unknown> },
  execution: { readonly name: string; readonly arn: string; readonly input: Json },
  quotas: ExecutionQuota[],
): Promise<LocalExecutionEnd> {
  const stateMachine = new StateMachine(machine.definition as never, { validationOptions: { checkArn: false } });
  const states = statesOf(machine.definition as never);
  const retryOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) {
    for (const [name, state] of Object.entries(states)) {
      if ((state as { Retry?: unknown[] }).Retry) retryOverrides[name] = options.retryIntervalMs;
    }
  }
  const startChild = async (input: Json): Promise<Json> => {
    const request = input as { StateMachineArn: string; Input?: Json; Name?: string };
    const child = pipeline.stateMachines[request.StateMachineArn];
    if (!child) throw new Error(`no state machine ${request.StateMachineArn} in the app`);
    const name = request.Name ?? randomUUID();
    const arn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${child.name}:${name}`;
    const startDate = new Date().toISOString();
    const end = await runExecution(pipeline, options, child, { name, arn, input: request.Input ?? {} }, quotas);
    const described = {
      ExecutionArn: arn,
      StateMachineArn: child.arn,
      Name: name,
      Input: request.Input ?? {},
      StartDate: startDate,
      StopDate: new Date().toISOString(),
      Status: end.status,
    };
    if (end.status !== 'SUCCEEDED') {
      throw new ChildExecutionFailed(
        JSON.stringify({ ...described, Error: end.failure?.code, Cause: end.failure?.detail }),
      );
    }
    return { ...described, Output: end.output ?? null };
  };
  const running = stateMachine.run(execution.input as never, {
    overrides: {
      taskResourceLocalHandlers: localTaskBindings(pipeline, { ...options, states, startChild }) as never,
      retryIntervalOverrides: retryOverrides,
    },
    context: {
      Execution: {
        Id: execution.arn,
        Name: execution.name,
        StartTime: new Date().toISOString(),
        Input: execution.input,
      },
      StateMachine: {
        Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${machine.name}`,
        Name: machine.name,
      },
    } as never,
  });
  // Step Functions' per-execution quotas, kept as AWS keeps them: over one, the execution stops.
  const account = new ExecutionAccount(machine.definition as never);
  const emit = progressSink(options.progress, options.events);
  const progress = followProgress(running.eventLogs, emit, options.lake, (event) => {
    const wasExceeded = account.exceeded;
    account.record(event);
    if (!wasExceeded && account.exceeded) running.abort();
  });
  let status: LocalExecutionEnd['status'] = 'SUCCEEDED';
  let output: Json;
  let failure: { code: string; detail: string } | undefined;
  try {
    output = await running.result;
  } catch (error) {
    status = 'FAILED';
    const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
    failure = { code: e.cause?.name ?? e.name ?? 'EXECUTION_FAILED', detail: e.cause?.message ?? e.message ?? '' };
  }
  await progress;
  if (account.exceeded) {
    status = 'FAILED';
    failure = account.exceeded;
  }
  const quota: ExecutionQuota = {
    name: execution.name,
    stateMachine: machine.name,
    events: account.events,
    largestPayloadBytes: account.largestPayloadBytes,
    ...(account.exceeded ? { exceeded: account.exceeded } : {}),
  };
  quotas.push(quota);
  emit?.({
    kind: 'note',
    level: 'detail',
    text: `execution ${execution.name} (${machine.name}): ${account.events} of ${MAX_HISTORY_EVENTS} history events, largest payload ${account.largestPayloadBytes} of ${MAX_PAYLOAD_BYTES} bytes`,
  });
  return { status, output, failure, quota };
}

async function executeRegistered(
  pipeline: ResolvedPipeline,
  options: LocalRunOptions & LocalServices,
  executionName: string,
  executionId: string,
  executionArn: string,
): Promise<LocalRunResult> {
  const entry = Object.values(pipeline.stateMachines).find((m) => m.definition === pipeline.definition);
  const quotas: ExecutionQuota[] = [];
  const end = await runExecution(
    pipeline,
    options,
    { name: entry?.name ?? 'txlake-local', definition: pipeline.definition },
    { name: executionName, arn: executionArn, input: options.input },
    quotas,
  );
  let failure = end.failure;
  // An execution stopped by a quota: that is the run's error, whichever execution it was.
  const exceeded = quotas.find((q) => q.exceeded)?.exceeded;
  if (exceeded) failure = exceeded;
  const store = new FsObjectStore(options.lake);
  const records: RunRecord[] = [];
  for (const entry of await store.list('staging', runRecordsPrefix(executionId))) {
    const text = await store.getText('staging', entry.key);
    if (text) records.push(JSON.parse(text) as RunRecord);
  }
  records.sort(byIngestDate);
  return {
    executionId,
    status: end.status,
    records,
    quota: {
      events: Math.max(...quotas.map((q) => q.events)),
      largestPayloadBytes: Math.max(...quotas.map((q) => q.largestPayloadBytes)),
      executions: quotas,
    },
    ...(failure && (exceeded || records.every((r) => r.status !== 'FAILED')) ? { error: failure } : {}),
  };
}

/**
 * Reports each state's end, with the date being processed and the time it took, and each date's
 * run record once a Record… state has written it (read from the lake, as the CLI reads it).
 */
async function followProgress(
  events: AsyncGenerator<unknown>,
  emit: Progress | undefined,
  lake: string,
  onEvent: (event: LocalExecutionEvent) => void,
): Promise<void> {
  const entered = new Map<string, number>();
  let date = '';
  for await (const raw of events) {
    onEvent(raw as LocalExecutionEvent);
    const event = raw as {
      type: string;
      timestamp?: number;
      state?: { name: string; output?: unknown };
      Error?: string;
      error?: string;
    };
    if (!emit || !event.state) continue;
    const name = event.state.name;
    if (event.type === 'StateEntered') {
      entered.set(name, event.timestamp ?? Date.now());
      emit({ kind: 'entered', date: date || undefined, state: name });
      continue;
    }
    const at = event.timestamp ?? Date.now();
    const seconds = (at - (entered.get(name) ?? Date.now())) / 1000;
    if (event.type === 'StateExited') {
      const output = event.state.output as { execution_id?: unknown; current?: { ingest_date?: string } } | undefined;
      if (output?.current?.ingest_date) date = output.current.ingest_date;
      emit({ kind: 'state', date: date || undefined, state: name, outcome: 'ok', seconds, at });
      if (RECORD_STATES.has(name) && date && typeof output?.execution_id === 'string') {
        const record = recordedRun(lake, output.execution_id, date);
        if (record) emit({ kind: 'date', record });
      }
    } else if (event.type === 'StateFailed') {
      const detail = event.Error ?? event.error ?? '';
      emit({ kind: 'state', date: date || undefined, state: name, outcome: 'failed', seconds, at, detail });
    } else if (event.type === 'StateRetried') {
      emit({ kind: 'state', date: date || undefined, state: name, outcome: 'retry', seconds, at });
    } else if (event.type === 'StateCaught') {
      emit({ kind: 'state', date: date || undefined, state: name, outcome: 'caught', seconds, at });
    }
  }
}

/** The run record a Record… state wrote for a date (read at once: the state has ended). */
function recordedRun(lake: string, executionId: string, date: string): RunRecord | undefined {
  try {
    return JSON.parse(
      readFileSync(localPath(lake, `s3://staging/${runRecordKey(executionId, date)}`), 'utf8'),
    ) as RunRecord;
  } catch {
    return undefined;
  }
}
