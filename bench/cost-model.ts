/**
 * (d) Monthly AWS cost at a daily volume, from the measured bytes and times of the other parts
 * and the published us-east-1 on-demand prices below. Every assumption is a named constant.
 */
import type { BenchResults, CostLine, CostModel } from './results';

/** Published prices, us-east-1, on-demand (checked 2026-11). */
export const PRICES = {
  athenaPerTb: 5.0,
  /** Athena bills at least 10 MB per query. */
  athenaMinBytes: 10 * 2 ** 20,
  glueDpuHour: 0.44,
  /** Glue 5.0 Spark jobs bill per second with a 1-minute minimum. */
  glueMinSeconds: 60,
  s3StandardGbMonth: 0.023,
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  sfnPer1000Transitions: 0.025,
  lambdaGbSecond: 0.0000166667,
  lambdaPerMillionRequests: 0.2,
  kmsKeyMonth: 1.0,
  cloudwatchAlarmMonth: 0.1,
  cloudwatchDashboardMonth: 3.0,
  cloudwatchLogsIngestGb: 0.5,
} as const;

/** Deployment facts (lib/): the Glue job's workers, alarms, dashboards, Lambda memory. */
export const DEPLOYMENT = {
  glueDpus: 2, // 2 × G.1X workers (lib/ingestion-job.ts)
  alarms: 3,
  dashboards: 1,
  lambdaInvocationsPerDate: 6,
  lambdaGb: 1,
  lambdaSecondsPerInvocation: 2,
  stateTransitionsPerDate: 16,
  /** S3 requests per date: landing reads, Iceberg data and metadata writes, rejected-file copies (rounded up). */
  s3PutsPerDate: 400,
  s3GetsPerDate: 1000,
  logsGbPerMonth: 0.05,
} as const;

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));
const GB = 2 ** 30;
const TB = 2 ** 40;

