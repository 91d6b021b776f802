import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import type { RunRecord } from '../../core/run-record';
import { type Progress, progressLine, RECORD_STATES, type StateOutcome } from '../pipeline-runner';

/** What a follower reports besides its lines (all optional). */
export interface FollowerHooks {
  /** The same progress as events: each state's end or failure, and each date's run record. */
  readonly events?: Progress;
  /** Reads the run record of a date once a Record… state has ended (for `events`' `date` events). */
  readonly readRecord?: (date: string) => Promise<RunRecord | undefined>;
}

/**
 * Turns the execution history into progress lines, one per state exit or failure (and, through
 * `hooks`, into progress events, each date's run record included); the child executions a
 * `states:startExecution` task starts (one per month of a backfill) are followed too, their lines
 * printed as they come.
 */
export class HistoryFollower {
  private lastId = 0;
  private ended = false;
  private children: HistoryFollower[] = [];
  private date = '';
  private readonly events = new Map<number, { previous?: number; entered?: string }>();
  private readonly enteredAt = new Map<string, number>();

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
    private readonly print: (line: string) => void,
    private readonly hooks: FollowerHooks = {},
  ) {}

  /**
   * Reads the events added since the last call and prints them, oldest first. The history is read
   * newest first and only back to the last event already seen, so a poll costs one call however
   * long the execution's history has grown. An emulator that ignores `reverseOrder` (moto 5.2.6
   * answers oldest first, in one page) has its new events found in that page all the same.
   */
  async poll(): Promise<void> {
    if (!this.ended) await this.pollOwn();
    for (const child of this.children) await child.poll();
    this.children = this.children.filter((child) => !child.ended);
  }

  private async pollOwn(): Promise<void> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn: this.executionArn,
          reverseOrder: true,
          includeExecutionData: true,
          maxResults: 1000,
          nextToken,
        }),
      );
      let reachedSeen = false;
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= this.lastId) reachedSeen = true;
        else fresh.push(event);
      }
      nextToken = reachedSeen ? undefined : page.nextToken;
    } while (nextToken);
    fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
    for (const event of fresh) await this.handle(event);
  }

  private async handle(event: HistoryEvent): Promise<void> {
    const id = event.id ?? 0;
    this.lastId = Math.max(this.lastId, id);
    const type = event.type ?? '';
    const time = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
    const entered = type.endsWith('StateEntered') ? event.stateEnteredEventDetails?.name : undefined;
    this.events.set(id, { previous: event.previousEventId, entered });
    if (entered) {
      this.enteredAt.set(entered, time);
      this.hooks.events?.({ kind: 'entered', date: this.date || undefined, state: entered });
      return;
    }
    if (type.endsWith('StateExited') && event.stateExitedEventDetails?.name) {
      const name = event.stateExitedEventDetails.name;
      const date = ingestDateOf(event.stateExitedEventDetails.output);
      if (date) this.date = date;
      this.report(name, 'ok', time, '');
      if (RECORD_STATES.has(name) && this.date && this.hooks.events && this.hooks.readRecord) {
        const record = await this.hooks.readRecord(this.date).catch(() => undefined);
        if (record) this.hooks.events({ kind: 'date', record });
      }
      return;
    }
    if (type === 'TaskSubmitted') this.followChild(event);
    if (type.startsWith('Execution')) {
      if (/^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(type)) this.ended = true;
      return;
    }
    if (/(Failed|TimedOut)$/.test(type)) {
      const details = failureDetails(event);
      const name = this.stateOf(event.previousEventId) ?? type;
      this.report(name, 'failed', time, details.error ?? type);
    }
  }

  /** A child execution a `states:startExecution` task submitted: followed from now on. */
  private followChild(event: HistoryEvent): void {
    const details = event.taskSubmittedEventDetails;
    if (details?.resourceType !== 'states' || !details.resource?.startsWith('startExecution')) return;
    try {
      const arn = (JSON.parse(details.output ?? '{}') as { ExecutionArn?: unknown }).ExecutionArn;
      if (typeof arn === 'string') this.children.push(new HistoryFollower(this.sfn, arn, this.print, this.hooks));
    } catch {
      // Not the StartExecution response: nothing to follow.
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

  /** A state's end: its line printed, its event reported. */
  private report(name: string, outcome: StateOutcome, time: number, detail: string): void {
    const started = this.enteredAt.get(name);
    const event = {
      kind: 'state',
      date: this.date || undefined,
      state: name,
      outcome,
      seconds: started === undefined ? undefined : (time - started) / 1000,
      at: time,
      detail: detail || undefined,
    } as const;
    this.hooks.events?.(event);
    this.print(progressLine(event)!);
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
