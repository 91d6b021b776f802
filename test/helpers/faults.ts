import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TaskWrapper } from '../../runner/local/local-runner';
import { filesUnder } from './lake-state';
import { tablesContent } from './lake-tables';

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

  /**
   * Invocations that concern `date`, other than those given a whole range or batch of dates
   * (ResolveRun, ProcessDates and ResolveBatch).
   */
  touching(date: string): Invocation[] {
    const planning = new Set(['ResolveRun', 'ProcessDates', 'ResolveBatch']);
    return this.invocations.filter((i) => !planning.has(i.state) && JSON.stringify(i.input).includes(date));
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
 * The lake's published state with run ids taken out, so two runs that published the same data under
 * different run ids compare equal: every table's rows (./lake-tables) and the text of the published
 * files that are not tables (rejected files and their reasons, the quarter's report).
 */
export async function contentState(lake: string, runIds: readonly string[]): Promise<Record<string, unknown>> {
  const neutral = (text: string): string => runIds.reduce((t, id) => t.split(id).join('<run>'), text);
  const state: Record<string, unknown> = { ...(await tablesContent(lake)) };
  for (const folder of ['quarantine/files', 'quarantine/file_rejections', 'gold/reports']) {
    for (const file of filesUnder(path.join(lake, folder))) {
      state[neutral(path.relative(lake, file))] = neutral(readFileSync(file, 'utf8'));
    }
  }
  return state;
}
