import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { GeneratedFileCounts } from './csv-chunks';
import { type GenerateOptions, resolveGenerateOptions } from './generate-options';
import { generatedFileName, writeGeneratedFile } from './generated-file';
import { type GeneratedFile, type GenerateSummary, summarize } from './summary';

/**
 * A deterministic generator of landed transaction files (SPEC §3) for tests and benchmarks.
 *
 * Same options ⇒ byte-identical files. Rows are produced in chunks and written with backpressure,
 * so memory stays constant whatever the size. Every row is either
 * - valid (it reaches silver), some of them *late* (a timestamp 1–90 days before the span);
 * - invalid: it breaks exactly one row rule (cycling through {@link INVALID_CODES}), so it is
 *   quarantined with that one code;
 * - a duplicate: an exact copy of an earlier valid row of the same file, so it is condemned with
 *   `DUPLICATE_ROW`.
 * TransactionIDs are unique across the files of one call (`TX<seed>-<startId + n>`), so no row is
 * ever a `DUPLICATE_TRANSACTION_ID`, and the summary's expected counts are exactly what a run of
 * the ingest date reports (on a lake without other data for colliding ids).
 */

// The public entry of the generator (the CLI's `generate`, bench and tests import from here);
// the parts live beside it: options, seeded random source, row synthesis, file output, summary.
export { type GeneratedFileCounts, generateCsvChunks, INVALID_CODES, type InvalidCode } from './csv-chunks';
export {
  type GenerateOptions,
  type ResolvedGenerateOptions,
  resolveGenerateOptions,
  rowsOfFile,
} from './generate-options';
export { generatedFileDigest, generatedFileName, writeGeneratedFile } from './generated-file';
export { type GeneratedFile, type GenerateSummary, summarize } from './summary';

/**
 * Writes all files of `options` into `dir` (created if needed) as `generated-<seed>-<k>.csv`, one
 * after the other, and returns the summary. Existing files of the same names are overwritten.
 */
export async function generateFiles(
  dir: string,
  options: GenerateOptions,
  progress?: (file: GeneratedFile) => void,
): Promise<GenerateSummary> {
  const o = resolveGenerateOptions(options);
  mkdirSync(dir, { recursive: true });
  const files: (GeneratedFileCounts & { name: string })[] = [];
  for (let index = 0; index < o.files; index += 1) {
    const name = generatedFileName(o.seed, index);
    const counts = await writeGeneratedFile(path.join(dir, name), o, index);
    files.push({ name, ...counts });
    progress?.({ name, rows: counts.rows, bytes: counts.bytes });
  }
  return summarize(o, files);
}
