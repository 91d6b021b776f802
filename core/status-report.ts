import { addDays, addMonths } from './calendar';
import { CONTRACT } from './contract';
import { RUN_RECORDS_PREFIX } from './lake-layout';
import { type RunRecord, parseRunRecord } from './run-record';

/**
 * The stakeholders' monthly status report (SPEC §5 `report`): every figure of it, computed from the
 * run records of the month's ingest dates (and of the month before, for what changed). Pure: the
 * records, the month, the schedule's time zone and the instant of the report in, the model out;
 * the renderers (core/status-report-render) only format it.
 *
 * Definitions (the report's footer repeats them):
 * - A date's *attempts* are its run records, over all executions. Its *latest* record decides its
 *   state; records are ordered by `recorded_at`; a record without it (written before the field
 *   existed) comes before every record with it, ordered by when its object was written (S3's
 *   LastModified or the file's mtime, when the reader knows it), then by execution order (the
 *   order the reader listed them: execution ids in byte order).
 * - The date's rows in the lake are those of its latest SUCCEEDED record: a later failed attempt
 *   publishes nothing (SPEC §3), so an earlier success stays published.
 * - *Scheduled at*: 02:00 in the schedule's time zone on the day after the ingest date (the nightly
 *   run that processes it). On a day without 02:00 (clocks jump forward over it) the instant is the
 *   one 02:00 names with the offset before the jump (03:00 new time) — EventBridge Scheduler skips
 *   that day's run; on a day with 02:00 twice, the first.
 * - *Published at*: the `recorded_at` (or, lacking it, the object's write time) of the date's first
 *   SUCCEEDED record. *Freshness* = published at − scheduled at.
 * - *Late*: a published date whose first success was recorded after the next schedule tick (02:00 on
 *   the second day after the ingest date): it was not there when the next nightly run started.
 * - *Missing*: a date without any record whose schedule tick has passed when the report is made;
 *   *not due*: one whose tick has not come yet.
 * - Quarantine rate: quarantined rows / rows read, of the published records. A code's rate: its
 *   rows / rows read (a row with two codes counts under both, so code rates may add up to more).
 */

/** The nightly schedule's wall-clock time, in the deployment's `scheduleTimeZone`. */
export const SCHEDULE_LOCAL_TIME = '02:00';
const SCHEDULE_HOUR = 2;
const SCHEDULE_MINUTE = 0;

/** How many worst days the report names per code and overall. */
export const WORST_DAYS = 3;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** True for a month written as YYYY-MM. */
export const isMonth = (value: string): boolean => MONTH.test(value);

/** Every date of a month, ascending. */
export function monthDates(month: string): string[] {
  if (!isMonth(month)) throw new Error(`invalid month "${month}": expected YYYY-MM, e.g. 2024-03`);
  const dates: string[] = [];
  for (let d = `${month}-01`; d.startsWith(month); d = addDays(d, 1)) dates.push(d);
  return dates;
}

/** The calendar month (UTC) before the one `instant` falls in. */
export const previousMonthOf = (instant: Date): string => addMonths(instant.toISOString().slice(0, 7), -1);

/** The ingest dates whose records a report of `month` reads: the month before and the month. */
export function reportDateRange(month: string): { from: string; to: string } {
  const dates = monthDates(month);
  return { from: `${addMonths(month, -1)}-01`, to: dates[dates.length - 1] };
}

/** A run record as stored: which execution wrote it, and when its object was written if known. */
export interface StoredRunRecord {
  readonly execution_id: string;
  readonly record: RunRecord;
  /** The object's write time (ISO 8601): S3 LastModified or the file's mtime; for records without `recorded_at`. */
  readonly written_at?: string;
}

const RECORD_KEY = new RegExp(`^${RUN_RECORDS_PREFIX}([^/]+)/(\\d{4}-\\d{2}-\\d{2})\\.json$`);

