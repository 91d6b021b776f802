import { IcebergCatalog, catalogDbPathOf } from './iceberg-catalog';
import { localPath } from './lake-paths';
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

/** The job whose Spark settings and package the catalog script uses: the app's Iceberg job. */
function icebergJob(pipeline: ResolvedPipeline): ResolvedPipeline['jobs'][string] {
  const job = Object.values(pipeline.jobs).find((j) => j.defaultArguments['--catalog_name']);
  if (!job) throw new Error('the app defines no Glue job with an Iceberg catalog (--catalog_name)');
  return job;
}

/** The catalog and namespace the app's tables live in (the job's `--catalog_name`, `--database`). */
export function lakeNamespace(pipeline: ResolvedPipeline): { readonly catalog: string; readonly namespace: string } {
  const args = icebergJob(pipeline).defaultArguments;
  return { catalog: args['--catalog_name'], namespace: args['--database'] };
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
  await glue.run({
    script: LOCAL_CATALOG_SCRIPT,
    packagePath: job.packagePath,
    arguments: { '--catalog_name': catalog, '--database': namespace, '--tables': JSON.stringify(tables) },
    sparkConf: localSparkConf(job.defaultArguments['--conf'], lake),
  });
}
