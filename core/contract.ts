import { z } from 'zod';
import contractJson from '../contract/transactions.v1.json';

/**
 * The data contract (contract/transactions.v1.json) is the one source of truth for columns, rules,
 * codes and the currency allow-list: the CDK app derives the Glue tables from it, the Lambdas
 * their file-level checks, and the Glue job receives it as its `--contract` argument. New versions
 * (`contract/transactions.v<N>.json`) may only add optional columns: see docs/schema-evolution.md and
 * lib/contract-evolution.ts.
 */
const column = z.object({ name: z.string().regex(/^[a-z_][a-z0-9_]*$/), type: z.string().min(1) });

/** Iceberg partition transforms the tables use. */
export const PARTITION_TRANSFORMS = ['identity', 'month'] as const;

const contractSchema = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  description: z.string(),
  currencies: z.array(z.string().regex(/^[A-Z]{3}$/)).min(1),
  maxQuarantineRatio: z.number().min(0).max(1),
  identifierMaxLength: z.number().int().positive(),
  amountPattern: z.string(),
  timestampPattern: z.string(),
  sourceColumns: z
    .array(
      z.object({
        name: z.string(),
        field: z.string(),
        silver: z.string(),
        rule: z.enum(['identifier', 'amount', 'currency', 'timestamp']),
        missingCode: z.string(),
        invalidCode: z.string(),
      }),
    )
    .length(5),
  /**
   * Optional input columns added by later contract versions (see docs/schema-evolution.md). When a
   * file's header has one, its trimmed value flows to silver (`silver`) and to quarantine/condemned
   * (`field`, raw); older files without it give NULL. No row rule applies: it never changes a row's
   * codes or destination. Absent in v1, which means none.
   */
  optionalSourceColumns: z
    .array(
      z.object({
        name: z.string().min(1),
        field: z.string().regex(/^[a-z_][a-z0-9_]*$/),
        silver: z.string().regex(/^[a-z_][a-z0-9_]*$/),
        // Values are carried as text: a typed column would need a row rule (and a code) for bad values.
        type: z.literal('string'),
      }),
    )
    .optional(),
  codes: z.object({
    file: z.array(z.string()),
    row: z.array(z.string()),
    quarantine: z.array(z.string()),
    condemned: z.array(z.string()),
    run: z.array(z.string()),
  }),
  maxAttemptsOtherIngestDates: z.number().int().positive(),
  tables: z.record(
    z.string(),
    z.object({
      layer: z.enum(['silver', 'quarantine', 'condemned', 'gold']),
      prefix: z.string(),
      /** Every column of the table's data files, in Glue (Hive) type notation. */
      columns: z.array(column).min(1),
      /** The Iceberg partition spec: source columns and their transforms. */
      partitionSpec: z.array(z.object({ column: z.string(), transform: z.enum(PARTITION_TRANSFORMS) })),
    }),
  ),
});

/** Optional source columns must not reuse a required column's name, field or silver name, nor each other's. */
const checkedContractSchema = contractSchema.superRefine((contract, ctx) => {
  const optional = contract.optionalSourceColumns ?? [];
  for (const key of ['name', 'field', 'silver'] as const) {
    const seen = new Set(contract.sourceColumns.map((c) => c[key]));
    optional.forEach((c, i) => {
      if (seen.has(c[key])) {
        ctx.addIssue({
          code: 'custom',
          path: ['optionalSourceColumns', i, key],
          message: `optional source column ${key} '${c[key]}' is already used by another source column`,
        });
      }
      seen.add(c[key]);
    });
  }
});

export type Contract = z.infer<typeof contractSchema>;
export type TableContract = Contract['tables'][string];
export type OptionalSourceColumn = NonNullable<Contract['optionalSourceColumns']>[number];

/** The contract's optional source columns (none when the contract has no such list, as v1). */
export function optionalSourceColumns(contract: Contract): readonly OptionalSourceColumn[] {
  return contract.optionalSourceColumns ?? [];
}

export function parseContract(value: unknown): Contract {
  return checkedContractSchema.parse(value);
}

/** The contract shipped with this version of txlake. */
export const CONTRACT: Contract = parseContract(contractJson);

/** Names of the five required header columns, in the contract's order. */
export const REQUIRED_COLUMNS: readonly string[] = CONTRACT.sourceColumns.map((c) => c.name);

/** The contract with deployment settings applied (allow-list, gate ratio). */
export function withSettings(
  contract: Contract,
  settings: { readonly currencies?: readonly string[]; readonly maxQuarantineRatio?: number },
): Contract {
  return parseContract({
    ...contract,
    currencies: settings.currencies ? [...settings.currencies] : contract.currencies,
    maxQuarantineRatio: settings.maxQuarantineRatio ?? contract.maxQuarantineRatio,
  });
}
