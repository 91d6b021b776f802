import fc from 'fast-check';
import { addDays, addMonths } from '../../core/calendar';
import type { RunRecord } from '../../core/run-record';
import {
  buildStatusReport,
  codeKind,
  type DateReport,
  monthDates,
  parseRunRecordKey,
  parseStoredRunRecord,
  previousMonthOf,
  reportDateRange,
  scheduleTick,
  type StatusReport,
  type StoredRunRecord,
  zonedTime,
} from '../../core/status-report';
import { scenarioRecords } from '../helpers/status-records';

const HOUR = 3_600_000;
const ZONES = ['UTC', 'Europe/Zurich', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Australia/Lord_Howe'];

/** Local `YYYY-MM-DD HH:MM` of an instant, straight from Intl (the oracle does not use the model's helpers). */
function wallClock(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/**
 * The oracle of a schedule tick: by brute force, the first instant whose wall clock in the zone reads
 * 02:00 or later on the day after the ingest date (so a skipped 02:00 gives the instant clocks jump
 * to, and a repeated one the first of the two). Clock changes fall on quarter hours, so a search in
 * steps of 15 minutes from a quarter hour finds that instant exactly.
 */
const oracleTicks = new Map<string, number>();
function oracleTick(ingestDate: string, timeZone: string): number {
  const day = addDays(ingestDate, 1);
  if (timeZone === 'UTC') return Date.parse(`${day}T02:00:00Z`);
  const cached = oracleTicks.get(`${day} ${timeZone}`);
  if (cached !== undefined) return cached;
  const target = `${day} 02:00`;
  let ms = Date.parse(`${day}T02:00:00Z`) - 15 * HOUR;
  while (wallClock(ms, timeZone) < target) ms += 15 * 60_000;
  oracleTicks.set(`${day} ${timeZone}`, ms);
  return ms;
}

/** The latest record of each date, by recorded_at (the scenario's records all have one). */
function latestByDate(records: readonly StoredRunRecord[]): Map<string, StoredRunRecord[]> {
  const byDate = new Map<string, StoredRunRecord[]>();
  for (const r of records) byDate.set(r.record.ingest_date, [...(byDate.get(r.record.ingest_date) ?? []), r]);
  for (const list of byDate.values())
    list.sort((a, b) => Date.parse(a.record.recorded_at!) - Date.parse(b.record.recorded_at!));
  return byDate;
}

/** Every figure of a report recomputed from the records in the plainest way. */
function expectFiguresOf(report: StatusReport, records: readonly StoredRunRecord[], timeZone: string): void {
  const byDate = latestByDate(records);
  const now = Date.parse(report.generated_at);
  const rows = { read: 0, silver: 0, quarantined: 0, condemned: 0 };
  const files = { accepted: 0, rejected: 0 };
  const reasons: Record<string, number> = {};
  const states: Record<string, number> = { SUCCEEDED: 0, NO_DATA: 0, FAILED: 0, MISSING: 0, NOT_DUE: 0 };
  let late = 0;
  let attempts = 0;
  const freshness: number[] = [];
  for (const date of monthDates(report.month)) {
    const list = byDate.get(date) ?? [];
    attempts += list.length;
    const tick = oracleTick(date, timeZone);
    const d = report.dates.find((x) => x.ingest_date === date) as DateReport;
    expect(d.scheduled_at).toBe(new Date(tick).toISOString());
    expect(d.late_after).toBe(new Date(oracleTick(addDays(date, 1), timeZone)).toISOString());
    const state = list.length > 0 ? list[list.length - 1].record.status : tick <= now ? 'MISSING' : 'NOT_DUE';
    expect(d.state).toBe(state);
    states[state] += 1;
    expect(d.attempts.map((a) => a.run_id)).toEqual(list.map((r) => r.record.run_id));
    const successes = list.filter((r) => r.record.status === 'SUCCEEDED');
    const published = successes[successes.length - 1]?.record;
    expect(d.published).toBe(published !== undefined);
    if (published) {
      for (const k of ['read', 'silver', 'quarantined', 'condemned'] as const) rows[k] += published.rows[k];
      files.accepted += published.files.accepted;
      files.rejected += published.files.rejected;
      for (const [code, n] of Object.entries(published.reasons)) reasons[code] = (reasons[code] ?? 0) + n;
      expect(d.rows).toEqual({
        read: published.rows.read,
        silver: published.rows.silver,
        quarantined: published.rows.quarantined,
        condemned: published.rows.condemned,
      });
      const first = Date.parse(successes[0].record.recorded_at!);
      expect(d.freshness_ms).toBe(first - tick);
      expect(d.late).toBe(first > oracleTick(addDays(date, 1), timeZone));
      if (d.late) late += 1;
      freshness.push(first - tick);
    } else {
      expect(d.rows).toEqual({ read: 0, silver: 0, quarantined: 0, condemned: 0 });
      expect(d.late).toBeUndefined();
    }
  }
  const f = report.figures;
  expect(f.rows).toEqual(rows);
  expect(f.files).toEqual(files);
  expect(f.reasons).toEqual(Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => (a < b ? -1 : 1))));
  expect([f.succeeded, f.no_data, f.failed, f.missing, f.not_due]).toEqual([
    states.SUCCEEDED,
    states.NO_DATA,
    states.FAILED,
    states.MISSING,
    states.NOT_DUE,
  ]);
  expect(f.attempts).toBe(attempts);
  expect(f.late).toBe(late);
  expect(f.quarantine_rate).toBe(rows.read > 0 ? rows.quarantined / rows.read : null);
  expect(f.condemned_rate).toBe(rows.read > 0 ? rows.condemned / rows.read : null);
  if (freshness.length > 0) {
    const sorted = [...freshness].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    expect(f.freshness?.median_ms).toBe(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
    expect(f.freshness?.max_ms).toBe(sorted[sorted.length - 1]);
  } else {
    expect(f.freshness).toBeNull();
  }
  // Each code: its count and rate over the month, and its worst days from the published records.
  for (const c of report.codes) {
    expect(c.count).toBe(reasons[c.code]);
    expect(c.kind).toBe(codeKind(c.code));
    const days = report.dates
      .filter((d) => d.published && (d.reasons[c.code] ?? 0) > 0)
      .map((d) => ({ date: d.ingest_date, n: d.reasons[c.code] }))
      .sort((a, b) => b.n - a.n || (a.date < b.date ? -1 : 1))
      .slice(0, 3);
    expect(c.worst_days.map((w) => [w.ingest_date, w.count])).toEqual(days.map((d) => [d.date, d.n]));
  }
  expect(report.codes.map((c) => c.code).sort()).toEqual(Object.keys(reasons).sort());
}

describe('schedule ticks: 02:00 in the zone on the day after', () => {
  test('UTC and a fixed-offset zone', () => {
    expect(scheduleTick('2024-03-14', 'UTC')).toEqual({
      instant: new Date('2024-03-15T02:00:00Z'),
      skipped: false,
      repeated: false,
    });
    expect(scheduleTick('2024-03-14', 'Asia/Kolkata').instant).toEqual(new Date('2024-03-14T20:30:00Z'));
  });

  test('Europe/Zurich in winter, summer, and on both clock changes', () => {
    expect(scheduleTick('2024-01-10', 'Europe/Zurich').instant).toEqual(new Date('2024-01-11T01:00:00Z'));
    expect(scheduleTick('2024-07-10', 'Europe/Zurich').instant).toEqual(new Date('2024-07-11T00:00:00Z'));
    // 2024-03-31: 02:00 CET jumps to 03:00 CEST, no 02:00 that day: the scheduler skips the run.
    expect(scheduleTick('2024-03-30', 'Europe/Zurich')).toEqual({
      instant: new Date('2024-03-31T01:00:00Z'),
      skipped: true,
      repeated: false,
    });
    expect(scheduleTick('2024-03-31', 'Europe/Zurich').instant).toEqual(new Date('2024-04-01T00:00:00Z'));
    // 2024-10-27: 03:00 CEST goes back to 02:00 CET, 02:00 happens twice: the first.
    expect(scheduleTick('2024-10-26', 'Europe/Zurich')).toEqual({
      instant: new Date('2024-10-27T00:00:00Z'),
      skipped: false,
      repeated: true,
    });
    expect(scheduleTick('2024-10-27', 'Europe/Zurich').instant).toEqual(new Date('2024-10-28T01:00:00Z'));
  });

  test('America/New_York skips 02:00 in March and has it once in November', () => {
    expect(scheduleTick('2024-03-09', 'America/New_York')).toEqual({
      instant: new Date('2024-03-10T07:00:00Z'),
      skipped: true,
      repeated: false,
    });
    expect(scheduleTick('2024-11-02', 'America/New_York')).toEqual({
      instant: new Date('2024-11-03T07:00:00Z'),
      skipped: false,
      repeated: false,
    });
  });

  test('any date in any zone: the first instant whose wall clock reads 02:00 or later (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 3 }), fc.constantFrom(...ZONES), (offset, zone) => {
        const date = addDays('2023-01-01', offset);
        const tick = zonedTime(addDays(date, 1), 2, 0, zone);
        expect(tick.instant.getTime()).toBe(oracleTick(date, zone));
        expect(wallClock(tick.instant.getTime(), zone) === `${addDays(date, 1)} 02:00`).toBe(!tick.skipped);
      }),
      { numRuns: 60 },
    );
  });

  test('an unknown zone is one clear error', () => {
    expect(() =>
      buildStatusReport({ month: '2024-03', timeZone: 'Mars/Olympus', records: [], generatedAt: new Date() }),
    ).toThrow('unknown time zone "Mars/Olympus"');
  });
});

