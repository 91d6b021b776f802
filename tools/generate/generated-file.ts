import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { generateCsvChunks, type GeneratedFileCounts } from './csv-chunks';
import type { GenerateOptions } from './generate-options';

/** One generated file as bytes somewhere: its name, its digest, or the file written to disk. */

/** The name of file `index` (0-based) of a seed: `generated-<seed>-<index + 1>.csv`. */
export function generatedFileName(seed: number, index: number): string {
  return `generated-${seed}-${index + 1}.csv`;
}

/** SHA-256 (hex) and counts of file `index` (0-based), without writing it anywhere. */
export function generatedFileDigest(
  options: GenerateOptions,
  index: number,
): { readonly sha256: string; readonly counts: GeneratedFileCounts } {
  const hash = createHash('sha256');
  const chunks = generateCsvChunks(options, index);
  for (;;) {
    const next = chunks.next();
    if (next.done) return { sha256: hash.digest('hex'), counts: next.value };
    hash.update(next.value);
  }
}

/** Writes file `index` (0-based) to `file` with backpressure; returns its counts. */
export async function writeGeneratedFile(
  file: string,
  options: GenerateOptions,
  index: number,
): Promise<GeneratedFileCounts> {
  const chunks = generateCsvChunks(options, index);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    for (;;) {
      const next = chunks.next();
      if (next.done) {
        out.end();
        await finished(out);
        return next.value;
      }
      if (!out.write(next.value)) await once(out, 'drain');
    }
  } catch (error) {
    out.destroy();
    throw error;
  }
}
