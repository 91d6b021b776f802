import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { landingPrefix } from '../../core/lake-layout';
import { localPath } from '../../runner/local/lake-paths';
import {
  type GeneratedFileCounts,
  generatedFileDigest,
  generatedFileName,
  type ResolvedGenerateOptions,
  resolveGenerateOptions,
  summarize,
  writeGeneratedFile,
} from '../../tools/generate/generate';
import {
  type CliIo,
  lakeDir,
  parseCurrencies,
  parseDate,
  parsePositiveInt,
  parseRatio,
  parseSeed,
  type SetExitCode,
  UsageError,
} from '../usage';

/** SHA-256 of a file, streamed (the file may be large). */
async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `txlake generate`: deterministic test files in bronze, and the counts a run of them must report. */
export function addGenerateCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  program
    .command('generate')
    .description(
      'write deterministic test transaction files into bronze for an ingest date and print the counts a run must report (JSON)',
    )
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .requiredOption('--rows <n>', 'data records in total', parsePositiveInt)
    .option('--files <k>', 'split the rows into K files generated-<seed>-<k>.csv (default: 1)', parsePositiveInt)
    .option('--seed <s>', 'seed 0..4294967295: same options, same bytes (default: 1)', parseSeed)
    .option('--accounts <a>', 'distinct CustomerIDs (default: 10000)', parsePositiveInt)
    .option('--currencies <list>', 'comma-separated currencies of valid rows (default: EUR,USD,GBP)', parseCurrencies)
    .option(
      '--span-days <n>',
      'timestamps fall in the N days ending with the ingest date (default: 1)',
      parsePositiveInt,
    )
    .option('--late-rate <r>', 'share of valid rows dated 1-90 days before the span (default: 0.01)', parseRatio)
    .option('--invalid-rate <r>', 'share of rows breaking one row rule: quarantined (default: 0.001)', parseRatio)
    .option('--duplicate-rate <r>', 'share of rows repeating an earlier row: condemned (default: 0.001)', parseRatio)
    .option('--lake <dir>', 'local lake directory (default: $TXLAKE_LAKE or ./.lake)')
    .option('--json', 'print one JSON document (the summary always is)')
    .action(
      async (options: {
        date: string;
        rows: number;
        files?: number;
        seed?: number;
        accounts?: number;
        currencies?: string[];
        spanDays?: number;
        lateRate?: number;
        invalidRate?: number;
        duplicateRate?: number;
        lake?: string;
      }) => {
        let resolved: ResolvedGenerateOptions;
        try {
          resolved = resolveGenerateOptions({ ...options, ingestDate: options.date });
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const lake = lakeDir({ lake: options.lake }, io, true);
        const prefix = `bronze/${landingPrefix(options.date)}`;
        const landing = localPath(lake, `s3://${prefix}`);
        const files: (GeneratedFileCounts & { name: string })[] = [];
        const missing: number[] = [];
        // Bronze is immutable: a landed file of the same name must hold the same bytes already.
        for (let index = 0; index < resolved.files; index += 1) {
          const name = generatedFileName(resolved.seed, index);
          const target = path.join(landing, name);
          if (!existsSync(target)) {
            missing.push(index);
            continue;
          }
          const generated = generatedFileDigest(resolved, index);
          if (generated.sha256 !== (await fileSha256(target))) {
            throw new UsageError(`bronze already holds a different ${name} for ${options.date}; bronze is immutable`);
          }
          files[index] = { name, ...generated.counts };
        }
        for (const f of files) if (f) io.stderr(`[txlake] kept ${f.name}: bronze already holds it\n`);
        if (missing.length > 0) {
          // Written beside the lake first, so bronze only ever holds complete files.
          mkdirSync(path.join(lake, '_local'), { recursive: true });
          const scratch = mkdtempSync(path.join(lake, '_local', 'generate-'));
          try {
            for (const index of missing) {
              const name = generatedFileName(resolved.seed, index);
              const started = Date.now();
              const counts = await writeGeneratedFile(path.join(scratch, name), resolved, index);
              const seconds = ((Date.now() - started) / 1000).toFixed(2);
              io.stderr(`[txlake] generated ${name}: ${counts.rows} rows, ${counts.bytes} bytes in ${seconds} s\n`);
              files[index] = { name, ...counts };
            }
            mkdirSync(landing, { recursive: true });
            for (const index of missing) {
              const name = generatedFileName(resolved.seed, index);
              renameSync(path.join(scratch, name), path.join(landing, name));
            }
          } finally {
            rmSync(scratch, { recursive: true, force: true });
          }
        }
        const summary = summarize(resolved, files);
        const landed = summary.files.map((f) => ({
          name: f.name,
          key: `${prefix}${f.name}`,
          rows: f.rows,
          bytes: f.bytes,
        }));
        io.stdout(`${JSON.stringify({ ...summary, files: landed })}\n`);
        setExitCode(0);
      },
    );
}
