import { runRecordKey } from '../../../core/lake-layout';
import { failureCode, runRecordSchema } from '../../../core/run-record';
import { buildStatusReport, type StoredRunRecord } from '../../../core/status-report';
import { renderStatusHtml, renderStatusMarkdown } from '../../../core/status-report-render';
import { recordRun, type RecordEvent } from '../../../lambdas/record-run/core';
import { handle } from '../../../lambdas/record-run/handler';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { storeLakePerTest } from '../../helpers/lake';
import { contents } from '../../helpers/lake-state';
import { scenarioRecords } from '../../helpers/status-records';

/** RecordRun's clock in these tests: the record's recorded_at. */
const CLOCK = (): Date => new Date('2024-01-17T02:05:00Z');
const RECORDED_AT = '2024-01-17T02:05:00.000Z';

async function seed(store: ObjectStore, files: Record<string, Record<string, string>>): Promise<void> {
  for (const [bucket, objects] of Object.entries(files)) {
    for (const [key, value] of Object.entries(objects)) await store.put(bucket, key, value);
  }
}

const lake = storeLakePerTest();

describe('failureCode', () => {
  test('maps step errors to codes', () => {
    expect(failureCode(undefined)).toEqual({ code: 'PIPELINE_FAILED', detail: 'unknown failure' });
    expect(
      failureCode({
        Error: 'QUALITY_GATE_FAILED',
        Cause: JSON.stringify({
          errorType: 'QUALITY_GATE_FAILED',
          errorMessage: '2 of 10 rows quarantined',
          trace: [],
        }),
      }),
    ).toEqual({ code: 'QUALITY_GATE_FAILED', detail: '2 of 10 rows quarantined' });
    expect(failureCode({ Error: 'RECONCILIATION_FAILED', Cause: 'plain text' })).toEqual({
      code: 'RECONCILIATION_FAILED',
      detail: 'plain text',
    });
    expect(failureCode({ Error: 'INVALID_RUN_INPUT' })).toEqual({ code: 'INVALID_RUN_INPUT', detail: '' });
    expect(failureCode({ Error: 'States.TaskFailed', Cause: 'boom' })).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'States.TaskFailed: boom',
    });
    expect(
      failureCode({ Error: 'Error', Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'ENOENT x' }) }),
    ).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'Error: ENOENT x',
    });
    expect(failureCode({ Error: 'Lambda.ServiceException', Cause: '{"errorMessage":' })).toEqual({
      code: 'PIPELINE_FAILED',
      detail: 'Lambda.ServiceException: {"errorMessage":',
    });
    // A JSON cause without errorMessage is kept whole.
    expect(failureCode({ Error: 'GLUE_FAILED', Cause: '{"JobRunState":"FAILED"}' })).toEqual({
      code: 'GLUE_FAILED',
      detail: '{"JobRunState":"FAILED"}',
    });
  });
});