export function costModel(results: BenchResults): CostModel {
  const daily = results.daily_run;
  const glue = results.glue?.find((g) => g.rows === 1_000_000) ?? results.glue?.[0];
  const history = results.balance_history;
  if (!daily || !glue || !history) throw new Error('the cost model needs parts a, b and c measured first');
  const rowsPerDay = daily.rows;
  const perMillion = (x: number, rows: number): number => (x * rowsPerDay) / rows;
  const silverDay = perMillion(daily.silver_bytes, daily.rows);
  const bronzeDay = perMillion(daily.bronze_bytes, daily.rows);
  const glueSeconds = Math.max(PRICES.glueMinSeconds, perMillion(glue.glue_seconds, glue.rows));
  // The gold refresh's bytes per run (f), scaled to the daily volume: silver's months from the
  // first changed one on grow with it; without (f), the old full rebuild's bound (all of silver).
  const refresh = results.gold_refresh;
  const refreshBytesAt = (m: number): number => {
    const point = refresh?.points.find((p) => p.month_index === m) ?? refresh?.points[refresh.points.length - 1];
    const bytes = refresh && point ? (point.incremental_bytes * rowsPerDay) / refresh.rows_per_day : silverDay * 30 * m;
    return Math.max(PRICES.athenaMinBytes, bytes);
  };
  // The balance query's bytes scale with the accounts, not the history: measured at 100 M rows.
  const reportBytes = Math.max(PRICES.athenaMinBytes, history.snapshot.column_bytes_read);
  const assumptions = [
    `${rowsPerDay.toLocaleString('en')} rows/day, 30 runs/month, one file/day`,
    `Glue: ${DEPLOYMENT.glueDpus} DPU (2 × G.1X) billed for max(60 s, the local 2-core job time scaled to the volume) = ${round(glueSeconds, 1)} s/run; the local time is an upper bound for 2 × 4 vCPU workers`,
    refresh
      ? `Athena: the gold refresh reads silver's account, currency, amount and timestamp columns of the months from the first changed one on, and gold's balances of the month before (f: ${refresh.points.map((p) => `${round(p.incremental_bytes / 2 ** 20, 1)} MiB`).join(' / ')} per run at months ${refresh.points.map((p) => p.month_index).join(' / ')} of ${refresh.rows_per_day.toLocaleString('en')} rows/day, scaled to the volume); the report query`
      : `Athena: the gold refresh reads silver's account, currency, amount and timestamp columns of all history (bounded above by silver's size: ${round(silverDay / 2 ** 20, 1)} MiB/day measured); the report query reads ${round(reportBytes / 2 ** 20, 1)} MiB (column bytes at ${history.rows.toLocaleString('en')} transactions, ≥ Athena's 10 MB minimum)`,
    `S3 Standard for every layer (no tiering credit): bronze ${round(bronzeDay / 2 ** 20, 1)} MiB/day, silver ${round(silverDay / 2 ** 20, 1)} MiB/day measured; quarantine, condemned and gold are < 1 % of that`,
    `Requests, Step Functions, Lambda, KMS, CloudWatch: deployment facts in bench/cost-model.ts (DEPLOYMENT)`,
  ];
  const month = (m: number): { total_usd: number; lines: CostLine[] } => {
    const historyDays = 30 * m;
    const refreshBytes = refreshBytesAt(m);
    const lines: CostLine[] = [
      {
        item: 'Glue job',
        usd_month: 30 * DEPLOYMENT.glueDpus * (glueSeconds / 3600) * PRICES.glueDpuHour,
        basis: `30 × ${DEPLOYMENT.glueDpus} DPU × ${round(glueSeconds, 1)} s × $${PRICES.glueDpuHour}/DPU-h`,
      },
      {
        item: 'Athena gold refresh',
        usd_month: (30 * refreshBytes * PRICES.athenaPerTb) / TB,
        basis: `30 × ${round(refreshBytes / GB, 2)} GiB × $${PRICES.athenaPerTb}/TB`,
      },
      {
        item: 'Athena balance report',
        usd_month: (30 * reportBytes * PRICES.athenaPerTb) / TB,
        basis: `30 × ${round(reportBytes / 2 ** 20, 1)} MiB × $${PRICES.athenaPerTb}/TB`,
      },
      {
        item: 'S3 storage',
        usd_month: (((bronzeDay + silverDay) * historyDays * 1.01) / GB) * PRICES.s3StandardGbMonth,
        basis: `${round(((bronzeDay + silverDay) * historyDays * 1.01) / GB, 1)} GiB × $${PRICES.s3StandardGbMonth}/GB-month`,
      },
      {
        item: 'S3 requests',
        usd_month:
          30 *
          ((DEPLOYMENT.s3PutsPerDate * PRICES.s3PutPer1000) / 1000 +
            (DEPLOYMENT.s3GetsPerDate * PRICES.s3GetPer1000) / 1000),
        basis: `30 × (${DEPLOYMENT.s3PutsPerDate} PUT/COPY/LIST + ${DEPLOYMENT.s3GetsPerDate} GET)`,
      },
      {
        item: 'Step Functions',
        usd_month: (30 * DEPLOYMENT.stateTransitionsPerDate * PRICES.sfnPer1000Transitions) / 1000,
        basis: `30 × ${DEPLOYMENT.stateTransitionsPerDate} transitions`,
      },
      {
        item: 'Lambda',
        usd_month:
          30 *
          DEPLOYMENT.lambdaInvocationsPerDate *
          (DEPLOYMENT.lambdaGb * DEPLOYMENT.lambdaSecondsPerInvocation * PRICES.lambdaGbSecond +
            PRICES.lambdaPerMillionRequests / 1e6),
        basis: `30 × ${DEPLOYMENT.lambdaInvocationsPerDate} invocations × ${DEPLOYMENT.lambdaSecondsPerInvocation} s × ${DEPLOYMENT.lambdaGb} GB (no free tier counted)`,
      },
      {
        item: 'KMS key',
        usd_month: PRICES.kmsKeyMonth,
        basis: '1 customer-managed key (bucket keys keep requests negligible)',
      },
      {
        item: 'CloudWatch',
        usd_month:
          DEPLOYMENT.alarms * PRICES.cloudwatchAlarmMonth +
          DEPLOYMENT.dashboards * PRICES.cloudwatchDashboardMonth +
          DEPLOYMENT.logsGbPerMonth * PRICES.cloudwatchLogsIngestGb,
        basis: `${DEPLOYMENT.alarms} alarms, ${DEPLOYMENT.dashboards} dashboard (beyond the 3 free), ${DEPLOYMENT.logsGbPerMonth} GB logs`,
      },
    ].map((l) => ({ ...l, usd_month: round(l.usd_month, 3) }));
    return { total_usd: round(lines.reduce((s, l) => s + l.usd_month, 0)), lines };
  };
  return {
    rows_per_day: rowsPerDay,
    assumptions,
    month_1: month(1),
    month_12: month(12),
    target_usd: 10,
    lab_target_usd: 40,
  };
}
