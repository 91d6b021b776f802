import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { runLocal } from '../../../runner/local/local-runner';
import { type CfnTemplate } from '../../../runner/local/template-resolver';
import { readProjectContext } from '../../../core/environments';
import { addTxlakeStacks } from '../../../lib/txlake-app';
import { CASE_STUDY_Q1_HISTORY } from '../../helpers/case-study';
import { ROOT, txlake } from '../../helpers/cli';
import { tempLake } from '../../helpers/lake';

const SAMPLES = path.join(ROOT, 'samples', 'transactions');

describe('the sample quarter through the real local state machine', () => {
  const lake = tempLake();
  let backfill: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    for (const dir of readdirSync(SAMPLES).sort()) {
      for (const file of readdirSync(path.join(SAMPLES, dir))) {
        const landed = await txlake([
          'land',
          path.join(SAMPLES, dir, file),
          '--date',
          dir.replace('ingest_date=', ''),
          '--lake',
          lake,
        ]);
        expect(landed.code).toBe(0);
      }
    }
    backfill = await txlake(['backfill', '--from', '2024-01-16', '--to', '2024-03-15', '--lake', lake, '--json']);
  });

  test('every date succeeds or has no data, and every record is accounted for', () => {
    expect(backfill.code).toBe(0);
    const { runs } = JSON.parse(backfill.stdout) as {
      runs: { ingest_date: string; status: string; rows: Record<string, number>; reasons: Record<string, number> }[];
    };
    expect(runs).toHaveLength(60);
    expect(runs.map((r) => r.ingest_date)).toEqual([...runs.map((r) => r.ingest_date)].sort());
    const withData = runs.filter((r) => r.status !== 'NO_DATA');
    expect(withData.map((r) => [r.ingest_date, r.status])).toEqual([
      ['2024-01-16', 'SUCCEEDED'],
      ['2024-02-15', 'SUCCEEDED'],
      ['2024-03-15', 'SUCCEEDED'],
    ]);
    // January: 40 records, one invalid currency, one exact duplicate.
    expect(withData[0].rows).toEqual({ read: 40, silver: 38, quarantined: 1, condemned: 1 });
    expect(withData[0].reasons).toEqual({ INVALID_CURRENCY: 1, DUPLICATE_ROW: 1 });
    expect(withData[1].reasons).toEqual({ INVALID_TIMESTAMP: 1 });
    expect(withData[2].reasons).toEqual({ MISSING_CUSTOMER_ID: 1 });
    for (const r of runs) expect(r.rows.read).toBe(r.rows.silver + r.rows.quarantined + r.rows.condemned);
    // One progress line per date on stderr (not a TTY), not one per state.
    const progress = backfill.stderr.split('\n').filter((l) => l.startsWith('[txlake] '));
    expect(progress).toHaveLength(60);
    expect(progress[0]).toMatch(
      /^\[txlake\] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 \d+\.\ds$/,
    );
    expect(backfill.stderr).not.toMatch(/TransformRows/);
  });

  test('the 2024-Q1 balance history is the case study’s', async () => {
    const result = await txlake(['balance-history', '--quarter', '2024-Q1', '--lake', lake]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('account_id,currency,month,balance');
    expect(lines.slice(1, 7)).toEqual(CASE_STUDY_Q1_HISTORY);
    // Every (account, currency) pair appears once per month of the quarter.
    expect((lines.length - 1) % 3).toBe(0);
  });

  test('the state machine wrote the quarter’s report to gold/reports', () => {
    const report = path.join(lake, 'gold', 'reports', 'balance_history', 'quarter=2024-Q1', 'balance_history.csv');
    expect(existsSync(report)).toBe(true);
    expect(readFileSync(report, 'utf8')).toContain('"ACC002","EUR","2024-03","-125.50"');
  });
});

describe('local mode runs the ASL synthesized from the CDK code', () => {
  /** Synthesizes the real app; `retryAttempts` reaches PipelineStateMachine as in a deployment. */
  function templates(stepRetryAttempts?: number): CfnTemplate[] {
    const context = readProjectContext(ROOT) as { 'txlake:environments': Record<string, Record<string, unknown>> };
    const environments = structuredClone(context['txlake:environments']);
    if (stepRetryAttempts !== undefined) environments.dev.stepRetryAttempts = stepRetryAttempts;
    const app = new App({
      context: { ...context, 'txlake:environments': environments, 'aws:cdk:bundling-stacks': [] },
    });
    const stacks = addTxlakeStacks(app, 'dev');
    const assembly = app.synth();
    return [stacks.storage, stacks.pipeline].map((s) => assembly.getStackByName(s.stackName).template as CfnTemplate);
  }

  /** The landing check fails once with a transient Lambda service error, then works. */
  function flakyLanding(): { calls: () => number; wrap: Parameters<typeof runLocal>[0]['wrapTask'] } {
    let calls = 0;
    return {
      calls: () => calls,
      wrap: async (state, _input, invoke) => {
        if (state !== 'ValidateLanding') return invoke();
        calls += 1;
        if (calls === 1) {
          const error = new Error('Rate exceeded');
          error.name = 'Lambda.TooManyRequestsException';
          throw error;
        }
        return invoke();
      },
    };
  }

  test('the Retry the CDK code puts on a state is what the local run does', async () => {
    // As built: transient errors are retried, so the date ends normally.
    const stock = flakyLanding();
    const retried = await runLocal({
      root: ROOT,
      lake: tempLake(),
      input: { date: '2030-01-01' },
      templates: templates(),
      wrapTask: stock.wrap,
      retryIntervalMs: 0,
    });
    expect(retried.records.map((r) => [r.status, r.error_detail])).toEqual([['NO_DATA', undefined]]);
    expect(stock.calls()).toBe(2);

    // The construct built without retries: the same fault now fails the date.
    const changed = flakyLanding();
    const failed = await runLocal({
      root: ROOT,
      lake: tempLake(),
      input: { date: '2030-01-01' },
      templates: templates(0),
      wrapTask: changed.wrap,
      retryIntervalMs: 0,
    });
    expect(failed.records.map((r) => [r.status, r.error_detail])).toEqual([
      ['FAILED', 'Lambda.TooManyRequestsException: Rate exceeded'],
    ]);
    expect(changed.calls()).toBe(1);
  });
});
