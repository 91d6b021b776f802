import { ICEBERG_CATALOG, TABLES } from '../../core/lake-layout';
import { IcebergCatalog, type SnapshotSelector, catalogDbPathOf } from '../../runner/local/iceberg-catalog';
import { quoteLiteral } from '../../runner/local/duckdb-quoting';
import { LOCAL_NAMESPACE } from './iceberg';
import { diskFiles, duck } from './lake-state';

/**
 * A lake's Iceberg tables read through txlake's own catalog reader (fast; the outside reader is
 * ./iceberg): the rows of a table's snapshot with DuckDB, and the state of every table.
 */

export type TableName = (typeof TABLES)[keyof typeof TABLES];
export const TABLE_NAMES: readonly TableName[] = Object.values(TABLES);

export const lakeCatalog = (lake: string): IcebergCatalog =>
  new IcebergCatalog({
    catalogDbPath: catalogDbPathOf(lake),
    catalogName: ICEBERG_CATALOG,
    namespace: LOCAL_NAMESPACE,
  });

/** `read_parquet([...])` over a table's live data files (DuckDB), or undefined when it has none. */
export async function tableScan(
  lake: string,
  table: TableName,
  selector: SnapshotSelector = {},
): Promise<string | undefined> {
  const catalog = lakeCatalog(lake);
  if (!(await catalog.tableExists(table))) return undefined;
  const { files } = await catalog.tableFiles(table, selector);
  if (files.length === 0) return undefined;
  return `read_parquet([${files.map((f) => quoteLiteral(f.path)).join(', ')}], hive_partitioning = false)`;
}

/**
 * The rows of `SELECT <columns> FROM <table> [WHERE …] ORDER BY ALL` on a table's snapshot (none
 * when it has no files).
 */
export async function tableRows(
  lake: string,
  table: TableName,
  options: { readonly columns?: string; readonly where?: string; readonly selector?: SnapshotSelector } = {},
): Promise<Record<string, unknown>[]> {
  const scan = await tableScan(lake, table, options.selector);
  if (!scan) return [];
  const where = options.where ? ` WHERE ${options.where}` : '';
  return duck(`SELECT ${options.columns ?? '*'} FROM ${scan}${where} ORDER BY ALL`);
}

/** Each table's main snapshot id (undefined: none yet, or no table). */
export async function snapshotIds(lake: string): Promise<Record<TableName, string | undefined>> {
  const catalog = lakeCatalog(lake);
  const out = {} as Record<TableName, string | undefined>;
  for (const table of TABLE_NAMES) out[table] = (await catalog.tryLoadTable(table))?.currentSnapshotId;
  return out;
}

/**
 * Every table's rows (run ids left out, so that two runs publishing the same data compare equal),
 * as sorted JSON lines: the logical state of the lake's tables.
 */
export async function tablesContent(lake: string): Promise<Record<TableName, string[]>> {
  const out = {} as Record<TableName, string[]>;
  for (const table of TABLE_NAMES) {
    const rows = await tableRows(lake, table, {
      columns: table === 'gold_monthly_balances' ? '*' : '* EXCLUDE (run_id)',
    });
    out[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** The published objects that are not tables: rejected files and their reasons, the quarter's report. */
const PUBLISHED_FILE_FOLDERS = ['quarantine/files', 'quarantine/file_rejections', 'gold/reports'];

/**
 * What a failed or refused run must leave exactly as it was: each table's current snapshot (main)
 * and the published files that are not tables, by hash. (The tables' directories also hold the files
 * of audit branches and of snapshots that never became current; readers never see those.)
 */
export async function publishedState(
  lake: string,
): Promise<{ snapshots: Record<TableName, string | undefined>; files: Record<string, string> }> {
  return {
    snapshots: await snapshotIds(lake),
    files: diskFiles(lake, { content: 'sha256', folders: PUBLISHED_FILE_FOLDERS }),
  };
}

/**
 * The same by content: every table's rows (run ids aside) and the published files. On a new lake the
 * job's first run gives each table an empty first snapshot (audit branches need one to start from):
 * a snapshot id changes there while what readers see does not.
 */
export async function publishedContent(
  lake: string,
): Promise<{ tables: Record<TableName, string[]>; files: Record<string, string> }> {
  return {
    tables: await tablesContent(lake),
    files: diskFiles(lake, { content: 'sha256', folders: PUBLISHED_FILE_FOLDERS }),
  };
}
