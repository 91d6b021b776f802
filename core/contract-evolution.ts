/**
 * The schema-evolution protocol of the data contract (docs/schema-evolution.md).
 *
 * Contract versions are files `contract/transactions.v<N>.json`. A new version may only add optional
 * input columns (`optionalSourceColumns`) and append the columns they fill at the end of the
 * silver/quarantine/condemned tables. Everything else that changes what a historical Parquet file
 * means is refused: Athena and Glue read Parquet columns by name, old partitions are never
 * rewritten, so a removed, renamed, retyped or reordered column would break (or silently change)
 * the reading of data already in the lake, and a new required column would reject every file
 * written before it existed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Contract, type TableContract, optionalSourceColumns, parseContract } from './contract';

const VERSION_FILE = /^transactions\.v([1-9][0-9]*)\.json$/;

/** The layers whose columns the Glue job fills from the source columns (gold is built by `sql/`). */
const SOURCE_LAYERS: Readonly<Record<string, 'silver' | 'field'>> = {
  silver: 'silver',
  quarantine: 'field',
  condemned: 'field',
};

/**
 * Why `next` may not follow `previous` as the next contract version; empty when it may.
 * Every message names the table, column or source column concerned.
 */
export function checkEvolution(previous: Contract, next: Contract): string[] {
  const violations: string[] = [];
  if (next.name !== previous.name) {
    violations.push(`contract name changed from '${previous.name}' to '${next.name}'`);
  }
  if (next.version !== previous.version + 1) {
    violations.push(`version must be ${previous.version + 1} (previous is v${previous.version}), got ${next.version}`);
  }
  violations.push(...checkSourceColumns(previous, next));
  violations.push(...checkOptionalColumns(previous, next));
  for (const [name, prevTable] of Object.entries(previous.tables)) {
    const nextTable = next.tables[name];
    if (!nextTable) {
      violations.push(`table '${name}' was removed`);
      continue;
    }
    violations.push(...checkTable(name, prevTable, nextTable, next));
  }
  return violations;
}

/** Required source columns must stay exactly as they are (same names, fields, rules, codes, order). */
function checkSourceColumns(previous: Contract, next: Contract): string[] {
  const out: string[] = [];
  const nextByName = new Map(next.sourceColumns.map((c, i) => [c.name, { c, i }]));
  const previousNames = new Set(previous.sourceColumns.map((c) => c.name));
  const kept = previous.sourceColumns.filter((c) => nextByName.has(c.name)).map((c) => c.name);
  const keptInNext = next.sourceColumns.filter((c) => previousNames.has(c.name)).map((c) => c.name);
  const moved = new Set(kept.filter((name, k) => keptInNext[k] !== name));
  previous.sourceColumns.forEach((p, i) => {
    const hit = nextByName.get(p.name);
    if (!hit) {
      out.push(`required source column '${p.name}' was removed or renamed`);
      return;
    }
    if (moved.has(p.name)) out.push(`required source column '${p.name}' moved from position ${i + 1} to ${hit.i + 1}`);
    for (const key of ['field', 'silver', 'rule', 'missingCode', 'invalidCode'] as const) {
      if (hit.c[key] !== p[key]) {
        out.push(`required source column '${p.name}' changed its ${key} from '${p[key]}' to '${hit.c[key]}'`);
      }
    }
  });
  for (const c of next.sourceColumns) {
    if (!previousNames.has(c.name)) {
      out.push(
        `required source column '${c.name}' was added: every file landed before it would be rejected ` +
          `(MISSING_COLUMNS); add it to optionalSourceColumns instead`,
      );
    }
  }
  return out;
}

/** Optional source columns of the previous version stay unchanged; new ones must reach every table. */
function checkOptionalColumns(previous: Contract, next: Contract): string[] {
  const out: string[] = [];
  const nextOptional = optionalSourceColumns(next);
  const nextByName = new Map(nextOptional.map((c) => [c.name, c]));
  for (const p of optionalSourceColumns(previous)) {
    const n = nextByName.get(p.name);
    if (!n) {
      out.push(`optional source column '${p.name}' was removed or renamed`);
      continue;
    }
    for (const key of ['field', 'silver', 'type'] as const) {
      if (n[key] !== p[key]) {
        out.push(`optional source column '${p.name}' changed its ${key} from '${p[key]}' to '${n[key]}'`);
      }
    }
  }
  const previousNames = new Set(optionalSourceColumns(previous).map((c) => c.name));
  for (const c of nextOptional) {
    if (previousNames.has(c.name)) continue;
    for (const [tableName, table] of Object.entries(next.tables)) {
      const key = SOURCE_LAYERS[table.layer];
      if (!key) continue;
      if (!table.columns.some((col) => col.name === c[key])) {
        out.push(
          `new optional source column '${c.name}' is missing from table '${tableName}' ` +
            `(expected column '${c[key]}' ${c.type} at the end)`,
        );
      }
    }
  }
  return out;
}

