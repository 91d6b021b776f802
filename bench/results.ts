/** The shape of bench/results.json: every part's latest figures, the cost model and the machine. */
import type { BackfillBench } from './backfill';
import type { BalanceHistoryBench } from './balance-history';
import type { GoldRefreshBench } from './gold-refresh';
import type { DailyRunBench, GlueJobBench } from './pipeline';
import type { SuiteBench } from './suite';

export interface BenchResults {
  machine?: Machine;
  glue?: GlueJobBench[];
  balance_history?: BalanceHistoryBench;
  daily_run?: DailyRunBench;
  cost?: CostModel;
  backfill?: BackfillBench;
  gold_refresh?: GoldRefreshBench;
  suite?: SuiteBench;
  measured_at?: Record<string, string>;
  /** 1-minute load average when each part started: other work on the machine skews the figures */
  load_average?: Record<string, number>;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memory_gib: number;
  readonly os: string;
  readonly node: string;
  readonly python: string;
  readonly java: string;
  /** 1-minute load average when the run started: other work on the machine skews the figures */
  readonly load_average_at_start: number;
}

export interface CostLine {
  readonly item: string;
  readonly usd_month: number;
  readonly basis: string;
}

export interface CostModel {
  readonly rows_per_day: number;
  readonly assumptions: string[];
  /** after 1 month and after 12 months of history (storage and the gold refresh grow with it) */
  readonly month_1: { readonly total_usd: number; readonly lines: CostLine[] };
  readonly month_12: { readonly total_usd: number; readonly lines: CostLine[] };
  readonly target_usd: number;
  readonly lab_target_usd: number;
}
