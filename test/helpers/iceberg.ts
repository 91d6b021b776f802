import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * A lake's Iceberg tables as an outside reader sees them: pyiceberg's own SqlCatalog on
 * `<lake>/catalog.db` (test/fixtures/python/read_iceberg_tables.py), independent of txlake's
 * reader. Values as text (decimals with their scale, instants `…T…Z` at millisecond precision).
 */

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'test', 'fixtures', 'python', 'read_iceberg_tables.py');
const PYTHON = process.env.TXLAKE_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');

/** The Glue database (Iceberg namespace) of the default environment. */
export const LOCAL_NAMESPACE = 'txlake_dev';

export type IcebergRow = Record<string, unknown>;

export interface IcebergTableRows {
  readonly snapshot_id: string | null;
  /** sorted by their JSON text */
  readonly rows: IcebergRow[];
}

export async function readIcebergTables(
  lake: string,
  options: { readonly asOf?: Date; readonly namespace?: string } = {},
): Promise<Record<string, IcebergTableRows>> {
  const args = [SCRIPT, lake, options.namespace ?? LOCAL_NAMESPACE];
  if (options.asOf) args.push('--as-of-ms', String(options.asOf.getTime()));
  const { stdout } = await promisify(execFile)(PYTHON, args, { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, IcebergTableRows>;
}