describe('recordRun', () => {
  const DATE = '2024-01-16';
  const RUN = `${DATE}_exec1`;
  const gate = {
    files: { accepted: 1, rejected: 1 },
    rows: { read: 100, silver: 95, quarantined: 3, condemned: 2 },
    reasons: { INVALID_CURRENCY: 1, DUPLICATE_ROW: 2, MISSING_HEADER: 1 },
  };
  const landingOut = { files_total: 2, accepted: 1, rejected: 1, records: 100, reasons: { MISSING_HEADER: 1 } };

  async function seedRun(): Promise<void> {
    await seed(lake.store, {
      staging: {
        [`runs/${RUN}/landing.json`]: '{}',
        [`runs/${RUN}/silver/year=2024/month=01/part-0.parquet`]: 's',
        [`runs/${RUN}/counts/part-00000.json`]: `${JSON.stringify({
          read: 100,
          silver: 90,
          quarantined: 8,
          condemned: 2,
          reasons: { INVALID_AMOUNT: 8, MISSING_HEADER: 2 },
          read_by_file: { 'a.csv': 100 },
          silver_months: ['2024-01'],
          replaced_silver_months: [],
          latest_silver_month: null,
        })}\n`,
        [`runs/${RUN}/published.json`]: JSON.stringify({
          run_id: RUN,
          ingest_date: DATE,
          tables: {
            silver_transactions: { before: '11', after: '12' },
            quarantine_transactions: { before: '21', after: '9223372036854775807' },
            condemned_transactions: { before: '31', after: '31' },
            gold_monthly_balances: { before: null, after: '41' },
          },
        }),
        [`runs/${RUN}x/keep.parquet`]: 'other run',
        'run-records/older/2024-01-15.json': 'older',
        'athena/results/q1.csv': 'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
      },
    });
  }

  test('SUCCEEDED: SPEC §5 record with the snapshots after publish, staging of the run cleared, report copied to gold', async () => {
    await seedRun();
    const event: RecordEvent = {
      status: 'SUCCEEDED',
      execution_id: 'exec1',
      current: {
        ingest_date: DATE,
        run_id: RUN,
        landing: landingOut,
        gate,
        report: { output_location: 's3://staging/athena/results/q1.csv' },
      },
    };
    const out = await recordRun(event, {
      store: lake.store,
      stagingBucket: 'staging',
      now: CLOCK,
      goldBucket: 'gold',
      reportQuarter: '2024-Q1',
    });
    const expected = {
      recorded_at: RECORDED_AT,
      ingest_date: DATE,
      run_id: RUN,
      status: 'SUCCEEDED',
      ...gate,
      snapshots: {
        condemned_transactions: '31',
        gold_monthly_balances: '41',
        quarantine_transactions: '9223372036854775807',
        silver_transactions: '12',
      },
    };
    expect(out.record).toEqual(expected);
    expect(Object.keys(out.record)).toEqual([
      'ingest_date',
      'run_id',
      'status',
      'files',
      'rows',
      'reasons',
      'snapshots',
      'recorded_at',
    ]);
    expect(runRecordSchema.parse(out.record)).toEqual(expected);
    expect(await contents(lake.store, 'staging')).toEqual({
      [`runs/${RUN}x/keep.parquet`]: 'other run',
      'run-records/older/2024-01-15.json': 'older',
      [`run-records/exec1/${DATE}.json`]: JSON.stringify(out.record, null, 2),
      'athena/results/q1.csv': 'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
    });
    expect(await contents(lake.store, 'gold')).toEqual({
      'reports/balance_history/quarter=2024-Q1/balance_history.csv':
        'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
    });
    expect(out.notification).toEqual({
      subject: `txlake SUCCEEDED ${DATE}`,
      message: [
        `ingest date: ${DATE}`,
        `run id: ${RUN}`,
        'status: SUCCEEDED',
        'files: 1 accepted, 1 rejected',
        'rows: 100 read, 95 silver, 3 quarantined, 2 condemned',
      ].join('\n'),
    });
  });

  test('FAILED after the job: counts come from the job, error code and detail recorded, no report copied', async () => {
    await seedRun();
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: landingOut,
          error: {
            Error: 'QUALITY_GATE_FAILED',
            Cause: JSON.stringify({ errorType: 'QUALITY_GATE_FAILED', errorMessage: '8 of 100 rows quarantined' }),
          },
          report: { output_location: 's3://staging/athena/results/q1.csv' },
        },
      },
      { store: lake.store, stagingBucket: 'staging', now: CLOCK, goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    const expected = {
      recorded_at: RECORDED_AT,
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 1, rejected: 1 },
      rows: { read: 100, silver: 90, quarantined: 8, condemned: 2 },
      reasons: { INVALID_AMOUNT: 8, MISSING_HEADER: 3 },
      error: 'QUALITY_GATE_FAILED',
      error_detail: '8 of 100 rows quarantined',
    };
    expect(out.record).toEqual(expected);
    expect(JSON.parse((await lake.store.getText('staging', `run-records/exec1/${DATE}.json`))!)).toEqual(expected);
    expect(await lake.store.list('staging', `runs/${RUN}/`)).toEqual([]);
    expect(await contents(lake.store, 'gold')).toEqual({});
    expect(out.notification.subject).toBe(`txlake FAILED ${DATE} QUALITY_GATE_FAILED`);
    expect(out.notification.message).toBe(
      [
        `ingest date: ${DATE}`,
        `run id: ${RUN}`,
        'status: FAILED (QUALITY_GATE_FAILED)',
        'detail: 8 of 100 rows quarantined',
        'files: 1 accepted, 1 rejected',
        'rows: 100 read, 90 silver, 8 quarantined, 2 condemned',
      ].join('\n'),
    );
  });

  test('FAILED before the job: landing counts only; unknown step error is PIPELINE_FAILED', async () => {
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: landingOut,
          error: { Error: 'States.Timeout', Cause: 'took too long' },
        },
      },
      { store: lake.store, stagingBucket: 'staging', now: CLOCK },
    );
    expect(out.record).toEqual({
      recorded_at: RECORDED_AT,
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 1, rejected: 1 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: { MISSING_HEADER: 1 },
      error: 'PIPELINE_FAILED',
      error_detail: 'States.Timeout: took too long',
    });
  });

  test('FAILED with nothing known (e.g. validate-landing itself failed)', async () => {
    const out = await recordRun(
      { status: 'FAILED', execution_id: 'exec1', current: { ingest_date: DATE, run_id: RUN } },
      { store: lake.store, stagingBucket: 'staging', now: CLOCK },
    );
    expect(out.record).toEqual({
      recorded_at: RECORDED_AT,
      ingest_date: DATE,
      run_id: RUN,
      status: 'FAILED',
      files: { accepted: 0, rejected: 0 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: {},
      error: 'PIPELINE_FAILED',
      error_detail: 'unknown failure',
    });
  });

  test('NO_DATA', async () => {
    const out = await recordRun(
      {
        status: 'NO_DATA',
        execution_id: 'exec1',
        current: {
          ingest_date: DATE,
          run_id: RUN,
          landing: { files_total: 0, accepted: 0, rejected: 0, records: 0, reasons: {} },
        },
      },
      { store: lake.store, stagingBucket: 'staging', now: CLOCK, goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    expect(out.record).toEqual({
      recorded_at: RECORDED_AT,
      ingest_date: DATE,
      run_id: RUN,
      status: 'NO_DATA',
      files: { accepted: 0, rejected: 0 },
      rows: { read: 0, silver: 0, quarantined: 0, condemned: 0 },
      reasons: {},
    });
    expect(await contents(lake.store, 'staging')).toEqual({
      [`run-records/exec1/${DATE}.json`]: JSON.stringify(out.record, null, 2),
    });
    expect(out.notification.subject).toBe(`txlake NO_DATA ${DATE}`);
  });

  describe('snapshots: from the publish result of a succeeded date', () => {
    const succeeded: RecordEvent = {
      status: 'SUCCEEDED',
      execution_id: 'exec1',
      current: { ingest_date: DATE, run_id: RUN, landing: landingOut, gate },
    };
    const deps = () => ({ store: lake.store, stagingBucket: 'staging', now: CLOCK });
    const result = (tables: Record<string, { before?: string | null; after?: string }>, runId = RUN) =>
      JSON.stringify({ run_id: runId, ingest_date: DATE, tables });

    test('a retried step (staging already cleared) records the same snapshots', async () => {
      await seedRun();
      const first = await recordRun(succeeded, deps());
      expect(await lake.store.list('staging', `runs/${RUN}/`)).toEqual([]);
      const again = await recordRun(succeeded, deps());
      expect(again.record).toEqual(first.record);
      expect(again.record.snapshots).toMatchObject({ silver_transactions: '12' });
      expect(JSON.parse((await lake.store.getText('staging', `run-records/exec1/${DATE}.json`))!)).toEqual(
        first.record,
      );
    });

    test('no publish result: the step fails and writes nothing (the tables were not published)', async () => {
      await expect(recordRun(succeeded, deps())).rejects.toThrow(
        `run ${RUN} succeeded without a publish result (runs/${RUN}/published.json)`,
      );
      expect(await contents(lake.store, 'staging')).toEqual({});
    });

    test('an unfinished publish result, or one of another run, fails the step', async () => {
      await seed(lake.store, {
        staging: {
          [`runs/${RUN}/published.json`]: result({
            silver_transactions: { before: '1', after: '2' },
            quarantine_transactions: { before: '3' },
          }),
        },
      });
      await expect(recordRun(succeeded, deps())).rejects.toThrow(
        `the publish of run ${RUN} did not finish: quarantine_transactions has no snapshot after it`,
      );
      await seed(lake.store, {
        staging: { [`runs/${RUN}/published.json`]: result({ silver_transactions: { after: '2' } }, 'other-run') },
      });
      await expect(recordRun(succeeded, deps())).rejects.toThrow(/belongs to run other-run/);
      await seed(lake.store, {
        staging: { [`runs/${RUN}/published.json`]: result({ silver_transactions: { after: '1e3' } }) },
      });
      await expect(recordRun(succeeded, deps())).rejects.toThrow();
      expect(await lake.store.list('staging', 'run-records/')).toEqual([]);
    });

    test.each(['FAILED', 'NO_DATA'] as const)('%s: no snapshots, whatever staging holds', async (status) => {
      await seedRun();
      const out = await recordRun({ ...succeeded, status }, deps());
      expect(out.record.snapshots).toBeUndefined();
      expect(Object.keys(out.record)).not.toContain('snapshots');
    });

    test('the run record schema takes snapshot ids as decimal strings only', () => {
      const record = { ingest_date: DATE, run_id: RUN, status: 'SUCCEEDED', ...gate };
      expect(runRecordSchema.safeParse({ ...record, snapshots: { t: '123' } }).success).toBe(true);
      expect(runRecordSchema.safeParse(record).success).toBe(true);
      expect(runRecordSchema.safeParse({ ...record, snapshots: { t: 123 } }).success).toBe(false);
      expect(runRecordSchema.safeParse({ ...record, snapshots: { t: 'abc' } }).success).toBe(false);
    });
  });

  test("the report replaces the quarter's report objects; a retried step leaves the same", async () => {
    await seedRun();
    await seed(lake.store, {
      gold: {
        'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'old report',
        'reports/balance_history/quarter=2024-Q1/stray.csv': 'stray',
        'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'other quarter',
      },
    });
    const event: RecordEvent = {
      status: 'SUCCEEDED',
      execution_id: 'exec1',
      current: {
        ingest_date: DATE,
        run_id: RUN,
        gate,
        report: { output_location: 's3://staging/athena/results/q1.csv' },
      },
    };
    const deps = {
      store: lake.store,
      stagingBucket: 'staging',
      now: CLOCK,
      goldBucket: 'gold',
      reportQuarter: '2024-Q1',
    };
    await recordRun(event, deps);
    const expected = {
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'other quarter',
      'reports/balance_history/quarter=2024-Q1/balance_history.csv':
        'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
    };
    expect(await contents(lake.store, 'gold')).toEqual(expected);
    await recordRun(event, deps);
    expect(await contents(lake.store, 'gold')).toEqual(expected);
  });

  test('handler: the event is parsed; the staging bucket comes from the environment', async () => {
    await expect(
      handle({ status: 'DONE' }, { store: lake.store, env: { STAGING_BUCKET: 'staging' } }),
    ).rejects.toThrow();
    const out = (await handle(
      { status: 'NO_DATA', execution_id: 'e', current: { ingest_date: DATE, run_id: RUN } },
      { store: lake.store, env: { STAGING_BUCKET: 'staging' } },
    )) as { record: { status: string } };
    expect(out.record.status).toBe('NO_DATA');
  });

  test('the subject is cut to 99 characters', async () => {
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'e',
        current: { ingest_date: DATE, run_id: RUN, error: { Error: `X${'_LONG'.repeat(40)}` } },
      },
      { store: lake.store, stagingBucket: 'staging', now: CLOCK },
    );
    expect(out.notification.subject).toHaveLength(99);
    expect(out.notification.subject.startsWith(`txlake FAILED ${DATE} X_LONG`)).toBe(true);
  });
});

