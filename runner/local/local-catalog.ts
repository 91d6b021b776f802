import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { IcebergCatalog, catalogDbPathOf } from './iceberg-catalog';
import { localPath } from './lake-paths';
import { isProcessAlive } from './local-executions';
import { localSparkConf } from './local-iceberg';
import type { LocalGlue } from './local-glue';
import type { ResolvedPipeline } from './template-resolver';

/**
 * The deployment creates the lake's Iceberg tables in the Glue Data Catalog (CloudFormation,
 * lib/constructs/lake-catalog.ts); locally the same definitions, read from the synthesized
 * template, are created in the lake's SQLite catalog by Spark (runner/local/local_catalog.py),
 * and a contract's added columns are added to existing tables.
 */
const LOCAL_CATALOG_SCRIPT = 'runner/local/local_catalog.py';

/** The app's Iceberg job (the one with a catalog): its script, package and default arguments. */
export function icebergJob(pipeline: ResolvedPipeline): ResolvedPipeline['jobs'][string] {
  const job = Object.values(pipeline.jobs).find((j) => j.defaultArguments['--catalog_name']);
  if (!job) throw new Error('the app defines no Glue job with an Iceberg catalog (--catalog_name)');
  return job;
}

/** The catalog and namespace the app's tables live in (the job's `--catalog_name`, `--database`). */
export function lakeNamespace(pipeline: ResolvedPipeline): { readonly catalog: string; readonly namespace: string } {
  const args = icebergJob(pipeline).defaultArguments;
  return { catalog: args['--catalog_name'], namespace: args['--database'] };
}

/**
 * A run of a Glue job on the local lake, as the local Glue binding makes it: the job's default
 * arguments overlaid with the run's own, every `s3://` value mapped into the lake, and the job's
 * Iceberg catalog (the Glue Data Catalog in AWS) on the lake's SQLite catalog.
 */
export function localJobRun(
  job: ResolvedPipeline['jobs'][string],
  lake: string,
  runArguments: Readonly<Record<string, string>> = {},
): {
  readonly script: string;
  readonly packagePath?: string;
  readonly arguments: Record<string, string>;
  readonly sparkConf: Record<string, string>;
} {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...job.defaultArguments, ...runArguments })) args[k] = localPath(lake, v);
  return {
    script: job.script,
    ...(job.packagePath ? { packagePath: job.packagePath } : {}),
    arguments: args,
    sparkConf: localSparkConf(args['--conf'], lake),
  };
}

/** Whether the lake's catalog already holds every table of the app with every column it defines. */
export async function localTablesCurrent(pipeline: ResolvedPipeline, lake: string): Promise<boolean> {
  const { catalog, namespace } = lakeNamespace(pipeline);
  const reader = new IcebergCatalog({ catalogDbPath: catalogDbPathOf(lake), catalogName: catalog, namespace });
  for (const table of pipeline.tables) {
    const metadata = await reader.tryLoadTable(table.name);
    if (!metadata) return false;
    const present = new Set(metadata.schema.fields.map((f) => f.name));
    if (table.columns.some((c) => !present.has(c.name))) return false;
  }
  return true;
}

/**
 * Creates the app's tables in the lake's catalog, or adds the columns they lack (a Spark start:
 * skipped when the catalog is current).
 */
export async function createLocalTables(pipeline: ResolvedPipeline, lake: string, glue: LocalGlue): Promise<void> {
  if (await localTablesCurrent(pipeline, lake)) return;
  const job = icebergJob(pipeline);
  const { catalog, namespace } = lakeNamespace(pipeline);
  const tables = pipeline.tables.map((t) => ({ ...t, location: localPath(lake, t.location) }));
  // Two processes starting on a new lake at once would both create the tables, and the loser's
  // CREATE fails on the winner's (SQLite catalog): one at a time, and the second finds them made.
  const release = await lockCatalogSetup(lake);
  try {
    if (await localTablesCurrent(pipeline, lake)) return;
    await glue.run({
      script: LOCAL_CATALOG_SCRIPT,
      packagePath: job.packagePath,
      arguments: { '--catalog_name': catalog, '--database': namespace, '--tables': JSON.stringify(tables) },
      sparkConf: localJobRun(job, lake).sparkConf,
    });
  } finally {
    release();
  }
}

/** Waits for, then holds, the lake's catalog set-up lock; a lock whose process is gone is taken over. */
async function lockCatalogSetup(lake: string, timeoutMs = 300_000): Promise<() => void> {
  const dir = path.join(lake, '_local');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'catalog-setup.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue; // released in between
    }
    if (!(holder > 0 && isProcessAlive(holder))) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the lake's catalog is being set up by process ${holder}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
