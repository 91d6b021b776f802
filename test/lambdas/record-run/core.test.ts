import { publish } from '../../../lambdas/publish/core';
import { publishGold } from '../../../lambdas/publish-gold/core';
import { failureCode } from '../../../core/run-record';
import { recordRun, type RecordEvent } from '../../../lambdas/record-run/core';
import { recoverPendingJournals, rollbackRun } from '../../../lambdas/shared/journal';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { BUCKETS, storeLakePerTest, tempStoreLake } from '../../helpers/lake';
import { contents, publishedObjects } from '../../helpers/lake-state';
import {
  copyLake,
  crashes,
  mutationsOf,
  rejectionsJson,
  seed,
  stage,
  stageAndPublish,
} from '../../helpers/staged-runs';

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
        })}\n`,
        [`runs/${RUN}x/keep.parquet`]: 'other run',
        'run-records/older/2024-01-15.json': 'older',
        'athena/results/q1.csv': 'account_id,currency,month,balance\nc1,EUR,2024-01,10.00\n',
      },
    });
  }

  test('SUCCEEDED: SPEC §5 record, staging of the run cleared, report copied to gold', async () => {
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
      goldBucket: 'gold',
      reportQuarter: '2024-Q1',
    });
    const expected = { ingest_date: DATE, run_id: RUN, status: 'SUCCEEDED', ...gate };
    expect(out.record).toEqual(expected);
    expect(Object.keys(out.record)).toEqual(['ingest_date', 'run_id', 'status', 'files', 'rows', 'reasons']);
    expect(await contents(lake.store, 'staging')).toEqual({
      [`runs/${RUN}x/keep.parquet`]: 'other run',
      'run-records/older/2024-01-15.json': 'older',
      [`run-records/exec1/${DATE}.json`]: JSON.stringify(expected, null, 2),
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
      { store: lake.store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    const expected = {
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
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.record).toEqual({
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
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.record).toEqual({
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
      { store: lake.store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' },
    );
    expect(out.record).toEqual({
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

  describe("the date's publishes: committed when it succeeds, rolled back when it fails", () => {
    const D = '2024-03-05';
    const R1 = `${D}_e1`;
    const R2 = `${D}_e2`;
    async function publishedRun(): Promise<{ before: Record<string, string>; after: Record<string, string> }> {
      await stageAndPublish(lake.store, D, R1, {
        silver: { '2024-01': ['old-jan'], '2024-02': ['old-feb'] },
        quarantine: ['old-q'],
        rejected: { 'r.csv': 'old-r' },
      });
      await seed(lake.store, {
        gold: {
          'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-01',
          'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-02',
          'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report',
        },
      });
      const before = await publishedObjects(lake.store);
      await stage(lake.store, D, R2, {
        silver: { '2024-02': ['new-feb'] },
        condemned: ['new-c'],
        rejected: { 'r.csv': 'new-r' },
      });
      const result = await publish({ ingestDate: D, runId: R2 }, { store: lake.store, buckets: BUCKETS });
      expect(result.from_month).toBe('2024-01');
      await seed(lake.store, { staging: { 'gold-refresh/year=2024/month=02/20240701_q_1': 'g-new-02' } });
      await publishGold({ runId: R2, fromMonth: result.from_month! }, { store: lake.store, buckets: BUCKETS });
      const after = await publishedObjects(lake.store);
      expect(after).toEqual({
        [`condemned/transactions/ingest_date=${D}/${R2}_00000.parquet`]: 'new-c',
        [`gold/monthly_balances/year=2024/month=02/${R2}_00000.parquet`]: 'g-new-02',
        // the report is replaced by record-run, with the date's commit
        'gold/reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report',
        [`quarantine/file_rejections/ingest_date=${D}/rejections.json`]: rejectionsJson(D, R2, ['r.csv']),
        [`quarantine/files/ingest_date=${D}/r.csv`]: 'new-r',
        [`silver/transactions/year=2024/month=02/${D}_${R2}_00000.parquet`]: 'new-feb',
      });
      return { before, after };
    }
    const event = (status: 'SUCCEEDED' | 'FAILED' | 'NO_DATA'): RecordEvent => ({
      status,
      execution_id: 'e2',
      current: {
        ingest_date: D,
        run_id: R2,
        ...(status === 'FAILED' ? { error: { Error: 'REPORT_FAILED', Cause: 'x' } } : {}),
      },
    });

    test('FAILED after publish and publishGold: silver, quarantine, condemned and gold exactly as before', async () => {
      const { before } = await publishedRun();
      await recordRun(event('FAILED'), { store: lake.store, stagingBucket: 'staging' });
      expect(await publishedObjects(lake.store)).toEqual(before);
      expect(await lake.store.list('staging', 'journal/')).toEqual([]);
      expect(await lake.store.list('staging', `runs/${R2}/`)).toEqual([]);
      expect(await recoverPendingJournals(lake.store, 'staging')).toEqual([]);
      expect(await publishedObjects(lake.store)).toEqual(before);
    });

    test.each(['SUCCEEDED', 'NO_DATA'] as const)(
      '%s: the after state is final (a later rollback changes nothing)',
      async (status) => {
        const { after } = await publishedRun();
        await recordRun(event(status), { store: lake.store, stagingBucket: 'staging' });
        expect(await publishedObjects(lake.store)).toEqual(after);
        expect(await lake.store.list('staging', 'journal/')).toEqual([]);
        expect(await lake.store.list('staging', `runs/${R2}/`)).toEqual([]);
        expect(await rollbackRun(lake.store, 'staging', R2)).toEqual([]);
        expect(await recoverPendingJournals(lake.store, 'staging')).toEqual([]);
        expect(await publishedObjects(lake.store)).toEqual(after);
      },
    );

    test('SUCCEEDED with a report: the report is replaced with the commit; a crash before it rolls back with gold', async () => {
      const { before, after } = await publishedRun();
      await seed(lake.store, { staging: { 'athena/results/q.csv': 'new-report' } });
      const succeeded: RecordEvent = {
        ...event('SUCCEEDED'),
        current: { ...event('SUCCEEDED').current, report: { output_location: 's3://staging/athena/results/q.csv' } },
      };
      const record = (store: ObjectStore) =>
        recordRun(succeeded, { store, stagingBucket: 'staging', goldBucket: 'gold', reportQuarter: '2024-Q1' });
      const committed = {
        ...after,
        'gold/reports/balance_history/quarter=2024-Q1/balance_history.csv': 'new-report',
      };
      const log = await mutationsOf(lake.store, record);
      const outcomes = new Set<string>();
      for (let k = 1; k <= log.length; k++) {
        const probe = tempStoreLake();
        try {
          await copyLake(lake.store, probe.store);
          // (a crash in the clean-up after the commit point is swallowed: the run is committed)
          await crashes(record, probe.store, k);
          // what the next execution does with a dead run's journals: roll them back
          await recoverPendingJournals(probe.store, 'staging');
          const state = await publishedObjects(probe.store);
          if (JSON.stringify(state) === JSON.stringify(before)) outcomes.add('before');
          else {
            expect(state).toEqual(committed);
            outcomes.add('after');
          }
        } finally {
          probe.cleanup();
        }
      }
      expect([...outcomes].sort()).toEqual(['after', 'before']);
      await record(lake.store);
      expect(await publishedObjects(lake.store)).toEqual(committed);
      // a retried record-run (the Lambda's response was lost) keeps the same state
      await record(lake.store);
      expect(await publishedObjects(lake.store)).toEqual(committed);
    });

    test('REGRESSION (bug 2): a crashed publish recorded FAILED is rolled back; later runs do not fail', async () => {
      await stageAndPublish(lake.store, D, R1, { silver: { '2024-01': ['old-jan'] }, rejected: { 'r.csv': 'old-r' } });
      const before = await publishedObjects(lake.store);
      await stage(lake.store, D, R2, { silver: { '2024-01': ['new-jan'], '2024-02': ['new-feb'] } });
      const run = (store: ObjectStore) => publish({ ingestDate: D, runId: R2 }, { store, buckets: BUCKETS });
      // publish dies (timeout / Lambda crash) after writing its journal and the first copy
      const log = await mutationsOf(lake.store, run);
      const k = log.findIndex((op) => op.startsWith('copy ') && op.includes('-> silver/')) + 1;
      expect(k).toBeGreaterThan(1);
      expect(await crashes(run, lake.store, k)).toBe(true);
      expect(await publishedObjects(lake.store)).not.toEqual(before);
      // the state machine catches the failure and records the date
      const out = await recordRun(
        {
          status: 'FAILED',
          execution_id: 'e2',
          current: { ingest_date: D, run_id: R2, error: { Error: 'Lambda.Unknown', Cause: 'timeout' } },
        },
        { store: lake.store, stagingBucket: 'staging' },
      );
      expect(out.record.error).toBe('PIPELINE_FAILED');
      expect(await publishedObjects(lake.store)).toEqual(before);
      // the next execution's resolve-run finds nothing to recover, and the next run of the date succeeds
      await expect(recoverPendingJournals(lake.store, 'staging')).resolves.toEqual([]);
      const R3 = `${D}_e3`;
      const result = await stageAndPublish(lake.store, D, R3, { silver: { '2024-02': ['n3'] } });
      expect(result.from_month).toBe('2024-01');
      expect(await publishedObjects(lake.store)).toEqual({
        [`silver/transactions/year=2024/month=02/${D}_${R3}_00000.parquet`]: 'n3',
      });
    });
  });

  test('the subject is cut to 99 characters', async () => {
    const out = await recordRun(
      {
        status: 'FAILED',
        execution_id: 'e',
        current: { ingest_date: DATE, run_id: RUN, error: { Error: `X${'_LONG'.repeat(40)}` } },
      },
      { store: lake.store, stagingBucket: 'staging' },
    );
    expect(out.notification.subject).toHaveLength(99);
    expect(out.notification.subject.startsWith(`txlake FAILED ${DATE} X_LONG`)).toBe(true);
  });
});