/** `run-records/<execution_id>/<ingest_date>.json` → its parts; undefined for any other key. */
export function parseRunRecordKey(key: string): { execution_id: string; ingest_date: string } | undefined {
  const match = RECORD_KEY.exec(key);
  return match ? { execution_id: match[1], ingest_date: match[2] } : undefined;
}

/** A run record object's text, checked; throws a one-line message naming `where` when it is not one. */
export function parseStoredRunRecord(text: string, key: string, where: string, writtenAt?: string): StoredRunRecord {
  const parts = parseRunRecordKey(key);
  if (!parts) throw new Error(`${where} is not a run record key`);
  const record = parseRunRecord(text, where);
  if (record.ingest_date !== parts.ingest_date) {
    throw new Error(`${where} records ingest date ${record.ingest_date}, not ${parts.ingest_date}`);
  }
  return { execution_id: parts.execution_id, record, ...(writtenAt ? { written_at: writtenAt } : {}) };
}

// ---- time zones ----

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new Error(`unknown time zone "${timeZone}": expected an IANA name such as Europe/Zurich`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC at `ms` (whole seconds), in ms: local wall time − UTC. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = zoneFormatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The wall-clock time `hh:mm` of `date` in `timeZone`, and the local date and time of an instant there. */
export interface ZonedTime {
  readonly instant: Date;
  /** The wall time does not exist that day (clocks jumped over it): the instant is the offset-before reading. */
  readonly skipped: boolean;
  /** The wall time happens twice that day (clocks went back over it): the instant is the first. */
  readonly repeated: boolean;
}

/** The instant of wall time `hour:minute` on `date` in `timeZone` (RFC 9557 / Temporal "compatible"). */
export function zonedTime(date: string, hour: number, minute: number, timeZone: string): ZonedTime {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, hour, minute);
  const DAY = 86_400_000;
  const before = zoneOffsetMs(wall - DAY, timeZone);
  const after = zoneOffsetMs(wall + DAY, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((ms) => wall - ms === zoneOffsetMs(ms, timeZone))
    .sort((a, b) => a - b);
  if (candidates.length === 0) return { instant: new Date(wall - before), skipped: true, repeated: false };
  return { instant: new Date(candidates[0]), skipped: false, repeated: candidates.length > 1 };
}

/** `YYYY-MM-DD HH:MM` of an instant in `timeZone`. */
export function localDateTime(instant: Date, timeZone: string): string {
  const parts = zoneFormatter(timeZone).formatToParts(instant);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** The nightly run that processes `ingestDate`: 02:00 in `timeZone` on the day after. */
export const scheduleTick = (ingestDate: string, timeZone: string): ZonedTime =>
  zonedTime(addDays(ingestDate, 1), SCHEDULE_HOUR, SCHEDULE_MINUTE, timeZone);

// ---- the model ----

export interface RowCounts {
  readonly read: number;
  readonly silver: number;
  readonly quarantined: number;
  readonly condemned: number;
}

export interface FileCounts {
  readonly accepted: number;
  readonly rejected: number;
}

/** A date's state at the report's instant. */
export type DateState = 'SUCCEEDED' | 'NO_DATA' | 'FAILED' | 'MISSING' | 'NOT_DUE';

/** One attempt (run record) of a date, in order. */
export interface Attempt {
  readonly execution_id: string;
  readonly run_id: string;
  readonly status: RunRecord['status'];
  readonly error?: string;
  /** recorded_at, or the object's write time when the record has none. */
  readonly at?: string;
}

export interface DateReport {
  readonly ingest_date: string;
  readonly state: DateState;
  /** Every record of the date, oldest first. */
  readonly attempts: readonly Attempt[];
  /** The latest record's error and detail (state FAILED). */
  readonly error?: string;
  readonly error_detail?: string;
  /** The date's rows are in the lake: it has a SUCCEEDED record. */
  readonly published: boolean;
  /** Counts of the latest SUCCEEDED record (zero when none). */
  readonly rows: RowCounts;
  readonly files: FileCounts;
  readonly reasons: Readonly<Record<string, number>>;
  /** quarantined / read of the published record; null when nothing was read. */
  readonly quarantine_rate: number | null;
  /** What the latest, failed attempt counted (state FAILED): why a quality gate failed. */
  readonly failed_counts?: { readonly rows: RowCounts; readonly reasons: Readonly<Record<string, number>> };
  /** 02:00 in the zone on the day after (ISO 8601, UTC). */
  readonly scheduled_at: string;
  /** No 02:00 that day in the zone: EventBridge Scheduler skips that day's run. */
  readonly schedule_skipped: boolean;
  /** The next schedule tick: published after it, the date is late. */
  readonly late_after: string;
  /** When the first SUCCEEDED record was written (unknown for old records read without a write time). */
  readonly published_at?: string;
  /** published_at − scheduled_at, in ms. */
  readonly freshness_ms?: number;
  /** Published after the next schedule tick. Undefined when not published or when published_at is unknown. */
  readonly late?: boolean;
}

export interface FreshnessFigures {
  /** Published dates with a known publish time. */
  readonly measured: number;
  readonly median_ms: number;
  readonly max_ms: number;
  readonly max_date: string;
}

/** The month's totals (also computed for the month before, to say what changed). */
export interface MonthFigures {
  readonly month: string;
  readonly days: number;
  /** Dates whose schedule tick has passed at the report's instant. */
  readonly due: number;
  readonly succeeded: number;
  readonly no_data: number;
  readonly failed: number;
  readonly missing: number;
  readonly not_due: number;
  /** Dates whose rows are in the lake (SUCCEEDED, or FAILED on a rerun after a success). */
  readonly published: number;
  readonly late: number;
  readonly on_time: number;
  /** Published dates whose publish time is unknown. */
  readonly unmeasured: number;
  /** Run records of the month's dates. */
  readonly attempts: number;
  readonly failed_attempts: number;
  /** Dates with more than one record. */
  readonly rerun_dates: number;
  readonly rows: RowCounts;
  readonly files: FileCounts;
  /** Month totals of the published records' reasons, by code. */
  readonly reasons: Readonly<Record<string, number>>;
  readonly quarantine_rate: number | null;
  readonly condemned_rate: number | null;
  readonly silver_rate: number | null;
  readonly freshness: FreshnessFigures | null;
}

export type CodeKind = 'row' | 'condemned' | 'file' | 'other';

export interface DayCount {
  readonly ingest_date: string;
  readonly count: number;
  /** count / the day's rows read (file codes: / the day's files); null when the day read nothing. */
  readonly rate: number | null;
}

export interface CodeFigure {
  readonly code: string;
  /** row: the row goes to quarantine; condemned: to condemned; file: a rejected file; other: not in the contract. */
  readonly kind: CodeKind;
  readonly count: number;
  /** count / rows read of the month (file codes: / files landed); null when nothing was read. */
  readonly rate: number | null;
  /** The days with the most, most first (ties: earlier date first), at most {@link WORST_DAYS}. */
  readonly worst_days: readonly DayCount[];
}

export interface StatusReport {
  readonly month: string;
  readonly previous_month: string;
  readonly environment?: string;
  readonly time_zone: string;
  readonly schedule_local_time: string;
  /** The report's instant (ISO 8601): dates whose tick is later are not due. */
  readonly generated_at: string;
  /** Any record of the month's dates. */
  readonly has_records: boolean;
  readonly dates: readonly DateReport[];
  readonly figures: MonthFigures;
  /** Codes by kind, most rows first (ties: code order). */
  readonly codes: readonly CodeFigure[];
  /** Published dates with the highest quarantine rate (rate > 0), highest first. */
  readonly worst_days: readonly DayCount[];
  /** Dates whose latest attempt failed. */
  readonly failures: readonly DateReport[];
  /** Dates that failed at least once and then succeeded. */
  readonly recovered: readonly DateReport[];
  /** The month before: null when none of its dates has a record. */
  readonly previous: MonthFigures | null;
  /** Codes seen this month and not in the month before, and the reverse (only when there is a month before). */
  readonly codes_new: readonly string[];
  readonly codes_gone: readonly string[];
  /** Run record objects that could not be read (named by the reader), left out of every figure. */
  readonly unreadable: readonly string[];
}

export interface StatusReportInput {
  readonly month: string;
  /** IANA zone of the 02:00 schedule (`scheduleTimeZone` of the environment). */
  readonly timeZone: string;
  /** Run records of any dates: those of the month and of the month before are used. */
  readonly records: readonly StoredRunRecord[];
  readonly generatedAt: Date;
  readonly environment?: string;
  readonly unreadable?: readonly string[];
}

const ZERO_ROWS: RowCounts = { read: 0, silver: 0, quarantined: 0, condemned: 0 };
const ZERO_FILES: FileCounts = { accepted: 0, rejected: 0 };

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

const instantOf = (stored: StoredRunRecord): string | undefined => stored.record.recorded_at ?? stored.written_at;

/** The records of one date, oldest first (see the definitions above). */
function inOrder(records: readonly { stored: StoredRunRecord; index: number }[]): StoredRunRecord[] {
  const ms = (iso: string | undefined): number => (iso === undefined ? -Infinity : Date.parse(iso));
  return [...records]
    .sort((a, b) => {
      const ra = a.stored.record.recorded_at;
      const rb = b.stored.record.recorded_at;
      if ((ra === undefined) !== (rb === undefined)) return ra === undefined ? -1 : 1;
      const byTime = ms(ra ?? a.stored.written_at) - ms(rb ?? b.stored.written_at);
      if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
      return a.index - b.index;
    })
    .map((r) => r.stored);
}

function countsOf(record: RunRecord): { rows: RowCounts; files: FileCounts } {
  const { read, silver, quarantined, condemned } = record.rows;
  return { rows: { read, silver, quarantined, condemned }, files: { ...record.files } };
}

function dateReport(ingestDate: string, records: readonly StoredRunRecord[], timeZone: string, now: Date): DateReport {
  const tick = scheduleTick(ingestDate, timeZone);
  const next = scheduleTick(addDays(ingestDate, 1), timeZone);
  const latest = records[records.length - 1];
  const successes = records.filter((r) => r.record.status === 'SUCCEEDED');
  const publishedRecord = successes[successes.length - 1];
  const firstSuccess = successes[0];
  const state: DateState = latest
    ? latest.record.status
    : tick.instant.getTime() <= now.getTime()
      ? 'MISSING'
      : 'NOT_DUE';
  const counts = publishedRecord ? countsOf(publishedRecord.record) : { rows: ZERO_ROWS, files: ZERO_FILES };
  const publishedAt = firstSuccess ? instantOf(firstSuccess) : undefined;
  const publishedMs = publishedAt === undefined ? NaN : Date.parse(publishedAt);
  const known = !Number.isNaN(publishedMs);
  return {
    ingest_date: ingestDate,
    state,
    attempts: records.map((r) => {
      const at = instantOf(r);
      return {
        execution_id: r.execution_id,
        run_id: r.record.run_id,
        status: r.record.status,
        ...(r.record.error ? { error: r.record.error } : {}),
        ...(at ? { at } : {}),
      };
    }),
    ...(state === 'FAILED' && latest.record.error ? { error: latest.record.error } : {}),
    ...(state === 'FAILED' && latest.record.error_detail ? { error_detail: latest.record.error_detail } : {}),
    published: publishedRecord !== undefined,
    rows: counts.rows,
    files: counts.files,
    reasons: publishedRecord ? { ...publishedRecord.record.reasons } : {},
    quarantine_rate: ratio(counts.rows.quarantined, counts.rows.read),
    ...(state === 'FAILED'
      ? { failed_counts: { rows: countsOf(latest.record).rows, reasons: { ...latest.record.reasons } } }
      : {}),
    scheduled_at: tick.instant.toISOString(),
    schedule_skipped: tick.skipped,
    late_after: next.instant.toISOString(),
    ...(known ? { published_at: new Date(publishedMs).toISOString() } : {}),
    ...(known ? { freshness_ms: publishedMs - tick.instant.getTime() } : {}),
    ...(known ? { late: publishedMs > next.instant.getTime() } : {}),
  };
}

const sumRows = (dates: readonly DateReport[]): RowCounts =>
  dates.reduce(
    (t, d) => ({
      read: t.read + d.rows.read,
      silver: t.silver + d.rows.silver,
      quarantined: t.quarantined + d.rows.quarantined,
      condemned: t.condemned + d.rows.condemned,
    }),
    ZERO_ROWS,
  );

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function monthFigures(month: string, dates: readonly DateReport[]): MonthFigures {
  const count = (state: DateState): number => dates.filter((d) => d.state === state).length;
  const published = dates.filter((d) => d.published);
  const rows = sumRows(published);
  const files = published.reduce(
    (t, d) => ({ accepted: t.accepted + d.files.accepted, rejected: t.rejected + d.files.rejected }),
    ZERO_FILES,
  );
  const reasons: Record<string, number> = {};
  for (const d of published)
    for (const [code, n] of Object.entries(d.reasons)) reasons[code] = (reasons[code] ?? 0) + n;
  const measured = published.filter((d) => d.freshness_ms !== undefined);
  let freshness: FreshnessFigures | null = null;
  if (measured.length > 0) {
    const values = measured.map((d) => d.freshness_ms as number).sort((a, b) => a - b);
    const worst = measured.reduce((w, d) => ((d.freshness_ms as number) > (w.freshness_ms as number) ? d : w));
    freshness = {
      measured: measured.length,
      median_ms: median(values),
      max_ms: worst.freshness_ms as number,
      max_date: worst.ingest_date,
    };
  }
  return {
    month,
    days: dates.length,
    due: dates.length - count('NOT_DUE'),
    succeeded: count('SUCCEEDED'),
    no_data: count('NO_DATA'),
    failed: count('FAILED'),
    missing: count('MISSING'),
    not_due: count('NOT_DUE'),
    published: published.length,
    late: published.filter((d) => d.late === true).length,
    on_time: published.filter((d) => d.late === false).length,
    unmeasured: published.length - measured.length,
    attempts: dates.reduce((n, d) => n + d.attempts.length, 0),
    failed_attempts: dates.reduce((n, d) => n + d.attempts.filter((a) => a.status === 'FAILED').length, 0),
    rerun_dates: dates.filter((d) => d.attempts.length > 1).length,
    rows,
    files,
    reasons: sortedKeys(reasons),
    quarantine_rate: ratio(rows.quarantined, rows.read),
    condemned_rate: ratio(rows.condemned, rows.read),
    silver_rate: ratio(rows.silver, rows.read),
    freshness,
  };
}

function sortedKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const ROW_CODES = new Set([...CONTRACT.codes.row, ...CONTRACT.codes.quarantine]);
const CONDEMNED_CODES = new Set(CONTRACT.codes.condemned);
const FILE_CODES = new Set(CONTRACT.codes.file);

/** What a reason code counts, by the data contract. */
export function codeKind(code: string): CodeKind {
  if (ROW_CODES.has(code)) return 'row';
  if (CONDEMNED_CODES.has(code)) return 'condemned';
  if (FILE_CODES.has(code)) return 'file';
  return 'other';
}

const KIND_ORDER: readonly CodeKind[] = ['row', 'condemned', 'file', 'other'];

/** Most first, then the earlier date. */
const byCountThenDate = (a: DayCount, b: DayCount): number =>
  b.count - a.count || (a.ingest_date < b.ingest_date ? -1 : a.ingest_date > b.ingest_date ? 1 : 0);

function codeFigures(dates: readonly DateReport[], figures: MonthFigures): CodeFigure[] {
  const published = dates.filter((d) => d.published);
  const filesOf = (f: FileCounts): number => f.accepted + f.rejected;
  const monthFiles = filesOf(figures.files);
  return Object.entries(figures.reasons)
    .map(([code, count]) => {
      const kind = codeKind(code);
      const worst = published
        .filter((d) => (d.reasons[code] ?? 0) > 0)
        .map((d) => ({
          ingest_date: d.ingest_date,
          count: d.reasons[code],
          rate: kind === 'file' ? ratio(d.reasons[code], filesOf(d.files)) : ratio(d.reasons[code], d.rows.read),
        }))
        .sort(byCountThenDate)
        .slice(0, WORST_DAYS);
      return {
        code,
        kind,
        count,
        rate: kind === 'file' ? ratio(count, monthFiles) : ratio(count, figures.rows.read),
        worst_days: worst,
      };
    })
    .sort(
      (a, b) =>
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
        b.count - a.count ||
        (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
    );
}

/** The dates of `month` with their records (by ingest date, in order). */
function datesOf(
  month: string,
  byDate: ReadonlyMap<string, StoredRunRecord[]>,
  timeZone: string,
  now: Date,
): DateReport[] {
  return monthDates(month).map((d) => dateReport(d, byDate.get(d) ?? [], timeZone, now));
}

/** The report of `input.month`: every figure, from the run records. */
export function buildStatusReport(input: StatusReportInput): StatusReport {
  const { month, timeZone, generatedAt } = input;
  if (!isMonth(month)) throw new Error(`invalid month "${month}": expected YYYY-MM, e.g. 2024-03`);
  if (Number.isNaN(generatedAt.getTime())) throw new Error('the report needs a valid instant');
  zoneFormatter(timeZone);
  const previousMonth = addMonths(month, -1);
  const grouped = new Map<string, { stored: StoredRunRecord; index: number }[]>();
  input.records.forEach((stored, index) => {
    const date = stored.record.ingest_date;
    const m = date.slice(0, 7);
    if (m !== month && m !== previousMonth) return;
    const list = grouped.get(date) ?? [];
    list.push({ stored, index });
    grouped.set(date, list);
  });
  const byDate = new Map<string, StoredRunRecord[]>();
  for (const [date, list] of grouped) byDate.set(date, inOrder(list));

  const dates = datesOf(month, byDate, timeZone, generatedAt);
  const figures = monthFigures(month, dates);
  const previousDates = datesOf(previousMonth, byDate, timeZone, generatedAt);
  const previous = previousDates.some((d) => d.attempts.length > 0) ? monthFigures(previousMonth, previousDates) : null;
  const codes = Object.keys(figures.reasons);
  const previousCodes = previous ? Object.keys(previous.reasons) : [];
  const worstDays = dates
    .filter((d) => d.published && d.quarantine_rate !== null && d.quarantine_rate > 0)
    .map((d) => ({ ingest_date: d.ingest_date, count: d.rows.quarantined, rate: d.quarantine_rate }))
    .sort(
      (a, b) =>
        (b.rate as number) - (a.rate as number) ||
        (a.ingest_date < b.ingest_date ? -1 : a.ingest_date > b.ingest_date ? 1 : 0),
    )
    .slice(0, WORST_DAYS);
  return {
    month,
    previous_month: previousMonth,
    ...(input.environment ? { environment: input.environment } : {}),
    time_zone: timeZone,
    schedule_local_time: SCHEDULE_LOCAL_TIME,
    generated_at: generatedAt.toISOString(),
    has_records: dates.some((d) => d.attempts.length > 0),
    dates,
    figures,
    codes: codeFigures(dates, figures),
    worst_days: worstDays,
    failures: dates.filter((d) => d.state === 'FAILED'),
    recovered: dates.filter((d) => d.state === 'SUCCEEDED' && d.attempts.some((a) => a.status === 'FAILED')),
    previous,
    codes_new: previous ? codes.filter((c) => !previousCodes.includes(c)) : [],
    codes_gone: previous ? previousCodes.filter((c) => !codes.includes(c)) : [],
    unreadable: [...(input.unreadable ?? [])],
  };
}
