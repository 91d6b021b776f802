import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TaskWrapper } from '../../runner/local/local-runner';
import { tempDir } from './lake';
import { duck, filesUnder, PUBLISHED_LAYERS } from './lake-state';

/** An error as the state machine sees it: its `name` is the state's `Error`. */
export function taskError(name: string, message = `injected ${name}`): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Faults for one Task state: its first `times` invocations throw `error` (before the task runs). */
export interface TaskFault {
  readonly error: string;
  readonly times: number;
  /** Runs just before a fault is thrown (e.g. to look at the lake at that moment). */
  readonly onFault?: (attempt: number) => void;
}

export interface Invocation {
  readonly state: string;
  readonly input: unknown;
  readonly failed: boolean;
}

/**
 * A `wrapTask` that injects the planned faults and records every Task invocation (faulted or not),
 * so a test can count the attempts the state machine made of each state.
 */
export class FaultPlan {
  readonly invocations: Invocation[] = [];
  private readonly seen = new Map<string, number>();

  /** `around` wraps the invocations that are not faulted (e.g. {@link GlueReplay.wrap}). */
  constructor(
    private readonly faults: Readonly<Record<string, TaskFault>> = {},
    private readonly around?: TaskWrapper,
  ) {}

  readonly wrap: TaskWrapper = async (state, input, invoke) => {
    const attempt = (this.seen.get(state) ?? 0) + 1;
    this.seen.set(state, attempt);
    const fault = this.faults[state];
    if (fault && attempt <= fault.times) {
      this.invocations.push({ state, input, failed: true });
      fault.onFault?.(attempt);
      throw taskError(fault.error, `injected fault ${attempt}/${fault.times} in ${state}`);
    }
    this.invocations.push({ state, input, failed: false });
    return this.around ? this.around(state, input, invoke) : invoke();
  };

  /** How many times the state machine invoked `state`'s task. */
  calls(state: string): number {
    return this.invocations.filter((i) => i.state === state).length;
  }

  /** Invocations (other than ResolveRun, which gets the whole date range) that concern `date`. */
  touching(date: string): Invocation[] {
    return this.invocations.filter((i) => i.state !== 'ResolveRun' && JSON.stringify(i.input).includes(date));
  }
}

/** The lines of `<lake>/_local/notifications.jsonl` (local SNS), parsed. */
export function notifications(lake: string): { Subject?: string; Message?: unknown }[] {
  const file = path.join(lake, '_local', 'notifications.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { Subject?: string; Message?: unknown });
}

/**
 * The published layers' contents with run ids taken out: two runs that published the same data
 * under different run ids compare equal. Parquet is compared by its rows (all columns but run_id,
 * per partition directory), other files by their text with the run ids replaced.
 */
export async function contentState(
  lake: string,
  runIds: readonly string[],
  layers: readonly string[] = PUBLISHED_LAYERS,
): Promise<Record<string, unknown>> {
  const neutral = (text: string): string => runIds.reduce((t, id) => t.split(id).join('<run>'), text);
  const state: Record<string, unknown> = {};
  const parquetDirs = new Set<string>();
  for (const layer of layers) {
    for (const file of filesUnder(path.join(lake, layer))) {
      if (file.endsWith('.parquet')) parquetDirs.add(path.dirname(file));
      else state[neutral(path.relative(lake, file))] = neutral(readFileSync(file, 'utf8'));
    }
  }
  for (const dir of [...parquetDirs].sort()) {
    const rows = await duck(
      `SELECT * FROM read_parquet('${path.join(dir, '*.parquet')}', hive_partitioning = false) ORDER BY ALL`,
    );
    state[`${path.relative(lake, dir)}/*.parquet`] = rows
      .map((row) => {
        const copy: Record<string, unknown> = { ...row };
        delete copy.run_id;
        return JSON.stringify(copy);
      })
      .sort();
  }
  return state;
}

/** The Glue job's outputs in a run's staging area (landing.json is the landing check's, not the job's). */
const JOB_OUTPUTS = ['silver', 'quarantine', 'condemned', 'counts'];

/**
 * Runs the Glue job (TransformRows) for real on Spark the first time it sees a given key, keeps
 * the job's staged outputs, and for later runs with the same key copies those Spark-written files
 * into the new run's staging area instead of starting Spark again. Only valid when the job's
 * inputs are the same each time (same landed files, same published layers): the outputs are then
 * the same rows, except that their `run_id` column holds the first run's id.
 * Set FAULT_MATRIX_REAL_GLUE=1 to run Spark every time.
 */
export class GlueReplay {
  /** Glue job runs that really ran Spark. */
  sparkRuns = 0;
  replays = 0;
  private readonly cache = new Map<string, string>();

  /**
   * A wrapper for {@link FaultPlan} on `lake`: TransformRows runs Spark the first time `key` is
   * seen and is replayed from then on. Give two runs the same key only when the job would read the
   * same inputs (landed files and published layers), even on different lakes.
   */
  around(lake: string, key: string): TaskWrapper {
    return async (state, input, invoke) => {
      if (state !== 'TransformRows') return invoke();
      const runId = (input as { Arguments?: Record<string, string> }).Arguments?.['--run_id'];
      if (!runId) throw new Error('TransformRows without --run_id');
      const cached = this.cache.get(key);
      if (cached && !process.env.FAULT_MATRIX_REAL_GLUE) {
        const target = stagedRun(lake, runId);
        for (const dir of JOB_OUTPUTS) cpSync(path.join(cached, dir), path.join(target, dir), { recursive: true });
        this.replays += 1;
        return { JobName: (input as { JobName?: string }).JobName, JobRunState: 'SUCCEEDED', ExecutionTime: 0 };
      }
      const output = await invoke();
      this.sparkRuns += 1;
      if (!cached) {
        const keep = tempDir('txlake-glue-');
        const staged = stagedRun(lake, runId);
        for (const dir of JOB_OUTPUTS) cpSync(path.join(staged, dir), path.join(keep, dir), { recursive: true });
        this.cache.set(key, keep);
      }
      return output;
    };
  }
}

/** `<lake>/<staging bucket>/runs/<runId>`: the bucket is the one holding the run's landing.json. */
function stagedRun(lake: string, runId: string): string {
  for (const bucket of readdirSync(lake)) {
    const dir = path.join(lake, bucket, 'runs', runId);
    if (existsSync(path.join(dir, 'landing.json'))) return dir;
  }
  throw new Error(`no staging area for run ${runId} in ${lake}`);
}
