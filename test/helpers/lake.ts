import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** RFC 4180 rendering of one record (quotes only where needed). */
export function csvRecord(fields: readonly string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

export function csvFile(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [csvRecord(header), ...rows.map(csvRecord)].join('\n') + '\n';
}

/** Every file under the published layers with its content hash: the lake's observable state. */
export function publishedState(
  lake: string,
  layers = ['silver', 'quarantine', 'condemned', 'gold'],
): Record<string, string> {
  const state: Record<string, string> = {};
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else state[path.relative(lake, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  for (const layer of layers) walk(path.join(lake, layer));
  return state;
}

/** Runs a query on DuckDB and returns rows as objects (values as JSON-friendly types). */
export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
