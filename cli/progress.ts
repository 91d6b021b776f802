import type { SingleBar } from 'cli-progress';
import type { RunRecord } from '../core/run-record';
import { type Progress, type ProgressEvent, progressLine } from '../runner/pipeline-runner';

/** The stream stderr is (process.stderr): a terminal gets the live line. */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

export interface ProgressOptions {
  /** Writes plain progress text (stderr). */
  readonly write: (text: string) => void;
  /** The stream behind `write`, when the CLI runs in a process (not in tests): a TTY gets the live line. */
  readonly stream?: ProgressStream;
  /** `--json`: plain lines, whatever stderr is. */
  readonly json?: boolean;
  /** `--verbose`: one line per state of the state machine, and the notes (quota figures…). */
  readonly verbose?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Clock (tests). @default Date.now */
  readonly now?: () => number;
}

export interface ProgressReporter {
  /** `live`: one line redrawn in place; `plain`: a line per finished date; `verbose`: a line per state. */
  readonly mode: 'live' | 'plain' | 'verbose';
  readonly progress: Progress;
  /** Ends the display (the live line stays, completed with a newline). */
  stop(): void;
}

/** What the reporter knows of the run so far. */
class RunProgress {
  total?: number;
  /** The date being processed (the last one a state named) and the state running. */
  date = '';
  state = '';
  private sawEntered = false;
  readonly records = new Map<string, RunRecord>();
  /** Per date: when its first state began and its last one ended (epoch ms, from the events). */
  private readonly spans = new Map<string, { first: number; last: number }>();

  constructor(readonly started: number) {}

  /** Takes an event in; a `date` event returns the seconds the date took. */
  take(event: ProgressEvent, now: number): number | undefined {
    switch (event.kind) {
      case 'plan':
        this.total = event.total;
        return undefined;
      case 'entered':
        this.sawEntered = true;
        this.state = event.state;
        if (event.date) this.date = event.date;
        return undefined;
      case 'state': {
        if (!this.sawEntered) this.state = event.state;
        if (event.date) {
          this.date = event.date;
          const end = event.at ?? now;
          const begin = end - (event.seconds ?? 0) * 1000;
          const span = this.spans.get(event.date);
          if (span) {
            span.first = Math.min(span.first, begin);
            span.last = Math.max(span.last, end);
          } else this.spans.set(event.date, { first: begin, last: end });
        }
        return undefined;
      }
      case 'date': {
        this.records.set(event.record.ingest_date, event.record);
        const span = this.spans.get(event.record.ingest_date);
        return span ? (span.last - span.first) / 1000 : undefined;
      }
      default:
        return undefined;
    }
  }

  get current(): string {
    return `${this.date} ${this.state}`.trim();
  }

  get rowsRead(): number {
    let rows = 0;
    for (const r of this.records.values()) rows += r.rows.read;
    return rows;
  }
}

/** `[txlake] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 12.3s` */
export function dateLine(record: RunRecord, seconds: number | undefined): string {
  const r = record.rows;
  return `[txlake] ${record.ingest_date} ${record.status}${record.error ? ` ${record.error}` : ''} read=${r.read} silver=${r.silver} quarantined=${r.quarantined} condemned=${r.condemned}${seconds === undefined ? '' : ` ${seconds.toFixed(1)}s`}\n`;
}

/** Elapsed time as `m:ss` (or `h:mm:ss`). */
function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const rate = (rows: number, ms: number): string => {
  const perSecond = ms > 0 ? rows / (ms / 1000) : 0;
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toFixed(1);
};

/** The live line: bar, dates done of the total, the current date and state, rows/s, elapsed. */
function liveLine(run: RunProgress, now: number, width: number): string {
  const done = run.records.size;
  const total = run.total ?? 0;
  const size = 20;
  const filled = total > 0 ? Math.min(size, Math.round((done / total) * size)) : 0;
  const elapsed = now - run.started;
  const line = `[txlake] ${'█'.repeat(filled)}${'░'.repeat(size - filled)} ${done}/${total} dates | ${run.current || 'starting'} | ${rate(run.rowsRead, elapsed)} rows/s | ${clock(elapsed)}`;
  return [...line].slice(0, Math.max(20, width - 1)).join('');
}

/**
 * The progress display of `txlake run` and `backfill` (SPEC §5: on stderr; stdout carries the
 * result only): on a terminal, one live line for the whole run (cli-progress); otherwise, or with
 * `--json`, one plain line per finished date; with `--verbose`, one line per state as well.
 */
export async function startProgress(options: ProgressOptions): Promise<ProgressReporter> {
  const now = options.now ?? Date.now;
  const run = new RunProgress(now());
  const write = options.write;

  if (options.verbose) {
    return {
      mode: 'verbose',
      progress: (event) => {
        const seconds = run.take(event, now());
        if (event.kind === 'date') write(dateLine(event.record, seconds));
        const line = progressLine(event);
        if (line !== undefined) write(`[txlake] ${line}\n`);
      },
      stop: () => undefined,
    };
  }

  const stream = options.stream;
  const live = !options.json && stream?.isTTY === true && options.env?.TERM !== 'dumb';
  if (!live) {
    return {
      mode: 'plain',
      progress: (event) => {
        const seconds = run.take(event, now());
        if (event.kind === 'date') write(dateLine(event.record, seconds));
        else if (event.kind === 'note' && event.level === 'info') write(`[txlake] ${event.text}\n`);
      },
      stop: () => undefined,
    };
  }

  const { SingleBar } = await import('cli-progress');
  let bar: SingleBar | undefined;
  /** Notes that come while the line is live: printed under it once it is done. */
  const later: string[] = [];
  return {
    mode: 'live',
    progress: (event) => {
      run.take(event, now());
      if (event.kind === 'note') {
        if (event.level !== 'info') return;
        if (bar) later.push(event.text);
        else write(`[txlake] ${event.text}\n`);
        return;
      }
      if (!bar && run.total !== undefined) {
        bar = new SingleBar({
          stream,
          format: (_options, params) => liveLine(run, now(), params.maxWidth),
          fps: 5,
          forceRedraw: true,
          linewrap: true, // cli-progress then cuts the line to the width, leaving the terminal's wrap mode alone
          hideCursor: false,
        });
        bar.start(run.total, run.records.size);
      }
      bar?.update(run.records.size);
    },
    stop: () => {
      bar?.stop();
      bar = undefined;
      for (const text of later.splice(0)) write(`[txlake] ${text}\n`);
    },
  };
}
