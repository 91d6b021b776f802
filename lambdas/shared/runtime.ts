import type { IsExecutionRunning } from './lake-lease';
import type { ObjectStore } from './object-store';

/**
 * What a handler needs from its surroundings. In AWS: S3 and the function's environment; in local
 * mode: the lake directory and the same environment variables resolved from the synthesized template.
 */
export interface HandlerRuntime {
  readonly store: ObjectStore;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Records a business metric (CloudWatch through Powertools in AWS; not recorded locally). */
  readonly metric?: (name: string, unit: 'Count' | 'Percent', value: number) => void;
  /**
   * Whether an execution of the state machine still runs (the lake lease's holder): Step Functions'
   * DescribeExecution in AWS, the local runner's own answer locally.
   */
  readonly isExecutionRunning?: IsExecutionRunning;
}

/** The runtime's execution port; a step that needs it fails clearly where none is bound. */
export function executionPort(runtime: HandlerRuntime): IsExecutionRunning {
  if (!runtime.isExecutionRunning) throw new Error('the runtime binds no isExecutionRunning port');
  return runtime.isExecutionRunning;
}

/** A handler core: parses its event and does the step's work. */
export type HandlerCore = (event: unknown, runtime: HandlerRuntime) => Promise<unknown>;

export function requireEnv(runtime: HandlerRuntime, name: string): string {
  const value = runtime.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** Bucket names every step may use, from the function's environment. */
export interface LakeBuckets {
  readonly bronze: string;
  readonly silver: string;
  readonly gold: string;
  readonly quarantine: string;
  readonly condemned: string;
  readonly staging: string;
}

export function lakeBuckets(runtime: HandlerRuntime): LakeBuckets {
  return {
    bronze: requireEnv(runtime, 'BRONZE_BUCKET'),
    silver: requireEnv(runtime, 'SILVER_BUCKET'),
    gold: requireEnv(runtime, 'GOLD_BUCKET'),
    quarantine: requireEnv(runtime, 'QUARANTINE_BUCKET'),
    condemned: requireEnv(runtime, 'CONDEMNED_BUCKET'),
    staging: requireEnv(runtime, 'STAGING_BUCKET'),
  };
}
