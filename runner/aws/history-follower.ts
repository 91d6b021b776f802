import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** Turns the execution history into progress lines, one per state exit or failure. */
export class HistoryFollower {
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
