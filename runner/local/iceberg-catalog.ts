/**
 * The local lake's Iceberg catalog, read from Node without a JVM or Python: the SQLite file
 * `<lake>/catalog.db` (the `iceberg_tables` table that Iceberg's JdbcCatalog and pyiceberg's
 * SqlCatalog share) → the table's metadata JSON → the snapshot's manifest list → its manifests
 * (Avro). Used by LocalAthena to read a table's snapshot (current, as of an instant, or a branch)
 * through DuckDB over its live data files — never a glob of the table's directory, which also
 * holds files of other snapshots.
 *
 * Only copy-on-write snapshots are read: a snapshot holding delete files (merge-on-read) is refused
 * ({@link IcebergDeleteFilesError}), because applying them is not implemented here.
 *
 * 64-bit ids (snapshot ids exceed 2^53) are decimal strings throughout; Avro longs decode as BigInt.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import initSqlJs from 'sql.js';
import { z } from 'zod';

/** The file name of the local catalog in the lake directory. */
export const CATALOG_FILE = 'catalog.db';

/** The branch that is the table's published state. */
export const MAIN_BRANCH = 'main';
const MAIN = MAIN_BRANCH;

/** `<lake>/catalog.db`. */
export function catalogDbPathOf(lake: string): string {
  return path.join(lake, CATALOG_FILE);
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Any failure of the local catalog reader. */
export class IcebergCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class IcebergTableNotFoundError extends IcebergCatalogError {
  constructor(
    readonly table: string,
    catalogDbPath: string,
  ) {
    super(`Iceberg table ${table} does not exist in the catalog ${catalogDbPath}`);
  }
}

/** A branch or tag that the table does not have. */
export class IcebergRefNotFoundError extends IcebergCatalogError {
  constructor(
    readonly table: string,
    readonly ref: string,
  ) {
    super(`Iceberg table ${table} has no branch or tag '${ref}'`);
  }
}

/**
 * An instant before the table's first snapshot (in its snapshot log), like Iceberg's
 * `FOR TIMESTAMP AS OF` refuses it: the table had no state then.
 */
export class IcebergNoSnapshotAtInstantError extends IcebergCatalogError {
  constructor(
    readonly table: string,
    readonly instant: Date,
    /** the first snapshot's commit time; undefined when the table has no snapshot at all */
    readonly firstSnapshotAt: Date | undefined,
  ) {
    super(
      `Iceberg table ${table} has no snapshot at or before ${instant.toISOString()}: ` +
        (firstSnapshotAt
          ? `its first snapshot was committed at ${firstSnapshotAt.toISOString()}`
          : 'it has no snapshot yet'),
    );
  }
}

/** A snapshot that holds delete files (a merge-on-read write): its rows cannot be read file by file. */
export class IcebergDeleteFilesError extends IcebergCatalogError {
  constructor(
    readonly table: string,
    readonly snapshotId: string,
    readonly deleteFiles: readonly string[],
  ) {
    super(
      `Iceberg table ${table}, snapshot ${snapshotId}, holds ${deleteFiles.length} delete file(s) ` +
        `(merge-on-read), e.g. ${deleteFiles[0]}; the local reader reads copy-on-write snapshots only ` +
        `(the lake's tables are written with write.delete/update/merge.mode=copy-on-write)`,
    );
  }
}

/** The catalog file kept changing (or a writer's journal stayed) while it was read. */
export class IcebergCatalogBusyError extends IcebergCatalogError {
  constructor(catalogDbPath: string, attempts: number, reason: string) {
    super(`could not read a consistent state of ${catalogDbPath} in ${attempts} attempts: ${reason}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The model

/** An Iceberg type as the metadata JSON gives it: a primitive name, or a nested type object. */
export type IcebergFieldType = string | { readonly type: string; readonly [key: string]: unknown };

export interface IcebergSchemaField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  /** e.g. `string`, `long`, `date`, `timestamptz`, `decimal(16, 2)`, `{type: 'list', ...}` */
  readonly type: IcebergFieldType;
}

export interface IcebergSchema {
  readonly schemaId: number;
  readonly fields: readonly IcebergSchemaField[];
}

export interface IcebergPartitionField {
  readonly sourceId: number;
  readonly fieldId: number | undefined;
  readonly name: string;
  /** `identity`, `month`, `day`, `bucket[16]`, ... */
  readonly transform: string;
}

export interface IcebergPartitionSpec {
  readonly specId: number;
  readonly fields: readonly IcebergPartitionField[];
}

export interface IcebergSnapshot {
  /** decimal string (64-bit) */
  readonly snapshotId: string;
  readonly parentSnapshotId: string | undefined;
  readonly sequenceNumber: number | undefined;
  readonly timestampMs: number;
  /** local path of the manifest list */
  readonly manifestList: string;
  /** `operation`, `added-records`, `deleted-records`, `total-records`, snapshot properties ... */
  readonly summary: Readonly<Record<string, string>>;
  readonly schemaId: number | undefined;
}

export interface IcebergRef {
  readonly name: string;
  readonly type: 'branch' | 'tag';
  readonly snapshotId: string;
  readonly maxRefAgeMs: number | undefined;
  readonly maxSnapshotAgeMs: number | undefined;
  readonly minSnapshotsToKeep: number | undefined;
}

export interface IcebergSnapshotLogEntry {
  readonly timestampMs: number;
  readonly snapshotId: string;
}

export interface IcebergTableMetadata {
  /** `<catalog>.<namespace>.<table>` */
  readonly identifier: string;
  readonly tableName: string;
  /** local path of the metadata JSON the catalog points at */
  readonly metadataLocation: string;
  readonly formatVersion: number;
  readonly tableUuid: string | undefined;
  /** local path of the table's location */
  readonly location: string;
  readonly lastUpdatedMs: number | undefined;
  /** the current schema */
  readonly schema: IcebergSchema;
  readonly defaultSpecId: number;
  readonly partitionSpecs: readonly IcebergPartitionSpec[];
  readonly properties: Readonly<Record<string, string>>;
  /** main's head; undefined when the table has no snapshot yet */
  readonly currentSnapshotId: string | undefined;
  readonly snapshots: readonly IcebergSnapshot[];
  /** main's history, oldest first (what `FOR TIMESTAMP AS OF` resolves against) */
  readonly snapshotLog: readonly IcebergSnapshotLogEntry[];
  /** branches (including `main`) and tags */
  readonly refs: readonly IcebergRef[];
}

/** A partition value as the manifest stores it (Iceberg's internal representation). */
export type IcebergPartitionValue = string | number | bigint | boolean | Buffer | null;

export interface IcebergDataFile {
  /** local path */
  readonly path: string;
  /** `PARQUET`, `AVRO` or `ORC` */
  readonly fileFormat: string;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  readonly specId: number;
  /**
   * Partition tuple by partition field name, in Iceberg's representation: identity of a string is
   * the string, of a date the days since 1970-01-01; `month` is months since 1970-01; `day` days.
   */
  readonly partition: Readonly<Record<string, IcebergPartitionValue>>;
}

/**
 * Which snapshot to read: main's head (neither given), main as it was at `asOf` (Iceberg's
 * `FOR TIMESTAMP AS OF`), or the head of the branch or tag `ref` — not both.
 */
export interface SnapshotSelector {
  readonly asOf?: Date;
  readonly ref?: string;
}

export interface IcebergTableFiles {
  readonly metadata: IcebergTableMetadata;
  /** undefined when the selected ref has no snapshot (a table created and never written) */
  readonly snapshot: IcebergSnapshot | undefined;
  readonly files: readonly IcebergDataFile[];
}

// ---------------------------------------------------------------------------------------------
// Paths and the metadata JSON

/** `file:/x`, `file:///x` or `/x` → `/x`; the local catalog holds nothing else. */
export function icebergLocalPath(location: string): string {
  if (location.startsWith('file://')) {
    const rest = location.slice('file://'.length);
    if (rest.startsWith('/')) return rest;
  } else if (location.startsWith('file:/')) {
    return location.slice('file:'.length);
  } else if (location.startsWith('/')) {
    return location;
  }
  throw new IcebergCatalogError(`not a local file location in the local Iceberg catalog: ${location}`);
}

/**
 * JSON text with every integer literal beyond 2^53 turned into a string literal, so that
 * `JSON.parse` keeps 64-bit ids exact (Node 20's JSON.parse has no access to the source text).
 */
export function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end])) end++;
      const token = text.slice(i, end);
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(copied, i)}"${token}"`;
        copied = end;
      }
      i = end;
    } else {
      i++;
    }
  }
  return out + text.slice(copied);
}

const idJson = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform((v) => String(v));
const intJson = z.number().int();
const fieldJson = z.object({
  id: intJson,
  name: z.string(),
  required: z.boolean(),
  type: z.union([z.string(), z.looseObject({ type: z.string() })]),
});
const schemaJson = z.object({ 'schema-id': intJson.optional(), fields: z.array(fieldJson) });
const specFieldJson = z.object({
  'source-id': intJson,
  'field-id': intJson.optional(),
  name: z.string(),
  transform: z.string(),
});
const snapshotJson = z.object({
  'snapshot-id': idJson,
  'parent-snapshot-id': idJson.nullish(),
  'sequence-number': intJson.optional(),
  'timestamp-ms': intJson,
  'manifest-list': z.string().optional(),
  summary: z.record(z.string(), z.string()).optional(),
  'schema-id': intJson.optional(),
});
const refJson = z.object({
  'snapshot-id': idJson,
  type: z.enum(['branch', 'tag']),
  'max-ref-age-ms': intJson.nullish(),
  'max-snapshot-age-ms': intJson.nullish(),
  'min-snapshots-to-keep': intJson.nullish(),
});
const metadataJson = z.object({
  'format-version': intJson,
  'table-uuid': z.string().optional(),
  location: z.string(),
  'last-updated-ms': intJson.optional(),
  // v2 lists the schemas and specs; v1 may carry only the single `schema` / `partition-spec`
  schemas: z.array(schemaJson).optional(),
  'current-schema-id': intJson.optional(),
  schema: schemaJson.optional(),
  'partition-specs': z.array(z.object({ 'spec-id': intJson, fields: z.array(specFieldJson) })).optional(),
  'default-spec-id': intJson.optional(),
  'partition-spec': z.array(specFieldJson).optional(),
  properties: z.record(z.string(), z.string()).optional(),
  'current-snapshot-id': idJson.nullish(),
  snapshots: z.array(snapshotJson).optional(),
  'snapshot-log': z.array(z.object({ 'timestamp-ms': intJson, 'snapshot-id': idJson })).optional(),
  refs: z.record(z.string(), refJson).optional(),
});

/** Parses a table metadata JSON document (format v1 or v2). */
export function parseTableMetadata(
  text: string,
  where: { identifier: string; tableName: string; metadataLocation: string },
): IcebergTableMetadata {
  const parsed = metadataJson.safeParse(JSON.parse(quoteUnsafeIntegers(text)));
  if (!parsed.success) {
    throw new IcebergCatalogError(
      `unreadable Iceberg metadata ${where.metadataLocation}: ${z.prettifyError(parsed.error)}`,
    );
  }
  const m = parsed.data;
  const toSchema = (s: z.infer<typeof schemaJson>): IcebergSchema => ({
    schemaId: s['schema-id'] ?? 0,
    fields: s.fields.map((f) => ({ id: f.id, name: f.name, required: f.required, type: f.type })),
  });
  const schemaEntry = m.schemas?.find((s) => (s['schema-id'] ?? 0) === (m['current-schema-id'] ?? 0)) ?? m.schema;
  if (!schemaEntry) throw new IcebergCatalogError(`Iceberg metadata ${where.metadataLocation} has no current schema`);
  const toSpecField = (f: z.infer<typeof specFieldJson>): IcebergPartitionField => ({
    sourceId: f['source-id'],
    fieldId: f['field-id'],
    name: f.name,
    transform: f.transform,
  });
  const partitionSpecs =
    m['partition-specs']?.map((s) => ({ specId: s['spec-id'], fields: s.fields.map(toSpecField) })) ??
    (m['partition-spec'] ? [{ specId: 0, fields: m['partition-spec'].map(toSpecField) }] : []);
  // -1 is how format v1 writers said "no snapshot"
  const current = m['current-snapshot-id'] ?? undefined;
  const currentSnapshotId = current === undefined || current === '-1' ? undefined : current;
  const snapshots = (m.snapshots ?? []).map((s): IcebergSnapshot => {
    const manifestList = s['manifest-list'];
    if (manifestList === undefined) {
      // format v1 allowed a snapshot to list its manifests inline; no writer of ours does that
      throw new IcebergCatalogError(
        `Iceberg metadata ${where.metadataLocation}: snapshot ${s['snapshot-id']} has no manifest list`,
      );
    }
    return {
      snapshotId: s['snapshot-id'],
      parentSnapshotId: s['parent-snapshot-id'] ?? undefined,
      sequenceNumber: s['sequence-number'],
      timestampMs: s['timestamp-ms'],
      manifestList: icebergLocalPath(manifestList),
      summary: s.summary ?? {},
      schemaId: s['schema-id'],
    };
  });
  const refs: IcebergRef[] = Object.entries(m.refs ?? {}).map(([name, r]) => ({
    name,
    type: r.type,
    snapshotId: r['snapshot-id'],
    maxRefAgeMs: r['max-ref-age-ms'] ?? undefined,
    maxSnapshotAgeMs: r['max-snapshot-age-ms'] ?? undefined,
    minSnapshotsToKeep: r['min-snapshots-to-keep'] ?? undefined,
  }));
  // Writers before refs existed only had the current snapshot: it is main's head.
  if (currentSnapshotId !== undefined && !refs.some((r) => r.name === MAIN)) {
    refs.unshift({
      name: MAIN,
      type: 'branch',
      snapshotId: currentSnapshotId,
      maxRefAgeMs: undefined,
      maxSnapshotAgeMs: undefined,
      minSnapshotsToKeep: undefined,
    });
  }
  return {
    identifier: where.identifier,
    tableName: where.tableName,
    metadataLocation: where.metadataLocation,
    formatVersion: m['format-version'],
    tableUuid: m['table-uuid'],
    location: icebergLocalPath(m.location),
    lastUpdatedMs: m['last-updated-ms'],
    schema: toSchema(schemaEntry),
    defaultSpecId: m['default-spec-id'] ?? 0,
    partitionSpecs,
    properties: m.properties ?? {},
    currentSnapshotId,
    snapshots,
    snapshotLog: (m['snapshot-log'] ?? []).map((e) => ({
      timestampMs: e['timestamp-ms'],
      snapshotId: e['snapshot-id'],
    })),
    refs,
  };
}

/**
 * The snapshot a selector names: main's head; the snapshot that was main's head at `asOf` (the
 * last snapshot-log entry at or before it, as Iceberg's `FOR TIMESTAMP AS OF`); or a ref's head.
 * Undefined when main has no snapshot yet (a table created and never written).
 */
export function selectSnapshot(
  metadata: IcebergTableMetadata,
  selector: SnapshotSelector = {},
): IcebergSnapshot | undefined {
  if (selector.asOf !== undefined && selector.ref !== undefined) {
    throw new TypeError('selectSnapshot: give asOf or ref, not both');
  }
  let snapshotId: string | undefined;
  if (selector.asOf !== undefined) {
    const at = selector.asOf.getTime();
    if (Number.isNaN(at)) throw new TypeError('selectSnapshot: asOf is an invalid Date');
    for (const entry of metadata.snapshotLog) if (entry.timestampMs <= at) snapshotId = entry.snapshotId;
    if (snapshotId === undefined) {
      const first = metadata.snapshotLog[0];
      throw new IcebergNoSnapshotAtInstantError(
        metadata.identifier,
        selector.asOf,
        first ? new Date(first.timestampMs) : undefined,
      );
    }
  } else if (selector.ref !== undefined && selector.ref !== MAIN) {
    const ref = metadata.refs.find((r) => r.name === selector.ref);
    if (!ref) throw new IcebergRefNotFoundError(metadata.identifier, selector.ref);
    snapshotId = ref.snapshotId;
  } else {
    snapshotId = metadata.refs.find((r) => r.name === MAIN)?.snapshotId ?? metadata.currentSnapshotId;
    if (snapshotId === undefined) return undefined;
  }
  const snapshot = metadata.snapshots.find((s) => s.snapshotId === snapshotId);
  if (!snapshot) {
    throw new IcebergCatalogError(
      `Iceberg metadata ${metadata.metadataLocation} refers to snapshot ${snapshotId}, which it does not list`,
    );
  }
  return snapshot;
}

// ---------------------------------------------------------------------------------------------
// Avro (manifest lists and manifests)

/** Avro long as BigInt: avsc's default long type throws beyond 2^53, and snapshot ids go there. */
const BIG_LONG = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as string | number),
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

function isLongSchema(schema: unknown): boolean {
  return (
    schema === 'long' ||
    (typeof schema === 'object' &&
      schema !== null &&
      !Array.isArray(schema) &&
      'type' in schema &&
      schema.type === 'long')
  );
}

/** Every record of an Avro object container file, decoded with the writer's schema (longs as BigInt). */
function readAvroFile(file: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const records: Record<string, unknown>[] = [];
    avro
      .createFileDecoder(file, {
        parseHook: (schema) =>
          avro.Type.forSchema(schema, { typeHook: (s) => (isLongSchema(s) ? BIG_LONG : undefined) }),
      })
      .on('data', (record: Record<string, unknown>) => records.push(record))
      .on('error', (e: Error) => reject(new IcebergCatalogError(`cannot read Avro file ${file}: ${e.message}`)))
      .on('end', () => resolve(records));
  });
}

interface ManifestFile {
  readonly path: string;
  readonly specId: number;
  /** 0 data, 1 deletes (format v1 manifest lists have no content field: data) */
  readonly content: number;
}

interface ManifestEntry {
  /** 0 EXISTING, 1 ADDED, 2 DELETED */
  readonly status: number;
  /** 0 data, 1 position deletes, 2 equality deletes */
  readonly content: number;
  readonly path: string;
  readonly fileFormat: string;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  readonly partition: Readonly<Record<string, IcebergPartitionValue>>;
}

const MANIFEST_DELETED = 2;

function asNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= 0n) return Number(value);
  throw new IcebergCatalogError(`unexpected ${what} in an Iceberg manifest: ${String(value)}`);
}

function asString(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  throw new IcebergCatalogError(`unexpected ${what} in an Iceberg manifest: ${String(value)}`);
}

function toManifestFile(record: Record<string, unknown>): ManifestFile {
  return {
    path: icebergLocalPath(asString(record.manifest_path, 'manifest_path')),
    specId: asNumber(record.partition_spec_id, 'partition_spec_id'),
    content: record.content === undefined ? 0 : asNumber(record.content, 'manifest content'),
  };
}

function toManifestEntry(record: Record<string, unknown>): ManifestEntry {
  const dataFile = record.data_file as Record<string, unknown> | undefined;
  if (!dataFile) throw new IcebergCatalogError('an Iceberg manifest entry without data_file');
  const partition = (dataFile.partition ?? {}) as Record<string, IcebergPartitionValue>;
  return {
    status: asNumber(record.status, 'entry status'),
    content: dataFile.content === undefined ? 0 : asNumber(dataFile.content, 'data_file content'),
    path: icebergLocalPath(asString(dataFile.file_path, 'file_path')),
    fileFormat: asString(dataFile.file_format, 'file_format').toUpperCase(),
    recordCount: asNumber(dataFile.record_count, 'record_count'),
    fileSizeInBytes: asNumber(dataFile.file_size_in_bytes, 'file_size_in_bytes'),
    // a plain object (avsc decodes records as instances of generated classes)
    partition: { ...partition },
  };
}

// ---------------------------------------------------------------------------------------------
// The SQLite catalog

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;
let sqlJs: Promise<SqlJs> | undefined;

/** sql.js (SQLite compiled to WebAssembly: no native build), loaded once per process. */
function loadSqlJs(): Promise<SqlJs> {
  sqlJs ??= initSqlJs({
    locateFile: (file: string) => path.join(path.dirname(require.resolve('sql.js')), file),
  }).catch((e: unknown) => {
    sqlJs = undefined;
    throw e;
  });
  return sqlJs;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SQLite's file change counter: bytes 24..27 of the header, big-endian, bumped by every commit. */
const CHANGE_COUNTER_OFFSET = 24;

export interface ConsistentReadOptions {
  /** @default 100 */
  readonly attempts?: number;
  /**
   * pause between attempts; each pause is drawn from [retryDelayMs, 2 × retryDelayMs) so a reader
   * does not fall into step with a writer committing at a steady rate @default 20
   */
  readonly retryDelayMs?: number;
}

/**
 * The bytes of a SQLite database file that another process (Spark's JDBC driver, pyiceberg) may be
 * committing to, read without taking SQLite's locks: a rollback journal beside it means a
 * transaction is in flight (or was interrupted: the file may then be half-written until the next
 * writer rolls it back), and a change of the header's change counter, size or mtime between a stat
 * before and after means a commit landed during the read. Either way the read is retried, then
 * refused. Undefined when the file does not exist.
 */
export async function readSqliteFileConsistently(
  file: string,
  options: ConsistentReadOptions = {},
): Promise<Buffer | undefined> {
  const attempts = options.attempts ?? 100;
  const delayMs = options.retryDelayMs ?? 20;
  let reason = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(delayMs * (1 + Math.random()));
    if (fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0) {
      // commits in a write-ahead log are not in the main file yet; our writers use rollback journals
      throw new IcebergCatalogError(`${file} is in WAL mode (${file}-wal exists); the local reader needs journal mode`);
    }
    if (fs.existsSync(`${file}-journal`)) {
      reason = `${file}-journal exists (a transaction is in progress)`;
      continue;
    }
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const before = fs.fstatSync(fd);
      const counterBefore = readChangeCounter(fd);
      const bytes = Buffer.alloc(before.size);
      let read = 0;
      while (read < bytes.length) {
        const n = fs.readSync(fd, bytes, read, bytes.length - read, read);
        if (n === 0) break;
        read += n;
      }
      const after = fs.fstatSync(fd);
      const counterAfter = readChangeCounter(fd);
      const counterRead =
        bytes.length >= CHANGE_COUNTER_OFFSET + 4 ? bytes.readUInt32BE(CHANGE_COUNTER_OFFSET) : undefined;
      if (fs.existsSync(`${file}-journal`)) {
        reason = `${file}-journal appeared while reading`;
        continue;
      }
      if (
        read !== bytes.length ||
        before.size !== after.size ||
        before.mtimeMs !== after.mtimeMs ||
        counterBefore !== counterAfter ||
        counterRead !== counterBefore
      ) {
        reason = 'the file changed while it was read';
        continue;
      }
      return bytes;
    } finally {
      fs.closeSync(fd);
    }
  }
  throw new IcebergCatalogBusyError(file, attempts, reason);
}

function readChangeCounter(fd: number): number | undefined {
  const header = Buffer.alloc(4);
  const n = fs.readSync(fd, header, 0, 4, CHANGE_COUNTER_OFFSET);
  return n === 4 ? header.readUInt32BE(0) : undefined;
}

export interface IcebergCatalogOptions extends ConsistentReadOptions {
  /** `<lake>/catalog.db` */
  readonly catalogDbPath: string;
  /** the catalog's name (`iceberg_tables.catalog_name`): Spark's catalog name, `txlake` */
  readonly catalogName: string;
  /** the environment's Glue database, e.g. `txlake_dev` */
  readonly namespace: string;
}

/** Parsed manifests and metadata kept per reader: these files are immutable once written. */
const CACHE_LIMIT = 1024;

/**
 * The tables of one namespace of the local Iceberg catalog. Each call reads the catalog file
 * afresh (a commit by another process is seen by the next call); metadata files and manifests are
 * cached by path, since Iceberg never rewrites them.
 */
export class IcebergCatalog {
  private readonly metadataCache = new Map<string, IcebergTableMetadata>();
  private readonly avroCache = new Map<string, Promise<Record<string, unknown>[]>>();

  constructor(readonly options: IcebergCatalogOptions) {}

  /** `<catalog>.<namespace>.<table>` */
  identifier(tableName: string): string {
    return `${this.options.catalogName}.${this.options.namespace}.${tableName}`;
  }

  /** The table's current metadata file (local path), or undefined when the catalog has no such table. */
  async metadataLocation(tableName: string): Promise<string | undefined> {
    const bytes = await readSqliteFileConsistently(this.options.catalogDbPath, this.options);
    if (!bytes || bytes.length === 0) return undefined;
    const SQL = await loadSqlJs();
    const db = new SQL.Database(bytes);
    try {
      const columns = db.exec(`SELECT name FROM pragma_table_info('iceberg_tables')`);
      const names = new Set((columns[0]?.values ?? []).map((row) => String(row[0])));
      if (names.size === 0) return undefined; // a catalog without tables yet
      // JdbcCatalog V1 also keeps views in this table; V0 and old pyiceberg files lack the column
      const tablesOnly = names.has('iceberg_type') ? ` AND (iceberg_type IS NULL OR iceberg_type = 'TABLE')` : '';
      const statement = db.prepare(
        `SELECT metadata_location FROM iceberg_tables
         WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${tablesOnly}`,
      );
      try {
        statement.bind([this.options.catalogName, this.options.namespace, tableName]);
        if (!statement.step()) return undefined;
        const location = statement.get()[0];
        if (typeof location !== 'string') {
          throw new IcebergCatalogError(`${this.identifier(tableName)} has no metadata location in the catalog`);
        }
        return icebergLocalPath(location);
      } finally {
        statement.free();
      }
    } finally {
      db.close();
    }
  }

  async tableExists(tableName: string): Promise<boolean> {
    return (await this.metadataLocation(tableName)) !== undefined;
  }

  /** The table's current metadata; undefined when the catalog has no such table. */
  async tryLoadTable(tableName: string): Promise<IcebergTableMetadata | undefined> {
    const location = await this.metadataLocation(tableName);
    if (location === undefined) return undefined;
    const cached = this.metadataCache.get(location);
    if (cached) return cached;
    const metadata = parseTableMetadata(await fs.promises.readFile(location, 'utf8'), {
      identifier: this.identifier(tableName),
      tableName,
      metadataLocation: location,
    });
    remember(this.metadataCache, location, metadata);
    return metadata;
  }

  /** The table's current metadata; throws {@link IcebergTableNotFoundError} when it does not exist. */
  async loadTable(tableName: string): Promise<IcebergTableMetadata> {
    const metadata = await this.tryLoadTable(tableName);
    if (!metadata) throw new IcebergTableNotFoundError(this.identifier(tableName), this.options.catalogDbPath);
    return metadata;
  }

  /**
   * The live data files of a snapshot (manifest entries not DELETED), in path order. Throws
   * {@link IcebergDeleteFilesError} when the snapshot holds delete files.
   */
  async liveDataFiles(metadata: IcebergTableMetadata, snapshot: IcebergSnapshot): Promise<IcebergDataFile[]> {
    const manifests = (await this.readAvro(snapshot.manifestList)).map(toManifestFile);
    const perManifest = await Promise.all(
      manifests.map(async (manifest) => ({
        manifest,
        entries: (await this.readAvro(manifest.path)).map(toManifestEntry),
      })),
    );
    const files: IcebergDataFile[] = [];
    const deleteFiles: string[] = [];
    for (const { manifest, entries } of perManifest) {
      for (const entry of entries) {
        if (entry.status === MANIFEST_DELETED) continue;
        if (manifest.content !== 0 || entry.content !== 0) {
          deleteFiles.push(entry.path);
          continue;
        }
        files.push({
          path: entry.path,
          fileFormat: entry.fileFormat,
          recordCount: entry.recordCount,
          fileSizeInBytes: entry.fileSizeInBytes,
          specId: manifest.specId,
          partition: entry.partition,
        });
      }
    }
    if (deleteFiles.length > 0)
      throw new IcebergDeleteFilesError(metadata.identifier, snapshot.snapshotId, deleteFiles);
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * The table's metadata and the snapshot a selector names (undefined when the table has no
   * snapshot yet); throws {@link IcebergTableNotFoundError}, {@link IcebergRefNotFoundError},
   * {@link IcebergNoSnapshotAtInstantError}.
   */
  async snapshot(
    tableName: string,
    selector: SnapshotSelector = {},
  ): Promise<{ readonly metadata: IcebergTableMetadata; readonly snapshot: IcebergSnapshot | undefined }> {
    const metadata = await this.loadTable(tableName);
    return { metadata, snapshot: selectSnapshot(metadata, selector) };
  }

  /**
   * The table as of a selector: its metadata, the selected snapshot and that snapshot's live data
   * files (none when the table has no snapshot yet).
   */
  async tableFiles(tableName: string, selector: SnapshotSelector = {}): Promise<IcebergTableFiles> {
    const { metadata, snapshot } = await this.snapshot(tableName, selector);
    return { metadata, snapshot, files: snapshot ? await this.liveDataFiles(metadata, snapshot) : [] };
  }

  private readAvro(file: string): Promise<Record<string, unknown>[]> {
    const cached = this.avroCache.get(file);
    if (cached) return cached;
    const read = readAvroFile(file);
    // a failed read is not cached: the next query tries again
    read.catch(() => this.avroCache.delete(file));
    remember(this.avroCache, file, read);
    return read;
  }
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.set(key, value);
  // Maps iterate in insertion order: drop the oldest entry
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
}
