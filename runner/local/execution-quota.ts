/**
 * Step Functions' hard quotas per execution, kept by the local runner so that a local run fails
 * where AWS would: at most 25,000 events in an execution's history, and at most 256 KB of JSON in
 * an execution's input and in each state's input, output or task result (Standard workflows).
 */
export const MAX_HISTORY_EVENTS = 25_000;
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The error a run that AWS would have stopped fails with (AWS's own name for the payload case). */
export const HISTORY_LIMIT_EXCEEDED = 'HISTORY_LIMIT_EXCEEDED';
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

interface StateDefinition {
  readonly Type: string;
  readonly Resource?: string;
  readonly ItemProcessor?: { readonly States?: Record<string, StateDefinition> };
  readonly Iterator?: { readonly States?: Record<string, StateDefinition> };
  readonly Branches?: readonly { readonly States?: Record<string, StateDefinition> }[];
}

/** Every state of a definition by name, the states of Map iterations and Parallel branches included. */
export function statesOf(definition: {
  readonly States?: Readonly<Record<string, StateDefinition>>;
}): Record<string, StateDefinition> {
  const all: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    all[name] = state;
    for (const nested of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (nested) Object.assign(all, statesOf(nested));
    }
  }
  return all;
}

/**
 * History events one attempt of a Task adds between its `TaskStateEntered` and `TaskStateExited`,
 * as the execution history records them: Lambda `…Scheduled`, `…Started`, then one outcome; a
 * `.sync` integration also `TaskSubmitted`; other integrations `TaskScheduled`, `TaskStarted`
 * and the outcome.
 */
function attemptEvents(state: StateDefinition | undefined): number {
  if (state?.Type !== 'Task') return 0;
  return /\.sync(:2)?$/.test(state.Resource ?? '') ? 4 : 3;
}

/** One event of `aws-local-stepfunctions`' event log (the fields the account reads). */
export interface LocalExecutionEvent {
  readonly type: string;
  readonly state?: { readonly name: string; readonly input?: unknown; readonly output?: unknown };
  readonly input?: unknown;
}

/** The account of one execution: its history events and its largest payload, per AWS's model. */
export class ExecutionAccount {
  events = 0;
  largestPayloadBytes = 0;
  /** Why the execution is over a quota, once it is. */
  exceeded?: { readonly code: string; readonly detail: string };

  private readonly states: Readonly<Record<string, StateDefinition>>;

  /** `definition`: the execution's state machine definition (ASL). */
  constructor(definition: { readonly States?: Readonly<Record<string, StateDefinition>> }) {
    this.states = statesOf(definition);
  }

  record(event: LocalExecutionEvent): void {
    const state = event.state ? this.states[event.state.name] : undefined;
    switch (event.type) {
      case 'ExecutionStarted':
        this.payload('the execution input', event.input);
        this.events += 1;
        break;
      case 'StateEntered':
        this.payload(`the input of ${event.state?.name}`, event.state?.input);
        // A Map's MapStateStarted follows its MapStateEntered.
        this.events += 1 + attemptEvents(state) + (state?.Type === 'Map' ? 1 : 0);
        break;
      case 'StateRetried':
        // The failed attempt was counted; the next one adds its own events.
        this.events += attemptEvents(state);
        break;
      case 'StateExited':
        this.payload(`the output of ${event.state?.name}`, event.state?.output);
        // A Map's MapStateSucceeded precedes its MapStateExited.
        this.events += 1 + (state?.Type === 'Map' ? 1 : 0);
        break;
      case 'StateFailed':
        // A Task's failure is counted with its attempt; a Map's is MapStateFailed.
        if (state?.Type === 'Map') this.events += 1;
        break;
      case 'StateCaught':
        this.events += 1;
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
      case 'ParallelBranchStarted':
      case 'ParallelBranchSucceeded':
      case 'ParallelBranchFailed':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionAborted':
      case 'ExecutionTimeout':
        this.events += 1;
        break;
      default:
        break;
    }
    if (!this.exceeded && this.events > MAX_HISTORY_EVENTS) {
      this.exceeded = {
        code: HISTORY_LIMIT_EXCEEDED,
        detail: `the execution's history passed ${MAX_HISTORY_EVENTS} events, Step Functions' hard quota per execution`,
      };
    }
  }

  private payload(what: string, value: unknown): void {
    if (value === undefined) return;
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    this.largestPayloadBytes = Math.max(this.largestPayloadBytes, bytes);
    if (!this.exceeded && bytes > MAX_PAYLOAD_BYTES) {
      this.exceeded = {
        code: DATA_LIMIT_EXCEEDED,
        detail: `${what} is ${bytes} bytes, over Step Functions' ${MAX_PAYLOAD_BYTES}-byte payload quota`,
      };
    }
  }
}
