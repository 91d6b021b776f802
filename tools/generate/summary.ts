import { type GeneratedFileCounts, INVALID_CODES } from './csv-chunks';
import { type GenerateOptions, resolveGenerateOptions } from './generate-options';

/** The summary of a generate call: the files' counts added up into what a run must report. */

export interface GeneratedFile {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
}

/** What the files hold, and what a run of the ingest date must report for them. */
export interface GenerateSummary {
  readonly ingest_date: string;
  readonly seed: number;
  readonly files: readonly GeneratedFile[];
  readonly rows: number;
  readonly invalid: number;
  readonly duplicates: number;
  readonly late: number;
  /** Shaped like the `rows` and `reasons` of the run's JSON document (SPEC §5); reasons with 0 are left out. */
  readonly expected: {
    readonly rows: {
      readonly read: number;
      readonly silver: number;
      readonly quarantined: number;
      readonly condemned: number;
    };
    readonly reasons: Readonly<Record<string, number>>;
  };
}

/** Adds the files' counts up into a summary. */
export function summarize(
  options: GenerateOptions,
  files: readonly (GeneratedFileCounts & { readonly name: string })[],
): GenerateSummary {
  const o = resolveGenerateOptions(options);
  const sum = (key: 'rows' | 'invalid' | 'duplicates' | 'late'): number => files.reduce((n, f) => n + f[key], 0);
  const rows = sum('rows');
  const invalid = sum('invalid');
  const duplicates = sum('duplicates');
  const reasons: Record<string, number> = {};
  for (const code of INVALID_CODES) {
    const n = files.reduce((total, f) => total + f.reasons[code], 0);
    if (n > 0) reasons[code] = n;
  }
  if (duplicates > 0) reasons.DUPLICATE_ROW = duplicates;
  return {
    ingest_date: o.ingestDate,
    seed: o.seed,
    files: files.map((f) => ({ name: f.name, rows: f.rows, bytes: f.bytes })),
    rows,
    invalid,
    duplicates,
    late: sum('late'),
    expected: {
      rows: { read: rows, silver: rows - invalid - duplicates, quarantined: invalid, condemned: duplicates },
      reasons,
    },
  };
}
