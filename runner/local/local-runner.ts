import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { FsObjectStore } from './fs-object-store';
import { runRecordsPrefix } from '../../core/lake-layout';
import { type RunRequest, sanitizeId } from '../../core/run-plan';
import { byIngestDate, type RunRecord } from '../../core/run-record';
import type { PipelineRunner, RunOutcome } from '../pipeline-runner';
import { fromAthenaLiteral } from '../../core/quarter';
import { LOCAL_HANDLERS } from './handlers';
import { ExecutionAccount, type LocalExecutionEvent, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES } from './execution-quota';
import { isLocalExecutionRunning, registerExecution } from './local-executions';
import { localPath, parseS3Uri } from './lake-paths';
import { lakeTables } from './lake-tables';
import { createLocalTables, localJobRun } from './local-catalog';
import { LocalAthena } from './local-athena';
import { LocalGlue } from './local-glue';
import { type CfnTemplate, type ResolvedPipeline, resolvePipeline, synthesizeTemplates } from './template-resolver';

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
  /** One line per state. */
  readonly progress?: (line: string) => void;
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
  /** What the execution used of Step Functions' per-execution quotas, counted as AWS counts. */
  readonly quota: { readonly events: number; readonly largestPayloadBytes: number };
}

function athenaCsv(columns: string[], rows: (string | null)[][]): string {
  const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`;
  const lines = [columns.map(quote).join(',')];
  for (const row of rows) lines.push(row.map((v) => (v === null ? '' : quote(v))).join(','));
  return `${lines.join('\n')}\n`;
}

/** Binds every Task state of the definition to its local stand-in. */
export function localTaskBindings(
  pipeline: ResolvedPipeline,
  options: Pick<LocalRunOptions, 'root' | 'lake' | 'maxQuarantineRatio' | 'progress' | 'wrapTask'> & {
    readonly glue: LocalGlue;
  },
): Record<string, (input: Json) => Promise<Json>> {
  const store = new FsObjectStore(options.lake);
  const states = (pipeline.definition.States ?? {}) as Record<string, { Type: string; Resource?: string }>;
  const bindings: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [name, state] of Object.entries(states)) {
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
  options: Pick<LocalRunOptions, 'root' | 'lake' | 'maxQuarantineRatio' | 'progress'> & { readonly glue: LocalGlue },
): (input: Json) => Promise<Json> {
  const fn = pipeline.functions[resource];
  if (fn) {
    const core = LOCAL_HANDLERS[fn.handlerName];
    if (!core) throw new Error(`state ${stateName}: no local handler for ${fn.handlerName}`);
    const env: Record<string, string> = { ...fn.environment };
    if (options.maxQuarantineRatio !== undefined) env.MAX_QUARANTINE_RATIO = String(options.maxQuarantineRatio);
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
        const athena = await LocalAthena.create({
          tables: lakeTables(pipeline, options.lake),
          resolveUri: (uri) => localPath(options.lake, uri),
        });
        try {
          const result = await athena.execute(q.QueryString, (q.ExecutionParameters ?? []).map(fromAthenaLiteral));
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
        } finally {
          athena.close();
        }
      };
    case 'arn:aws:states:::sns:publish':
      return async (input) => {
        const message = input as { TopicArn: string; Subject?: string; Message: unknown };
        const dir = path.join(options.lake, '_local');
        mkdirSync(dir, { recursive: true });
        appendFileSync(
          path.join(dir, 'notifications.jsonl'),
          `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`,
        );
        options.progress?.(`notification: ${message.Subject ?? ''}`);
        return { MessageId: randomUUID() };
      };
    default:
      throw new Error(`state ${stateName}: local mode has no stand-in for ${resource}`);
  }
}

/** The pipeline on a local lake (`--target local`): the synthesized definitions on local stand-ins. */
export class LocalPipelineRunner implements PipelineRunner {
  constructor(private readonly options: Omit<LocalRunOptions, 'input' | 'progress'>) {}

  run(request: RunRequest, progress: (line: string) => void): Promise<RunOutcome> {
    return runLocal({ ...this.options, input: request, progress });
  }
}

/** Synthesizes (unless given) and resolves the app, then runs one execution on the local lake. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const templates = options.templates ?? synthesizeTemplates({ root: options.root, envName: options.envName });
  const pipeline = resolvePipeline(templates);
  const glue = options.glue ?? new LocalGlue(options.root);
  try {
    // CloudFormation creates the tables in AWS; locally they are made from the same template.
    await createLocalTables(pipeline, options.lake, glue);
    return await execute(pipeline, { ...options, glue });
  } finally {
    if (!options.glue) glue.close();
  }
}

async function execute(
  pipeline: ResolvedPipeline,
  options: LocalRunOptions & { readonly glue: LocalGlue },
): Promise<LocalRunResult> {
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

async function executeRegistered(
  pipeline: ResolvedPipeline,
  options: LocalRunOptions & { readonly glue: LocalGlue },
  executionName: string,
  executionId: string,
  executionArn: string,
): Promise<LocalRunResult> {
  const machine = new StateMachine(pipeline.definition as never, { validationOptions: { checkArn: false } });
  const taskStates = Object.entries(
    (pipeline.definition.States ?? {}) as Record<string, { Type: string; Retry?: unknown[] }>,
  );
  const retryOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) {
    for (const [name, state] of taskStates) if (state.Retry) retryOverrides[name] = options.retryIntervalMs;
  }
  const execution = machine.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: localTaskBindings(pipeline, options) as never,
      retryIntervalOverrides: retryOverrides,
    },
    context: {
      Execution: {
        Id: executionArn,
        Name: executionName,
        StartTime: new Date().toISOString(),
        Input: options.input,
      },
    } as never,
  });
  // Step Functions' per-execution quotas, kept as AWS keeps them: over one, the execution stops.
  const account = new ExecutionAccount(
    (pipeline.definition.States ?? {}) as Record<string, { Type: string; Resource?: string }>,
  );
  const progress = followProgress(execution.eventLogs, options.progress, (event) => {
    const wasExceeded = account.exceeded;
    account.record(event);
    if (!wasExceeded && account.exceeded) execution.abort();
  });
  let status: LocalRunResult['status'] = 'SUCCEEDED';
  let failure: { code: string; detail: string } | undefined;
  try {
    await execution.result;
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
  options.progress?.(
    `execution ${executionName}: ${account.events} of ${MAX_HISTORY_EVENTS} history events, largest payload ${account.largestPayloadBytes} of ${MAX_PAYLOAD_BYTES} bytes`,
  );
  const store = new FsObjectStore(options.lake);
  const records: RunRecord[] = [];
  for (const entry of await store.list('staging', runRecordsPrefix(executionId))) {
    const text = await store.getText('staging', entry.key);
    if (text) records.push(JSON.parse(text) as RunRecord);
  }
  records.sort(byIngestDate);
  return {
    executionId,
    status,
    records,
    quota: { events: account.events, largestPayloadBytes: account.largestPayloadBytes },
    ...(failure && (account.exceeded || records.every((r) => r.status !== 'FAILED')) ? { error: failure } : {}),
  };
}

/** One progress line per state, with the date being processed and the time it took. */
async function followProgress(
  events: AsyncGenerator<unknown>,
  print: ((line: string) => void) | undefined,
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
    if (!print || !event.state) continue;
    const name = event.state.name;
    if (event.type === 'StateEntered') {
      entered.set(name, event.timestamp ?? Date.now());
      continue;
    }
    const seconds = ((event.timestamp ?? Date.now()) - (entered.get(name) ?? Date.now())) / 1000;
    if (event.type === 'StateExited') {
      const current = (event.state.output as { current?: { ingest_date?: string } } | undefined)?.current;
      if (current?.ingest_date) date = current.ingest_date;
      print(`${date || '-'.padEnd(10)} ${name.padEnd(16)} ok      ${seconds.toFixed(2)}s`);
    } else if (event.type === 'StateFailed') {
      print(
        `${date || '-'.padEnd(10)} ${name.padEnd(16)} failed  ${seconds.toFixed(2)}s ${event.Error ?? event.error ?? ''}`,
      );
    } else if (event.type === 'StateRetried') {
      print(`${date || '-'.padEnd(10)} ${name.padEnd(16)} retry   ${seconds.toFixed(2)}s`);
    } else if (event.type === 'StateCaught') {
      print(`${date || '-'.padEnd(10)} ${name.padEnd(16)} caught  ${seconds.toFixed(2)}s`);
    }
  }
}
