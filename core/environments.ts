import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

/**
 * Deployment environments, from the `txlake:environments` context of cdk.json: the CDK app builds
 * each one's stacks from them, and the runners find and configure a deployed (or local) one.
 */

/** Per-environment settings. */
export const environmentSchema = z
  .object({
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    region: z.string().optional(),
    /** Start the state machine at 02:00 every day. */
    scheduleEnabled: z.boolean(),
    /** IANA zone of the 02:00 schedule; the previous day in this zone is processed. */
    scheduleTimeZone: z.string().min(1),
    maxQuarantineRatio: z.number().min(0).max(1),
    /** Quarter (YYYY-Qn) whose balance history each successful run writes to gold/reports/. */
    reportQuarter: z.string().regex(/^\d{4}-Q[1-4]$/),
    /** Keep buckets and data when the stack is deleted. */
    retainData: z.boolean(),
    logRetentionDays: z.number().int().positive(),
    alarmEmail: z.string().email().optional(),
    currencies: z.array(z.string().regex(/^[A-Z]{3}$/)).optional(),
    /** Attempts of a step on transient service errors (exponential backoff); default 3. */
    stepRetryAttempts: z.number().int().min(0).max(10).optional(),
    /**
     * Concurrent executions reserved for each Lambda step; default 2. An account keeps at least
     * 10 unreserved, so one with a concurrency limit under 22 needs a smaller value.
     */
    lambdaReservedConcurrency: z.number().int().min(1).max(100).optional(),
  })
  .strict();

export type EnvironmentSettings = z.infer<typeof environmentSchema> & { readonly envName: string };

export const ENVIRONMENTS_CONTEXT_KEY = 'txlake:environments';
export const DEFAULT_ENVIRONMENT_CONTEXT_KEY = 'txlake:defaultEnvironment';

/** The `context` of the project's cdk.json. */
export function readProjectContext(root: string): Record<string, unknown> {
  const file = path.join(root, 'cdk.json');
  let cdkJson: { context?: Record<string, unknown> };
  try {
    cdkJson = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  return cdkJson.context ?? {};
}

/** The names of the environments a context defines. */
export const environmentNames = (context: Record<string, unknown>): string[] =>
  Object.keys((context[ENVIRONMENTS_CONTEXT_KEY] ?? {}) as Record<string, unknown>);

/** The raw settings of `envName` (default: the context's default environment), not yet validated. */
export function selectEnvironment(
  context: Record<string, unknown>,
  envName?: string,
): { readonly envName: string; readonly settings: Record<string, unknown> } {
  const name = envName ?? (context[DEFAULT_ENVIRONMENT_CONTEXT_KEY] as string | undefined);
  const all = (context[ENVIRONMENTS_CONTEXT_KEY] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  if (!name) throw new Error('no environment: pass --env NAME or set txlake:defaultEnvironment in cdk.json');
  if (!Object.prototype.hasOwnProperty.call(all, name)) {
    throw new Error(`unknown environment "${name}": cdk.json defines ${Object.keys(all).join(', ')}`);
  }
  return { envName: name, settings: all[name] ?? {} };
}

/** The validated settings of an environment. */
export function environmentSettings(context: Record<string, unknown>, envName?: string): EnvironmentSettings {
  const selected = selectEnvironment(context, envName);
  return { ...environmentSchema.parse(selected.settings), envName: selected.envName };
}