describe('the monthly status report (statusReport settings, gold)', () => {
  const MD = 'reports/status/month=2024-02/status.md';
  const HTML = 'reports/status/month=2024-02/status.html';
  /** The first record of March: 2024-02-29 processed at 02:05 on 1 March (UTC). */
  const FIRST_OF_MARCH = (): Date => new Date('2024-03-01T02:05:00Z');
  const noData = (date: string, execution = 'exec-m'): RecordEvent => ({
    status: 'NO_DATA',
    execution_id: execution,
    current: { ingest_date: date, run_id: `${date}_${execution}` },
  });

  async function seedFebruary(): Promise<StoredRunRecord[]> {
    const records = [
      ...scenarioRecords({ month: '2024-01', timeZone: 'Europe/Zurich', rowsPerDay: 200 }),
      ...scenarioRecords({
        month: '2024-02',
        timeZone: 'Europe/Zurich',
        rowsPerDay: 200,
        failed: ['2024-02-07'],
        missing: ['2024-02-29'],
      }),
    ];
    for (const r of records) {
      await lake.store.put('staging', runRecordKey(r.execution_id, r.record.ingest_date), JSON.stringify(r.record));
    }
    return records;
  }

  test('the first record of a month writes the month before, from every record in staging, once', async () => {
    const records = await seedFebruary();
    const warn = jest.fn();
    const deps = {
      store: lake.store,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      now: FIRST_OF_MARCH,
      statusReport: { timeZone: 'Europe/Zurich', environment: 'prod', warn },
    };
    const out = await recordRun(noData('2024-02-29'), deps);
    const expected = buildStatusReport({
      month: '2024-02',
      timeZone: 'Europe/Zurich',
      records: [...records, { execution_id: 'exec-m', record: out.record }].sort((a, b) =>
        a.execution_id < b.execution_id ? -1 : a.execution_id > b.execution_id ? 1 : 0,
      ),
      generatedAt: FIRST_OF_MARCH(),
      environment: 'prod',
    });
    expect(expected.figures.failed).toBe(1);
    expect(expected.figures.no_data).toBe(1); // the record just written is in it
    const gold = await contents(lake.store, 'gold');
    expect(Object.keys(gold).sort()).toEqual([HTML, MD]);
    expect(gold[MD]).toBe(renderStatusMarkdown(expected));
    expect(gold[HTML]).toBe(await renderStatusHtml(expected));
    expect(gold[HTML]).toContain('<svg ');
    expect(warn).not.toHaveBeenCalled();

    // Later records of the month find it there and leave it.
    await lake.store.put('gold', MD, 'kept');
    await recordRun(noData('2024-03-01'), { ...deps, now: () => new Date('2024-03-02T02:05:00Z') });
    expect(await contents(lake.store, 'gold')).toEqual({ [MD]: 'kept', [HTML]: gold[HTML] });
  });

  test('an unreadable record is named in the report and left out of it', async () => {
    await seedFebruary();
    await lake.store.put('staging', 'run-records/broken/2024-02-10.json', '{"ingest_date":');
    await recordRun(noData('2024-02-29'), {
      store: lake.store,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      now: FIRST_OF_MARCH,
      statusReport: { timeZone: 'Europe/Zurich' },
    });
    const md = (await lake.store.getText('gold', MD)) as string;
    expect(md).toContain('## Unreadable run records');
    expect(md).toContain('- s3://staging/run-records/broken/2024-02-10.json is not JSON');
  });

  test('best effort: a report that cannot be written never fails the record', async () => {
    await seedFebruary();
    const failing: ObjectStore = Object.create(lake.store, {
      put: {
        value: async (bucket: string, key: string, body: string) => {
          if (bucket === 'gold') throw new Error('AccessDenied');
          return lake.store.put(bucket, key, body);
        },
      },
    });
    const warn = jest.fn();
    const out = await recordRun(noData('2024-02-29'), {
      store: failing,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      now: FIRST_OF_MARCH,
      statusReport: { timeZone: 'UTC', warn },
    });
    expect(out.record.status).toBe('NO_DATA');
    expect(await lake.store.getText('staging', runRecordKey('exec-m', '2024-02-29'))).toBe(
      JSON.stringify(out.record, null, 2),
    );
    // The HTML put failed (warned); the Markdown went through putIfAbsent.
    expect(warn).toHaveBeenCalledWith('the status report of 2024-02 has no HTML: AccessDenied');
    expect(Object.keys(await contents(lake.store, 'gold'))).toEqual([MD]);

    const broken: ObjectStore = Object.create(lake.store, {
      list: {
        value: async () => {
          throw new Error('SlowDown');
        },
      },
    });
    await lake.store.delete('gold', [MD]);
    const again = await recordRun(noData('2024-02-29', 'exec-n'), {
      store: broken,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      now: FIRST_OF_MARCH,
      statusReport: { timeZone: 'UTC', warn },
    });
    expect(again.record.status).toBe('NO_DATA');
    expect(warn).toHaveBeenLastCalledWith('the monthly status report was not written: SlowDown');
  });

  test('without statusReport (local runs) or without gold, no report', async () => {
    await seedFebruary();
    await recordRun(noData('2024-02-29'), {
      store: lake.store,
      stagingBucket: 'staging',
      goldBucket: 'gold',
      now: FIRST_OF_MARCH,
    });
    await recordRun(noData('2024-02-28'), {
      store: lake.store,
      stagingBucket: 'staging',
      now: FIRST_OF_MARCH,
      statusReport: { timeZone: 'UTC' },
    });
    expect(await contents(lake.store, 'gold')).toEqual({});
  });
});
