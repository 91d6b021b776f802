import type { Node } from 'constructs';
import { z } from 'zod';

/** Per-environment settings, from the `txlake:environments` context of cdk.json. */
const environmentSchema = z
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
  })
  .strict();

export type EnvironmentSettings = z.infer<typeof environmentSchema> & { readonly envName: string };

/** Reads the settings of `envName` (or the default environment) from the app's context. */
export function loadSettings(node: Node, envName?: string): EnvironmentSettings {
  const name =
    envName ??
    (node.tryGetContext('env') as string | undefined) ??
    (node.tryGetContext('txlake:defaultEnvironment') as string);
  const all = (node.tryGetContext('txlake:environments') ?? {}) as Record<string, unknown>;
  if (!(name in all)) {
    throw new Error(`unknown environment "${name}": cdk.json defines ${Object.keys(all).join(', ')}`);
  }
  return { ...environmentSchema.parse(all[name]), envName: name };
}
