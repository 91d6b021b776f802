import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Folder of the Athena SQL files (one statement per file). */
export const SQL_DIR = path.join(__dirname, '..', 'sql');

/**
 * Reads `sql/<name>.sql` and fills its deployment placeholders (`{{NAME}}`), e.g. the staging
 * bucket an UNLOAD writes to. Runtime values are never placeholders: they are positional `?`
 * execution parameters, so the statement text is the same for every run.
 */
export function loadSql(name: string, placeholders: Readonly<Record<string, string>> = {}): string {
  const text = readFileSync(path.join(SQL_DIR, `${name}.sql`), 'utf8');
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (match, key: string) => {
    const value = placeholders[key];
    if (value === undefined) throw new Error(`sql/${name}.sql needs a value for ${match}`);
    return value;
  });
}