describe('keys, months and ranges', () => {
  test('run record keys', () => {
    expect(parseRunRecordKey('run-records/exec-1/2024-03-01.json')).toEqual({
      execution_id: 'exec-1',
      ingest_date: '2024-03-01',
    });
    expect(parseRunRecordKey('run-records/exec-1/notes.txt')).toBeUndefined();
    expect(parseRunRecordKey('run-records/a/b/2024-03-01.json')).toBeUndefined();
    expect(parseRunRecordKey('runs/x/2024-03-01.json')).toBeUndefined();
  });

  test('a record object is checked against its key', () => {
    const record = { ingest_date: '2024-03-01', run_id: 'r', status: 'NO_DATA', files: {}, rows: {}, reasons: {} };
    expect(() => parseStoredRunRecord('{', 'run-records/e/2024-03-01.json', 'X')).toThrow('X is not JSON');
    expect(() => parseStoredRunRecord(JSON.stringify(record), 'run-records/e/2024-03-01.json', 'X')).toThrow(
      /^X is not a run record: files.accepted/,
    );
    const good = {
      ...record,
      files: { accepted: 0, rejected: 0 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
    };
    expect(() => parseStoredRunRecord(JSON.stringify(good), 'run-records/e/2024-03-02.json', 'X')).toThrow(
      'X records ingest date 2024-03-01, not 2024-03-02',
    );
    expect(parseStoredRunRecord(JSON.stringify(good), 'run-records/e/2024-03-01.json', 'X', 'W')).toEqual({
      execution_id: 'e',
      record: good,
      written_at: 'W',
    });
  });

  test('months', () => {
    expect(monthDates('2024-02')).toHaveLength(29);
    expect(monthDates('2023-02')).toHaveLength(28);
    expect(() => monthDates('2024-13')).toThrow('invalid month "2024-13"');
    expect(reportDateRange('2024-03')).toEqual({ from: '2024-02-01', to: '2024-03-31' });
    expect(reportDateRange('2024-01')).toEqual({ from: '2023-12-01', to: '2024-01-31' });
    expect(previousMonthOf(new Date('2024-04-01T00:30:00Z'))).toBe('2024-03');
    expect(previousMonthOf(new Date('2024-01-15T00:00:00Z'))).toBe('2023-12');
  });
});

describe('a generated month of records', () => {
  /** A failed date, a rerun date (two records), a late date, two NO_DATA dates, a missing one, a rejected file. */
  const scenario = (month: string) => ({
    noData: [`${month}-03`, `${month}-10`],
    missing: [`${month}-24`],
    failed: [`${month}-14`],
    rerun: [`${month}-20`],
    lateHours: { [`${month}-21`]: 30 },
    rejectedFile: [`${month}-08`],
  });

  // March and October/November: the months of the clock changes in Europe and in the US.
  const CASES: [string, string][] = [
    ['UTC', '2024-03'],
    ['Europe/Zurich', '2024-03'],
    ['Europe/Zurich', '2024-10'],
    ['America/New_York', '2024-03'],
    ['America/New_York', '2024-11'],
  ];
  for (const [timeZone, month] of CASES) {
    test(`every figure equals the records (${timeZone}, ${month})`, () => {
      const previousMonth = addMonths(month, -1);
      const records = [
        ...scenarioRecords({
          month: previousMonth,
          timeZone,
          seed: 3,
          rowsPerDay: 1500,
          rerun: [`${previousMonth}-12`],
        }),
        ...scenarioRecords({ month, timeZone, rowsPerDay: 1500, ...scenario(month) }),
        // Records of other months are left out.
        ...scenarioRecords({ month: addMonths(month, 1), timeZone, rowsPerDay: 100 }),
      ];
      const report = buildStatusReport({
        month,
        timeZone,
        records,
        generatedAt: new Date(`${addMonths(month, 1)}-02T12:00:00Z`),
        environment: 'prod',
      });
      expectFiguresOf(report, records, timeZone);
      const f = report.figures;
      const days = monthDates(month).length;
      expect([f.days, f.due, f.published, f.succeeded, f.no_data, f.failed, f.missing, f.late]).toEqual([
        days,
        days,
        days - 4,
        days - 4,
        2,
        1,
        1,
        1,
      ]);
      expect(f.attempts).toBe(days); // every date but the missing one has a record, the rerun date two
      expect(f.failed_attempts).toBe(2);
      expect(f.rerun_dates).toBe(1);
      expect(report.failures.map((d) => [d.ingest_date, d.error])).toEqual([[`${month}-14`, 'QUALITY_GATE_FAILED']]);
      expect(report.failures[0].failed_counts?.rows.quarantined).toBeGreaterThan(0);
      expect(report.recovered.map((d) => d.ingest_date)).toEqual([`${month}-20`]);
      const rerun = report.dates.find((d) => d.ingest_date === `${month}-20`) as DateReport;
      expect(rerun.attempts.map((a) => [a.status, a.error])).toEqual([
        ['FAILED', 'QUALITY_GATE_FAILED'],
        ['SUCCEEDED', undefined],
      ]);
      expect(rerun.freshness_ms).toBe(7 * HOUR + 15 * 60_000);
      expect(rerun.late).toBe(false);
      const late = report.dates.find((d) => d.ingest_date === `${month}-21`) as DateReport;
      expect([late.freshness_ms, late.late]).toEqual([30 * HOUR, true]);
      expect(f.files.rejected).toBe(1);
      expect(report.codes.find((c) => c.code === 'MALFORMED_CSV')).toMatchObject({ kind: 'file', count: 1 });
      expect(report.codes.find((c) => c.code === 'DUPLICATE_ROW')?.kind).toBe('condemned');
      expect(report.codes.filter((c) => c.kind === 'row').map((c) => c.code)).toEqual(
        expect.arrayContaining(['INVALID_AMOUNT', 'INVALID_CURRENCY', 'INVALID_TIMESTAMP', 'MISSING_CUSTOMER_ID']),
      );
      // What changed: the month before has its own figures, and the new code.
      expect(report.previous?.published).toBe(monthDates(previousMonth).length);
      expect(report.previous?.rerun_dates).toBe(1);
      expect(report.codes_new).toEqual(['MALFORMED_CSV']);
      expect(report.codes_gone).toEqual([]);
      // Worst days by quarantine rate, highest first.
      const rates = report.worst_days.map((d) => d.rate as number);
      expect(rates).toEqual([...rates].sort((a, b) => b - a));
      expect(report.worst_days).toHaveLength(3);
    });
  }

  test('a skipped 02:00 (Zurich, 2024-03-31) is flagged on the date it would have processed', () => {
    const records = scenarioRecords({ month: '2024-03', timeZone: 'Europe/Zurich', rowsPerDay: 100 });
    const report = buildStatusReport({
      month: '2024-03',
      timeZone: 'Europe/Zurich',
      records,
      generatedAt: new Date('2024-04-05T00:00:00Z'),
    });
    expect(report.dates.filter((d) => d.schedule_skipped).map((d) => d.ingest_date)).toEqual(['2024-03-30']);
    // The 02:00 of 2024-03-31 is read with the offset before the jump: 01:00Z; the next date's is 02:00 CEST.
    const d = report.dates.find((x) => x.ingest_date === '2024-03-30') as DateReport;
    expect([d.scheduled_at, d.late_after]).toEqual(['2024-03-31T01:00:00.000Z', '2024-04-01T00:00:00.000Z']);
  });

  test('the current month: dates whose 02:00 has not come are not due, not missing', () => {
    const records = scenarioRecords({ month: '2024-03', timeZone: 'UTC', rowsPerDay: 100 }).filter(
      (r) => r.record.ingest_date <= '2024-03-10',
    );
    const report = buildStatusReport({
      month: '2024-03',
      timeZone: 'UTC',
      records,
      // 2024-03-11's run is at 2024-03-12T02:00Z: it is due; 2024-03-12's is not.
      generatedAt: new Date('2024-03-12T02:00:00Z'),
    });
    expectFiguresOf(report, records, 'UTC');
    expect([report.figures.missing, report.figures.not_due, report.figures.due]).toEqual([1, 20, 11]);
    expect(report.dates.find((d) => d.ingest_date === '2024-03-11')?.state).toBe('MISSING');
    expect(report.previous).toBeNull();
  });

  test('a month without records', () => {
    const report = buildStatusReport({
      month: '2024-03',
      timeZone: 'UTC',
      records: scenarioRecords({ month: '2024-05', timeZone: 'UTC', rowsPerDay: 10 }),
      generatedAt: new Date('2024-06-01T00:00:00Z'),
    });
    expect(report.has_records).toBe(false);
    expect(report.figures.missing).toBe(31);
    expect(report.figures.rows).toEqual({ read: 0, silver: 0, quarantined: 0, condemned: 0 });
    expect(report.figures.freshness).toBeNull();
    expect(report.figures.quarantine_rate).toBeNull();
    expect(report.codes).toEqual([]);
    expect(report.previous).toBeNull();
  });
});

describe('which record of a date counts', () => {
  const base = (date: string, status: RunRecord['status'], read: number, extra: Partial<RunRecord> = {}) =>
    ({
      ingest_date: date,
      run_id: `${date}_${read}`,
      status,
      files: { accepted: 1, rejected: 0 },
      rows: { read, silver: read - 1, quarantined: 1, condemned: 0 },
      reasons: { INVALID_AMOUNT: 1 },
      ...extra,
    }) as RunRecord;
  const report = (records: StoredRunRecord[]) =>
    buildStatusReport({ month: '2024-03', timeZone: 'UTC', records, generatedAt: new Date('2024-05-01T00:00:00Z') });
  const date = (r: StatusReport, d: string) => r.dates.find((x) => x.ingest_date === d) as DateReport;

  test('a failed rerun after a success: FAILED, and the earlier success stays published', () => {
    const r = report([
      { execution_id: 'b', record: base('2024-03-05', 'FAILED', 50, { recorded_at: '2024-03-09T10:00:00Z' }) },
      { execution_id: 'a', record: base('2024-03-05', 'SUCCEEDED', 100, { recorded_at: '2024-03-06T02:10:00Z' }) },
    ]);
    const d = date(r, '2024-03-05');
    expect([d.state, d.published, d.rows.read, d.failed_counts?.rows.read]).toEqual(['FAILED', true, 100, 50]);
    expect(d.freshness_ms).toBe(10 * 60_000);
    expect(r.figures.rows.read).toBe(100);
    expect([r.figures.failed, r.figures.published]).toEqual([1, 1]);
  });

  test('two successes: the rows of the latest, the freshness of the first', () => {
    const r = report([
      { execution_id: 'z', record: base('2024-03-05', 'SUCCEEDED', 100, { recorded_at: '2024-03-06T02:10:00Z' }) },
      { execution_id: 'a', record: base('2024-03-05', 'SUCCEEDED', 120, { recorded_at: '2024-03-20T09:00:00Z' }) },
    ]);
    const d = date(r, '2024-03-05');
    expect([d.rows.read, d.freshness_ms, d.late, d.attempts.length]).toEqual([120, 10 * 60_000, false, 2]);
  });

  test('records without recorded_at: before those with it, then by write time, then in the order read', () => {
    const r = report([
      { execution_id: 'a', record: base('2024-03-05', 'SUCCEEDED', 10), written_at: '2024-03-06T05:00:00Z' },
      { execution_id: 'b', record: base('2024-03-05', 'SUCCEEDED', 20), written_at: '2024-03-06T04:00:00Z' },
      { execution_id: 'c', record: base('2024-03-05', 'SUCCEEDED', 30, { recorded_at: '2024-03-06T03:00:00Z' }) },
      { execution_id: 'd', record: base('2024-03-07', 'SUCCEEDED', 40) },
      { execution_id: 'e', record: base('2024-03-07', 'FAILED', 50) },
    ]);
    const d5 = date(r, '2024-03-05');
    expect(d5.attempts.map((a) => a.execution_id)).toEqual(['b', 'a', 'c']);
    expect([d5.rows.read, d5.published_at, d5.freshness_ms]).toEqual([30, '2024-03-06T04:00:00.000Z', 2 * HOUR]);
    // Neither a recorded_at nor a write time: execution order decides, freshness is unknown.
    const d7 = date(r, '2024-03-07');
    expect([d7.state, d7.rows.read, d7.published_at, d7.freshness_ms, d7.late]).toEqual([
      'FAILED',
      40,
      undefined,
      undefined,
      undefined,
    ]);
    expect(r.figures.unmeasured).toBe(1);
  });

  test('any set of records: the figures equal the records (property)', () => {
    const month = '2024-03';
    const arbitraryRecord = fc
      .record({
        day: fc.integer({ min: 1, max: 31 }),
        status: fc.constantFrom('SUCCEEDED', 'SUCCEEDED', 'NO_DATA', 'FAILED') as fc.Arbitrary<RunRecord['status']>,
        read: fc.integer({ min: 0, max: 1000 }),
        quarantined: fc.integer({ min: 0, max: 100 }),
        condemned: fc.integer({ min: 0, max: 50 }),
        code: fc.constantFrom('INVALID_AMOUNT', 'MISSING_CURRENCY', 'DUPLICATE_ROW', 'EMPTY_FILE', 'SOMETHING_NEW'),
        minutesAfter: fc.integer({ min: -60, max: 4 * 24 * 60 }),
        execution: fc.constantFrom('e1', 'e2', 'e3', 'e4'),
      })
      .map((x): StoredRunRecord => {
        const date = `${month}-${String(x.day).padStart(2, '0')}`;
        const read = x.status === 'NO_DATA' ? 0 : x.read + x.quarantined + x.condemned;
        const at = Date.parse(`${addDays(date, 1)}T02:00:00Z`) + x.minutesAfter * 60_000;
        return {
          execution_id: x.execution,
          record: {
            ingest_date: date,
            run_id: `${date}_${x.execution}_${at}`,
            status: x.status,
            files: { accepted: x.status === 'NO_DATA' ? 0 : 1, rejected: 0 },
            rows: { read, silver: x.read, quarantined: x.quarantined, condemned: x.condemned },
            reasons: x.status === 'NO_DATA' || x.quarantined === 0 ? {} : { [x.code]: x.quarantined },
            recorded_at: new Date(at).toISOString(),
          },
        };
      });
    fc.assert(
      fc.property(
        fc.array(arbitraryRecord, { maxLength: 60 }).map((list) => {
          // One record per execution and date, as the keys allow; distinct instants per date.
          const seen = new Set<string>();
          return list.filter((r) => {
            const key = `${r.execution_id}/${r.record.ingest_date}`;
            const at = `${r.record.ingest_date}@${r.record.recorded_at}`;
            if (seen.has(key) || seen.has(at)) return false;
            seen.add(key);
            seen.add(at);
            return true;
          });
        }),
        fc.integer({ min: 0, max: 40 }),
        (records, nowDay) => {
          const generatedAt = new Date(Date.parse('2024-03-01T00:00:00Z') + nowDay * 24 * HOUR);
          const r = buildStatusReport({ month, timeZone: 'UTC', records, generatedAt });
          expectFiguresOf(r, records, 'UTC');
          expect(r.has_records).toBe(records.length > 0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
