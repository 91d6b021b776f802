import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { quoteIdent, quoteLiteral } from './duckdb-quoting';

/**
 * Athena's `UNLOAD (<query>) TO 's3://…' WITH (…)`, the one statement LocalAthena translates: parsed,
 * its target checked like Athena checks it, rewritten as a DuckDB `COPY`, and its output held to
 * Athena's limit of partitions per query.
 */

/** A parsed Athena `UNLOAD (<query>) TO '<uri>' WITH (...)` statement. */
export interface UnloadStatement {
  readonly query: string;
  readonly uri: string;
  readonly format: 'PARQUET' | 'JSON';
  readonly compression?: string;
  readonly partitionedBy: string[];
}

const LEADING_COMMENTS = String.raw`(?:\s|--[^\n]*(?:\n|$)|/\*[\s\S]*?\*/)*`;
const UNLOAD_RE = new RegExp(
  String.raw`^${LEADING_COMMENTS}UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'((?:[^']|'')*)'\s*WITH\s*\(([^()]*)\)\s*;?${LEADING_COMMENTS}$`,
  'i',
);

/** Splits `a = 'x', b = ARRAY['y', 'z']` at top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "'" && text[i + 1] === "'") {
        current += "''";
        i++;
        continue;
      }
      if (ch === "'") inString = false;
    } else if (ch === "'") inString = true;
    else if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

const unquote = (literal: string): string => {
  const m = /^'((?:[^']|'')*)'$/.exec(literal.trim());
  if (!m) throw new Error(`LocalAthena: expected a string literal, got ${literal}`);
  return m[1].replace(/''/g, "'");
};

/** Parses an Athena UNLOAD statement; returns undefined when `sql` is not one. */
export function parseUnload(sql: string): UnloadStatement | undefined {
  const m = UNLOAD_RE.exec(sql);
  if (!m) return undefined;
  const [, query, rawUri, rawProps] = m;
  let format: string | undefined;
  let compression: string | undefined;
  let partitionedBy: string[] = [];
  for (const prop of splitTopLevel(rawProps)) {
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]+)$/.exec(prop);
    if (!kv) throw new Error(`LocalAthena: cannot parse UNLOAD property '${prop}'`);
    const key = kv[1].toLowerCase();
    const value = kv[2].trim();
    if (key === 'format') format = unquote(value).toUpperCase();
    else if (key === 'compression') compression = unquote(value).toUpperCase();
    else if (key === 'partitioned_by') {
      const arr = /^ARRAY\s*\[([\s\S]*)\]$/i.exec(value);
      if (!arr) throw new Error(`LocalAthena: partitioned_by must be ARRAY[...], got ${value}`);
      partitionedBy = splitTopLevel(arr[1]).map(unquote);
    } else throw new Error(`LocalAthena: unsupported UNLOAD property '${kv[1]}'`);
  }
  if (format !== 'PARQUET' && format !== 'JSON') {
    throw new Error(`LocalAthena: unsupported UNLOAD format '${format ?? '(none)'}' (PARQUET or JSON)`);
  }
  return {
    query,
    uri: rawUri.replace(/''/g, "'"),
    format,
    compression,
    partitionedBy,
  };
}

/**
 * Athena's UNLOAD fails on a prefix that holds objects. S3 has no directories, so a local target
 * that holds only empty directories (left by a COPY killed before its first file) is empty: they
 * are removed, as DuckDB's partitioned COPY refuses any non-empty directory.
 */
export function assertEmptyTarget(dir: string, uri: string): void {
  if (!fs.existsSync(dir)) return;
  const files = (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter(
    (entry) => !entry.isDirectory(),
  );
  if (files.length > 0) {
    throw new Error(`UNLOAD target ${uri} (${dir}) is not empty: Athena's UNLOAD requires an empty location`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** DuckDB COPY statement equivalent to an Athena UNLOAD. Creates the target directory. */
export function copySql(unload: UnloadStatement, dir: string): string {
  const options = [`FORMAT ${unload.format === 'PARQUET' ? 'parquet' : 'json'}`];
  if (unload.compression) options.push(`COMPRESSION ${quoteLiteral(unload.compression.toLowerCase())}`);
  // S3 has no directories: create the (empty) target and its parents, as DuckDB does not
  fs.mkdirSync(dir, { recursive: true });
  let target: string;
  if (unload.partitionedBy.length > 0) {
    options.push(`PARTITION_BY (${unload.partitionedBy.map(quoteIdent).join(', ')})`);
    target = dir;
  } else {
    target = path.join(dir, `${randomUUID()}.${unload.format === 'PARQUET' ? 'parquet' : 'json'}`);
  }
  return `COPY (${unload.query}) TO ${quoteLiteral(target)} (${options.join(', ')})`;
}

/**
 * The partitions (distinct combinations of partition values) an UNLOAD wrote under `dir`: the
 * directories, relative to `dir` and `partitionCount` levels deep (`year=2024/month=01`), that hold
 * at least one file.
 */
export function writtenPartitions(dir: string, partitionCount: number): string[] {
  const partitions: string[] = [];
  const holdsFile = (d: string): boolean =>
    fs.readdirSync(d, { withFileTypes: true }).some((e) => !e.isDirectory() || holdsFile(path.join(d, e.name)));
  const walk = (d: string, names: string[]): void => {
    if (names.length === partitionCount) {
      if (holdsFile(d)) partitions.push(names.join('/'));
      return;
    }
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), [...names, e.name]);
    }
  };
  if (partitionCount > 0 && fs.existsSync(dir)) walk(dir, []);
  return partitions.sort();
}

/**
 * Athena's HIVE_TOO_MANY_OPEN_PARTITIONS: an UNLOAD (or INSERT) that writes more than `limit`
 * partitions fails with it. The Error's `name` is the code, its message Athena's text.
 */
export function tooManyPartitions(limit: number, detail: string): Error {
  const error = new Error(
    `HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of ${limit} open writers for partitions/buckets (${detail})`,
  );
  error.name = 'HIVE_TOO_MANY_OPEN_PARTITIONS';
  return error;
}

/**
 * Fails like Athena when the UNLOAD that wrote `dir` produced more than `limit` partitions. Checked
 * once the COPY has written them: the output stays in the target, as a failed Athena query may
 * leave partial output behind (the next UNLOAD to that target is refused: not empty).
 */
export function assertPartitionLimit(unload: UnloadStatement, dir: string, limit: number): void {
  const written = writtenPartitions(dir, unload.partitionedBy.length);
  if (written.length > limit) {
    throw tooManyPartitions(limit, `UNLOAD to ${unload.uri} wrote ${written.length} partitions`);
  }
}
