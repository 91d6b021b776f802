import * as fc from 'fast-check';
import { PipelineError } from '../../core/errors';
import { addDays, dateInZone, isCalendarDate, localTimeExists } from '../../core/calendar';
import {
  batchRun,
  dateRange,
  executionPlan,
  inputDates,
  MAX_DATES_PER_RUN,
  resolveRun,
  sanitizeId,
  SCHEDULE_LOCAL_TIME,
  type ResolveContext,
} from '../../core/run-plan';

const ctx = (over: Partial<ResolveContext> = {}): ResolveContext => ({
  executionName: 'exec-1',
  startTime: '2024-06-15T02:00:00.000Z',
  timeZone: 'UTC',
  ...over,
});

/** Calls resolveRun and returns the INVALID_RUN_INPUT error it must throw. */
function invalid(input: unknown, context: ResolveContext = ctx()): PipelineError {
  try {
    resolveRun(input, context);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).name).toBe('INVALID_RUN_INPUT');
    expect((error as PipelineError).code).toBe('INVALID_RUN_INPUT');
    return error as PipelineError;
  }
  throw new Error(`resolveRun accepted ${JSON.stringify(input)}`);
}

const datesOf = (input: unknown, context: ResolveContext = ctx()): string[] => resolveRun(input, context).dates;

describe('resolveRun: {date}', () => {
  test('one date, run id = <date>_<execution>', () => {
    expect(resolveRun({ date: '2024-01-16' }, ctx())).toEqual({
      execution_id: 'exec-1',
      dates: ['2024-01-16'],
      run_ids: ['2024-01-16_exec-1'],
      count: 1,
      index: 0,
    });
  });

  test('leap days and month ends are valid dates', () => {
    for (const d of [
      '2024-02-29',
      '2000-02-29',
      '2023-02-28',
      '2024-04-30',
      '2024-12-31',
      '2023-01-31',
      '1999-12-31',
    ]) {
      expect(datesOf({ date: d })).toEqual([d]);
    }
  });

  test.each([
    '2024-02-30',
    '2023-02-29',
    '1900-02-29',
    '2100-02-29',
    '2024-04-31',
    '2024-06-31',
    '2024-13-01',
    '2024-00-10',
    '2024-01-00',
    '2024-01-32',
    '2024-1-16',
    '2024-01-16T00:00:00Z',
    ' 2024-01-16',
    '2024-01-16 ',
    '20240116',
    '',
  ])('rejects %p', (d) => {
    const error = invalid({ date: d });
    expect(error.message).toMatch(/^run input must be \{"date": D\}, \{"from": D1, "to": D2\} or a schedule tick: /);
  });

  test('rejects non-string dates and extra keys', () => {
    invalid({ date: 20240116 });
    invalid({ date: null });
    invalid({ date: '2024-01-16', extra: 1 });
    invalid({ date: '2024-01-16', from: '2024-01-16' });
    invalid({ date: '2024-01-16', scheduled_time: '2024-01-16T01:00:00Z' });
  });
});