function checkTable(name: string, prev: TableContract, next: TableContract, nextContract: Contract): string[] {
  const out: string[] = [];
  const where = `table '${name}'`;
  if (next.layer !== prev.layer) out.push(`${where}: layer changed from '${prev.layer}' to '${next.layer}'`);
  if (next.prefix !== prev.prefix) out.push(`${where}: prefix changed from '${prev.prefix}' to '${next.prefix}'`);

  // The previous columns must be an exact prefix of the next ones.
  const prevNames = new Set(prev.columns.map((c) => c.name));
  const nextIndex = new Map(next.columns.map((c, i) => [c.name, i]));
  // Reordered: the kept columns are not in their previous relative order (a removal alone is not a move).
  const kept = prev.columns.filter((c) => nextIndex.has(c.name)).map((c) => c.name);
  const keptInNext = next.columns.filter((c) => prevNames.has(c.name)).map((c) => c.name);
  const moved = new Set(kept.filter((name, k) => keptInNext[k] !== name));
  prev.columns.forEach((p, i) => {
    const j = nextIndex.get(p.name);
    if (j === undefined) {
      const atSamePlace = next.columns[i];
      if (atSamePlace && !prevNames.has(atSamePlace.name)) {
        out.push(
          `${where}: column '${p.name}' was removed or renamed (position ${i + 1} now holds ` +
            `'${atSamePlace.name}'); columns can only be added at the end`,
        );
      } else {
        out.push(`${where}: column '${p.name}' was removed`);
      }
      return;
    }
    const n = next.columns[j];
    if (moved.has(p.name)) {
      out.push(`${where}: column '${p.name}' moved from position ${i + 1} to ${j + 1} (columns cannot be reordered)`);
    }
    if (n.type !== p.type) out.push(`${where}: column '${p.name}' changed type from ${p.type} to ${n.type}`);
  });

  // Names must stay unique.
  const seen = new Set<string>();
  for (const c of next.columns) {
    if (seen.has(c.name)) out.push(`${where}: column '${c.name}' appears more than once`);
    seen.add(c.name);
  }

  // Partition spec: unchanged (Iceberg could evolve it, but every reader's partition filter relies on it).
  const spec = (t: TableContract): string => t.partitionSpec.map((f) => `${f.transform}(${f.column})`).join(', ');
  if (spec(prev) !== spec(next)) {
    out.push(`${where}: partition spec changed from [${spec(prev)}] to [${spec(next)}] (partitioning cannot change)`);
  }
  for (const f of next.partitionSpec) {
    if (!next.columns.some((c) => c.name === f.column)) {
      out.push(`${where}: partition source column '${f.column}' is not a column of the table`);
    }
  }

  // New columns: only at the end, each filled by an optional source column of the same type.
  const key = SOURCE_LAYERS[next.layer];
  const optional = optionalSourceColumns(nextContract);
  next.columns.forEach((c, k) => {
    if (prevNames.has(c.name)) return;
    const before = next.columns.slice(k + 1).find((x) => prevNames.has(x.name));
    const displaced = prev.columns[k];
    // A new name in the place of a removed column was reported above as a removal or rename.
    const renamed = displaced !== undefined && !nextIndex.has(displaced.name);
    if (before && !renamed) {
      out.push(
        `${where}: new column '${c.name}' was inserted at position ${k + 1} (before '${before.name}'); ` +
          `columns can only be added at the end`,
      );
    }
    const source = key ? optional.find((o) => o[key] === c.name) : undefined;
    if (!source) {
      out.push(
        `${where}: new column '${c.name}' is not backed by an optional source column` +
          (key ? ` (no optionalSourceColumns entry with ${key} '${c.name}')` : ` (${next.layer} columns cannot grow)`),
      );
    } else if (source.type !== c.type) {
      out.push(
        `${where}: new column '${c.name}' has type ${c.type} but optional source column '${source.name}' is ${source.type}`,
      );
    }
  });
  return out;
}

/** The contract versions in `dir` (files `transactions.v<N>.json`), in version order. */
export function loadContractVersions(dir: string): Contract[] {
  const files = fs
    .readdirSync(dir)
    .map((file) => ({ file, m: VERSION_FILE.exec(file) }))
    .filter((f): f is { file: string; m: RegExpExecArray } => f.m !== null)
    .map(({ file, m }) => ({ file, number: Number(m[1]) }))
    .sort((a, b) => a.number - b.number);
  return files.map(({ file, number }) => {
    const full = path.join(dir, file);
    let contract: Contract;
    try {
      contract = parseContract(JSON.parse(fs.readFileSync(full, 'utf8')));
    } catch (e) {
      throw new Error(`${full}: not a valid contract: ${(e as Error).message}`);
    }
    if (contract.version !== number) {
      throw new Error(`${full}: file name says version ${number} but the contract says ${contract.version}`);
    }
    return contract;
  });
}

/** Checks every consecutive pair of contract versions in `dir`; empty when the history is valid. */
export function checkContractHistory(dir: string): string[] {
  const versions = loadContractVersions(dir);
  if (versions.length === 0) return [`no transactions.v<N>.json contract in ${dir}`];
  const violations: string[] = [];
  if (versions[0].version !== 1) violations.push(`the first contract version is v${versions[0].version}, not v1`);
  for (let i = 1; i < versions.length; i++) {
    const [prev, next] = [versions[i - 1], versions[i]];
    for (const v of checkEvolution(prev, next)) violations.push(`v${prev.version} → v${next.version}: ${v}`);
  }
  return violations;
}
