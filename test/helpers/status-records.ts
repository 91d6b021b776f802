import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { addDays } from '../../core/calendar';
import { runRecordKey } from '../../core/lake-layout';
import type { RunRecord } from '../../core/run-record';
import { monthDates, scheduleTick, type StoredRunRecord } from '../../core/status-report';
import { generateCsvChunks, type GenerateOptions, summarize } from '../../tools/generate/generate';

/**
 * A month of run records as the pipeline writes them, for the status report's tests and the docs
 * example: each date's counts are what a run of the project's generated files reports (the
 * generator's own summary, `txlake generate`), the nightly run records it a few minutes after
 * 02:00 in the schedule's zone, and a scenario adds failed, rerun, late, empty and missing dates.
 */
export interface MonthScenario {
  readonly month: string;
  readonly timeZone: string;
  /** @default 7 */
  readonly seed?: number;
  /** Rows of a weekday's files; weekends land about a third. @default 2000 */
  readonly rowsPerDay?: number;
  /** Share of invalid rows on ordinary days. @default 0.004 */
  readonly invalidRate?: number;
  /** Dates without landed files (NO_DATA). */
  readonly noData?: readonly string[];
  /** Dates without any record. */
  readonly missing?: readonly string[];
  /** Dates whose only run fails the quality gate (a spike of invalid rows). */
  readonly failed?: readonly string[];
  /** Dates whose nightly run fails the gate and a rerun (another execution) succeeds the same morning. */
  readonly rerun?: readonly string[];
  /** Dates published this many hours after their 02:00 run (more than 24: late). */
  readonly lateHours?: Readonly<Record<string, number>>;
  /** Dates with one more landed file that is rejected (MALFORMED_CSV). */
  readonly rejectedFile?: readonly string[];
  /** Leave `recorded_at` out (records written before the field existed). */
  readonly withoutRecordedAt?: boolean;
}

/** The counts the generator's files of one date make a run report. */
export function generatedRun(options: GenerateOptions): Pick<RunRecord, 'rows' | 'reasons'> {
  const chunks = generateCsvChunks(options, 0);
  let step = chunks.next();
  while (!step.done) step = chunks.next();
  const summary = summarize(options, [{ name: 'generated.csv', ...step.value }]);
  return { rows: { ...summary.expected.rows }, reasons: { ...summary.expected.reasons } };
}

const minutes = (n: number): number => n * 60_000;

/** The records of a scenario, in the order a reader lists them (execution ids in byte order). */
export function scenarioRecords(s: MonthScenario): StoredRunRecord[] {
  const seed = s.seed ?? 7;
  const base = s.rowsPerDay ?? 2000;
  const out: StoredRunRecord[] = [];
  for (const [i, date] of monthDates(s.month).entries()) {
    if (s.missing?.includes(date)) continue;
    const tick = scheduleTick(date, s.timeZone).instant.getTime();
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const rows = Math.round((weekend ? base / 3 : base) * (0.85 + ((i * 37 + seed) % 30) / 100));
    const gen = (invalidRate: number): Pick<RunRecord, 'rows' | 'reasons'> =>
      generatedRun({
        ingestDate: date,
        rows,
        seed: seed + i,
        invalidRate,
        duplicateRate: 0.001 + (i % 4) / 2000,
      });
    const rejected = s.rejectedFile?.includes(date) ? 1 : 0;
    const exec = `sched-${date}`;
    const recordedAt = (ms: number): Pick<RunRecord, 'recorded_at'> =>
      s.withoutRecordedAt ? {} : { recorded_at: new Date(ms).toISOString() };
    const runMinutes = 6 + ((i * 7 + seed) % 19);
    if (s.noData?.includes(date)) {
      out.push({
        execution_id: exec,
        record: {
          ingest_date: date,
          run_id: `${date}_${exec}`,
          status: 'NO_DATA',
          files: { accepted: 0, rejected: 0 },
          rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
          reasons: {},
          ...recordedAt(tick + minutes(2)),
        },
      });
      continue;
    }
    const fileReasons: Record<string, number> = rejected ? { MALFORMED_CSV: 1 } : {};
    const record = (
      execution: string,
      status: RunRecord['status'],
      counts: Pick<RunRecord, 'rows' | 'reasons'>,
      at: number,
    ): StoredRunRecord => ({
      execution_id: execution,
      record: {
        ingest_date: date,
        run_id: `${date}_${execution}`,
        status,
        files: { accepted: 1, rejected },
        rows: counts.rows,
        reasons: { ...counts.reasons, ...fileReasons },
        ...(status === 'FAILED'
          ? {
              error: 'QUALITY_GATE_FAILED',
              // The quality gate's own wording (lambdas/quality-gate), at the default limit.
              error_detail: `${counts.rows.quarantined} of ${counts.rows.read} rows quarantined (${(
                (counts.rows.quarantined / counts.rows.read) *
                100
              ).toFixed(2)}%), above the limit of 10.00%`,
            }
          : { snapshots: { silver_transactions: String(1000 + i) } }),
        ...recordedAt(at),
      },
    });
    const spike = gen(0.14);
    if (s.failed?.includes(date)) {
      out.push(record(exec, 'FAILED', spike, tick + minutes(runMinutes)));
      continue;
    }
    const late = s.lateHours?.[date];
    const at = tick + (late !== undefined ? minutes(late * 60) : minutes(runMinutes));
    if (s.rerun?.includes(date)) {
      out.push(record(exec, 'FAILED', spike, tick + minutes(runMinutes)));
      // The operator fixes the files and reruns the date from the CLI in the morning.
      const rerun = `cli-${date}-${addDays(date, 1).replace(/-/g, '')}091500`;
      out.push(record(rerun, 'SUCCEEDED', gen(s.invalidRate ?? 0.004), tick + minutes(7 * 60 + 15)));
      continue;
    }
    out.push(record(exec, 'SUCCEEDED', gen(s.invalidRate ?? 0.004), at));
  }
  return out.sort((a, b) => (a.execution_id < b.execution_id ? -1 : a.execution_id > b.execution_id ? 1 : 0));
}

/** Writes records where a local lake keeps them: `<lake>/staging/run-records/<execution>/<date>.json`. */
export function writeRunRecordFiles(lake: string, records: readonly StoredRunRecord[]): void {
  for (const { execution_id, record } of records) {
    const file = path.join(lake, 'staging', runRecordKey(execution_id, record.ingest_date));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(record, null, 2));
  }
}