describe('resolveRun: {from, to}', () => {
  test('inclusive, ascending, one run id per date', () => {
    expect(resolveRun({ from: '2024-01-30', to: '2024-02-02' }, ctx({ executionName: 'bf' }))).toEqual({
      execution_id: 'bf',
      dates: ['2024-01-30', '2024-01-31', '2024-02-01', '2024-02-02'],
      run_ids: ['2024-01-30_bf', '2024-01-31_bf', '2024-02-01_bf', '2024-02-02_bf'],
      count: 4,
      index: 0,
    });
  });

  test('from = to is one date', () => {
    expect(datesOf({ from: '2024-03-10', to: '2024-03-10' })).toEqual(['2024-03-10']);
  });

  test('leap year February and year ends', () => {
    expect(datesOf({ from: '2024-02-27', to: '2024-03-01' })).toEqual([
      '2024-02-27',
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
    ]);
    expect(datesOf({ from: '2023-02-27', to: '2023-03-01' })).toEqual(['2023-02-27', '2023-02-28', '2023-03-01']);
    expect(datesOf({ from: '2023-12-30', to: '2024-01-02' })).toEqual([
      '2023-12-30',
      '2023-12-31',
      '2024-01-01',
      '2024-01-02',
    ]);
    expect(datesOf({ from: '2024-01-01', to: '2024-12-31' })).toHaveLength(366);
    expect(datesOf({ from: '2023-01-01', to: '2023-12-31' })).toHaveLength(365);
  });

  test('a range across a DST change has every calendar day once', () => {
    expect(datesOf({ from: '2024-03-30', to: '2024-04-01' }, ctx({ timeZone: 'Europe/Zurich' }))).toEqual([
      '2024-03-30',
      '2024-03-31',
      '2024-04-01',
    ]);
    expect(datesOf({ from: '2024-10-26', to: '2024-10-28' }, ctx({ timeZone: 'Europe/Zurich' }))).toEqual([
      '2024-10-26',
      '2024-10-27',
      '2024-10-28',
    ]);
  });

  test('from after to is refused with a clear message', () => {
    expect(invalid({ from: '2024-01-02', to: '2024-01-01' }).message).toBe(
      '"from" (2024-01-02) is after "to" (2024-01-01)',
    );
    expect(invalid({ from: '2025-01-01', to: '2024-12-31' }).message).toBe(
      '"from" (2025-01-01) is after "to" (2024-12-31)',
    );
  });

  test('bad dates, missing ends and extra keys are refused', () => {
    invalid({ from: '2024-02-28', to: '2024-02-30' });
    invalid({ from: '2023-02-29', to: '2023-03-01' });
    invalid({ from: '2024-01-01' });
    invalid({ to: '2024-01-01' });
    invalid({ from: '2024-01-01', to: '2024-01-02', date: '2024-01-01' });
    invalid({ from: '2024-01-01', to: '2024-01-02', dryRun: true });
  });

  test(`at most ${MAX_DATES_PER_RUN} dates`, () => {
    const from = '2010-01-01';
    const lastOk = addDays(from, MAX_DATES_PER_RUN - 1);
    const r = resolveRun({ from, to: lastOk }, ctx());
    expect(r.count).toBe(MAX_DATES_PER_RUN);
    expect(r.dates[0]).toBe(from);
    expect(r.dates[MAX_DATES_PER_RUN - 1]).toBe(lastOk);
    expect(invalid({ from, to: addDays(from, MAX_DATES_PER_RUN) }).message).toBe(
      `a run covers at most ${MAX_DATES_PER_RUN} dates`,
    );
  });

  test('property: the range is every calendar date from..to, strictly ascending, consecutive', () => {
    const day = fc.integer({ min: Date.UTC(1999, 0, 1) / 864e5, max: Date.UTC(2031, 0, 1) / 864e5 });
    fc.assert(
      fc.property(day, fc.integer({ min: 0, max: 800 }), (start, len) => {
        const from = new Date(start * 864e5).toISOString().slice(0, 10);
        const to = new Date((start + len) * 864e5).toISOString().slice(0, 10);
        const r = resolveRun({ from, to }, ctx());
        const expected = Array.from({ length: len + 1 }, (_, i) =>
          new Date((start + i) * 864e5).toISOString().slice(0, 10),
        );
        expect(r.count).toBe(len + 1);
        expect(r.dates).toEqual(expected);
        expect(r.run_ids).toEqual(expected.map((d) => `${d}_exec-1`));
        expect(r.dates.every(isCalendarDate)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('resolveRun: schedule tick and empty input (previous day in the schedule zone)', () => {
  const zurich = ctx({ timeZone: 'Europe/Zurich' });
  const tick = (t: string, c: ResolveContext = zurich) => datesOf({ scheduled_time: t }, c);

  test('the 02:00 Zurich tick in winter (01:00Z) and summer (00:00Z)', () => {
    expect(tick('2024-01-16T01:00:00Z')).toEqual(['2024-01-15']);
    expect(tick('2024-07-16T00:00:00Z')).toEqual(['2024-07-15']);
  });

  test('around midnight UTC the Zurich date differs from the UTC date', () => {
    // 23:30Z is already the next day in Zurich (00:30 CET): the previous Zurich day is the UTC day.
    expect(tick('2024-01-15T23:30:00Z')).toEqual(['2024-01-15']);
    expect(tick('2024-01-15T23:30:00Z', ctx({ timeZone: 'UTC' }))).toEqual(['2024-01-14']);
    // 22:59:59Z is 23:59:59 CET: still the 15th in Zurich.
    expect(tick('2024-01-15T22:59:59Z')).toEqual(['2024-01-14']);
    expect(tick('2024-01-15T23:00:00Z')).toEqual(['2024-01-15']);
    // In summer (CEST, +2) the Zurich day starts at 22:00Z.
    expect(tick('2024-07-15T21:59:59Z')).toEqual(['2024-07-14']);
    expect(tick('2024-07-15T22:00:00Z')).toEqual(['2024-07-15']);
    expect(tick('2024-07-16T00:00:00Z')).toEqual(['2024-07-15']);
  });

  test('DST changes: spring forward (2024-03-31) and fall back (2024-10-27)', () => {
    // 02:00 does not exist on 2024-03-31 in Zurich (EventBridge Scheduler skips that tick); a
    // start on the 31st still means the 30th.
    expect(tick('2024-03-31T01:00:00Z')).toEqual(['2024-03-30']);
    expect(tick('2024-03-30T23:00:00Z')).toEqual(['2024-03-30']); // 00:00 CET on the 31st
    expect(tick('2024-03-31T21:59:59Z')).toEqual(['2024-03-30']); // 23:59:59 CEST on the 31st
    // On 1 April the 31st is due, and the 30th too: its 02:00 tick did not exist.
    expect(tick('2024-03-31T22:00:00Z')).toEqual(['2024-03-30', '2024-03-31']); // 00:00 CEST on 1 April
    // 02:00 happens twice on 2024-10-27 (00:00Z CEST and 01:00Z CET): both are the 27th.
    expect(tick('2024-10-27T00:00:00Z')).toEqual(['2024-10-26']);
    expect(tick('2024-10-27T01:00:00Z')).toEqual(['2024-10-26']);
    expect(tick('2024-10-26T21:59:59Z')).toEqual(['2024-10-25']);
    expect(tick('2024-10-26T22:00:00Z')).toEqual(['2024-10-26']); // 00:00 CEST on the 27th
    expect(tick('2024-10-27T22:59:59Z')).toEqual(['2024-10-26']); // 23:59:59 CET on the 27th
    expect(tick('2024-10-27T23:00:00Z')).toEqual(['2024-10-27']);
  });

  test('month, year and leap-day boundaries', () => {
    expect(tick('2024-03-01T01:00:00Z')).toEqual(['2024-02-29']);
    expect(tick('2023-03-01T01:00:00Z')).toEqual(['2023-02-28']);
    expect(tick('2024-01-01T01:00:00Z')).toEqual(['2023-12-31']);
    expect(tick('2023-12-31T23:30:00Z')).toEqual(['2023-12-31']); // already 1 January in Zurich
    expect(tick('2024-05-01T00:00:00Z')).toEqual(['2024-04-30']);
  });

  test('offsets in the tick are honoured', () => {
    expect(tick('2024-01-16T02:00:00+01:00')).toEqual(['2024-01-15']);
    expect(tick('2024-01-16T00:30:00+01:00')).toEqual(['2024-01-15']); // = 23:30Z on the 15th
    expect(tick('2024-01-15T20:00:00-05:00')).toEqual(['2024-01-15']); // = 01:00Z on the 16th
    expect(tick('2024-01-16T01:00:00.123Z')).toEqual(['2024-01-15']);
  });

  test('a tick gives one date and its run id', () => {
    expect(resolveRun({ scheduled_time: '2024-01-16T01:00:00Z' }, zurich)).toEqual({
      execution_id: 'exec-1',
      dates: ['2024-01-15'],
      run_ids: ['2024-01-15_exec-1'],
      count: 1,
      index: 0,
    });
  });

  test('bad ticks are refused', () => {
    invalid({ scheduled_time: '2024-01-16' });
    invalid({ scheduled_time: '2024-01-16T01:00:00' }); // no offset
    invalid({ scheduled_time: 'yesterday' });
    invalid({ scheduled_time: 1705366800000 });
    invalid({ scheduled_time: '2024-01-16T01:00:00Z', date: '2024-01-15' });
    invalid({ scheduled_time: '2024-01-16T01:00:00Z', extra: true });
  });

  test('{}, null and undefined use the execution start time', () => {
    const c = ctx({ timeZone: 'Europe/Zurich', startTime: '2024-07-15T22:30:00.000Z' });
    expect(datesOf({}, c)).toEqual(['2024-07-15']);
    expect(datesOf(null, c)).toEqual(['2024-07-15']);
    expect(datesOf(undefined, c)).toEqual(['2024-07-15']);
    expect(datesOf({}, { ...c, timeZone: 'UTC' })).toEqual(['2024-07-14']);
  });

  test('non-object inputs are refused', () => {
    for (const input of ['2024-01-16', 42, [], ['2024-01-16'], true]) invalid(input);
  });
});

describe('helpers', () => {
  test('dateInZone', () => {
    expect(dateInZone(new Date('2024-01-15T23:30:00Z'), 'Europe/Zurich')).toBe('2024-01-16');
    expect(dateInZone(new Date('2024-01-15T23:30:00Z'), 'UTC')).toBe('2024-01-15');
    expect(dateInZone(new Date('2024-01-16T04:00:00Z'), 'America/New_York')).toBe('2024-01-15');
    expect(dateInZone(new Date('2024-01-15T12:00:00Z'), 'Pacific/Kiritimati')).toBe('2024-01-16');
  });

  test('addDays and dateRange', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2023-03-01', -1)).toBe('2023-02-28');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(dateRange('2024-01-02', '2024-01-01')).toEqual([]);
  });

  test('sanitizeId keeps a safe alphabet and at most 80 characters', () => {
    expect(sanitizeId('run:2024/01 16.x_y-Z')).toBe('run-2024-01-16-x_y-Z');
    expect(sanitizeId('a'.repeat(100))).toBe('a'.repeat(80));
    expect(resolveRun({ date: '2024-01-16' }, ctx({ executionName: 'my exec/1' })).run_ids).toEqual([
      '2024-01-16_my-exec-1',
    ]);
  });
});

describe('the execution plan: monthly batches', () => {
  test('a backfill becomes one batch per calendar month, in order, every date once', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }),
        fc.integer({ min: 0, max: MAX_DATES_PER_RUN - 1 }),
        (start, span) => {
          const from = start.toISOString().slice(0, 10);
          const run = resolveRun({ from, to: addDays(from, span) }, ctx());
          const plan = executionPlan(run);
          expect(plan.batches.flat()).toEqual(run.dates);
          expect(plan.count).toBe(plan.batches.length);
          for (const batch of plan.batches) {
            expect(batch.length).toBeLessThanOrEqual(31);
            expect(new Set(batch.map((d) => d.slice(0, 7))).size).toBe(1);
          }
          const months = plan.batches.map((b) => b[0].slice(0, 7));
          expect(new Set(months).size).toBe(months.length);
        },
      ),
      { numRuns: 50 },
    );
  });

  test('ten years of dates are 120 batches, a payload far below 256 KB', () => {
    const plan = executionPlan(resolveRun({ from: '2015-01-01', to: '2024-12-31' }, ctx()));
    expect(plan.count).toBe(120);
    expect(Buffer.byteLength(JSON.stringify(plan))).toBeLessThan(64 * 1024);
  });

  test('a batch run skips the finished dates; its run ids are the entry execution’s', () => {
    const batch = { execution_id: 'bf', lease_holder: 'arn:bf', dates: ['2024-01-30', '2024-01-31'] };
    expect(batchRun(batch, new Set(['2024-01-30']))).toEqual({
      execution_id: 'bf',
      lease_holder: 'arn:bf',
      dates: ['2024-01-31'],
      run_ids: ['2024-01-31_bf'],
      count: 1,
      index: 0,
    });
  });
});

describe('the nightly schedule across daylight-saving changes', () => {
  const tick = (iso: string) => ({ scheduled_time: iso });
  const zurich = ctx({ timeZone: 'Europe/Zurich' });

  test('02:00 does not exist on the last Sunday of March in Zurich: the next night also runs the skipped date', () => {
    expect(localTimeExists('2024-03-31', 2, 0, 'Europe/Zurich')).toBe(false);
    expect(localTimeExists('2024-03-30', 2, 0, 'Europe/Zurich')).toBe(true);
    // Monday 2024-04-01 02:00 CEST: Sunday's tick was skipped, so Saturday comes too.
    expect(resolveRun(tick('2024-04-01T00:00:00Z'), zurich).dates).toEqual(['2024-03-30', '2024-03-31']);
    // The nights around it process their previous day only.
    expect(resolveRun(tick('2024-03-30T01:00:00Z'), zurich).dates).toEqual(['2024-03-29']);
    expect(resolveRun(tick('2024-04-02T00:00:00Z'), zurich).dates).toEqual(['2024-04-01']);
    expect(inputDates(tick('2024-04-01T00:00:00Z'), undefined, 'Europe/Zurich')).toEqual({
      from: '2024-03-30',
      to: '2024-03-31',
    });
  });

  test('02:00 happens twice in October (one tick) and every day exists in UTC: one date per night', () => {
    expect(localTimeExists('2024-10-27', 2, 0, 'Europe/Zurich')).toBe(true);
    expect(resolveRun(tick('2024-10-28T01:00:00Z'), zurich).dates).toEqual(['2024-10-27']);
    expect(resolveRun(tick('2024-03-11T02:00:00Z'), ctx()).dates).toEqual(['2024-03-10']);
  });

  test('over a year of nights in a zone with DST, every date is processed exactly once', () => {
    for (const timeZone of ['Europe/Zurich', 'America/New_York', 'Australia/Sydney', 'UTC']) {
      const local = new Intl.DateTimeFormat('sv-SE', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      });
      const processed: string[] = [];
      for (let day = '2024-01-02'; day <= '2025-01-01'; day = addDays(day, 1)) {
        // The scheduler's tick: the instant that reads 02:00 on `day` (none when DST skips it).
        const wanted = `${day} 02:00`;
        const base = Date.parse(`${day}T02:00:00Z`);
        let tickAt: Date | undefined;
        for (let hours = -14; hours <= 14 && !tickAt; hours++) {
          const candidate = new Date(base - hours * 3_600_000);
          if (local.format(candidate) === wanted) tickAt = candidate;
        }
        expect(tickAt === undefined).toBe(
          !localTimeExists(day, SCHEDULE_LOCAL_TIME.hour, SCHEDULE_LOCAL_TIME.minute, timeZone),
        );
        if (tickAt) processed.push(...resolveRun({ scheduled_time: tickAt.toISOString() }, ctx({ timeZone })).dates);
      }
      expect(processed).toEqual(dateRange('2024-01-01', '2024-12-31'));
    }
  });
});
