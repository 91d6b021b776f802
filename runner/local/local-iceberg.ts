import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { catalogDbPathOf } from './iceberg-catalog';

/** Where scripts/setup.sh leaves the classpath of the Iceberg Spark runtime and the SQLite driver. */
const ICEBERG_CLASSPATH = path.join('tools', 'iceberg-runtime', 'target', 'classpath.txt');

/** The jars Glue 5.0 adds for `--datalake-formats iceberg`, as Spark's comma-separated `spark.jars`. */
export function icebergJars(root: string): string {
  const file = path.join(root, ICEBERG_CLASSPATH);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`the Iceberg Spark runtime is not set up: run "npm run setup" (expected ${file})`);
  }
  return text
    .trim()
    .split(path.delimiter)
    .filter((jar) => jar.length > 0)
    .join(',');
}

/** Glue's `--conf` job argument (`k=v --conf k=v …`) as a map. */
export function parseGlueConf(value: string | undefined): Record<string, string> {
  const conf: Record<string, string> = {};
  if (!value) return conf;
  for (const part of value.split(/\s+--conf\s+/)) {
    const entry = part.trim();
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`the Glue job's --conf holds an entry that is not key=value: '${entry}'`);
    conf[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return conf;
}

const GLUE_CATALOG_IMPL = 'org.apache.iceberg.aws.glue.GlueCatalog';
const JDBC_CATALOG_IMPL = 'org.apache.iceberg.jdbc.JdbcCatalog';

/**
 * The local stand-in for the Glue Data Catalog's Iceberg tables (SPEC §2) is Iceberg's JdbcCatalog
 * on a SQLite file in the lake (`catalog.db`), which pyiceberg's SqlCatalog opens too.
 *
 * The job's Spark SQL settings on the local lake: the deployment's own `--conf`, with each Iceberg
 * catalog that Glue backs by its Data Catalog backed by the lake's SQLite catalog instead, S3FileIO
 * left out (local paths) and the warehouse the lake directory (SPEC §2). Static settings (`spark.sql.extensions`)
 * are left to the host, which starts Spark with them.
 */
export function localSparkConf(glueConf: string | undefined, lake: string): Record<string, string> {
  const conf = parseGlueConf(glueConf);
  const local: Record<string, string> = {};
  const catalogs = Object.entries(conf)
    .filter(([key, value]) => key.endsWith('.catalog-impl') && value === GLUE_CATALOG_IMPL)
    .map(([key]) => key.slice(0, -'.catalog-impl'.length));
  for (const [key, value] of Object.entries(conf)) {
    if (key === 'spark.sql.extensions') continue;
    const catalog = catalogs.find((c) => key.startsWith(`${c}.`));
    if (catalog && (key === `${catalog}.io-impl` || key === `${catalog}.warehouse`)) continue;
    local[key] = value;
  }
  for (const catalog of catalogs) {
    local[`${catalog}.catalog-impl`] = JDBC_CATALOG_IMPL;
    local[`${catalog}.uri`] = `jdbc:sqlite:${catalogDbPathOf(lake)}`;
    // V1 adds views to the schema pyiceberg's SqlCatalog shares; the tables stay readable by both.
    local[`${catalog}.jdbc.schema-version`] = 'V1';
    // Another process (a reader, the next job run) may commit between two statements of a run.
    local[`${catalog}.cache-enabled`] = 'false';
    local[`${catalog}.warehouse`] = lake;
  }
  return local;
}
