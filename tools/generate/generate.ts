import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import { isCalendarDate } from '../../core/lake-layout';
import { CONTRACT, REQUIRED_COLUMNS } from '../../core/contract';

/**
 * A deterministic generator of landed transaction files (SPEC §3) for tests and benchmarks.
 *
 * Same options ⇒ byte-identical files. Rows are produced in chunks and written with backpressure,
 * so memory stays constant whatever the size. Every row is either
 * - valid (it reaches silver), some of them *late* (a timestamp 1–90 days before the span);
 * - invalid: it breaks exactly one row rule (cycling through {@link INVALID_CODES}), so it is
 *   quarantined with that one code;
 * - a duplicate: an exact copy of an earlier valid row of the same file, so it is condemned with
 *   `DUPLICATE_ROW`.
 * TransactionIDs are unique across the files of one call (`TX<seed>-<startId + n>`), so no row is
 * ever a `DUPLICATE_TRANSACTION_ID`, and the summary's expected counts are exactly what a run of
 * the ingest date reports (on a lake without other data for colliding ids).
 */

export interface GenerateOptions {
  /** Data records in total, over all files. */
  readonly rows: number;
  /** Ingest date YYYY-MM-DD: the landing partition, and the last day of the timestamp span. */
  readonly ingestDate: string;
  /**
   * How many files the rows are split into (as evenly as possible, the first files get the extra row).
   * @default 1
   */
  readonly files?: number;
  /**
   * Seed of the pseudo-random generator (an unsigned 32-bit integer).
   * @default 1
   */
  readonly seed?: number;
  /**
   * Distinct CustomerIDs to draw from (`C000000`…).
   * @default 10_000
   */
  readonly accounts?: number;
  /**
   * Currencies of valid rows (uppercase ISO codes; they should be in the deployment's allow-list).
   * @default ['EUR', 'USD', 'GBP']
   */
  readonly currencies?: readonly string[];
  /**
   * Timestamps of non-late rows fall in the `spanDays` calendar days (UTC) that end with `ingestDate`
   * (1: the ingest date itself).
   * @default 1
   */
  readonly spanDays?: number;
  /**
   * Fraction of valid rows whose timestamp is 1–90 days before the span (late arrivals).
   * @default 0.01
   */
  readonly lateRate?: number;
  /**
   * Fraction of rows broken by exactly one row rule ({@link INVALID_CODES}, in turn).
   * @default 0.001
   */
  readonly invalidRate?: number;
  /**
   * Fraction of rows that repeat an earlier valid row of the same file byte for byte (`DUPLICATE_ROW`).
   * The first row of a file can never be one.
   * @default 0.001
   */
  readonly duplicateRate?: number;
  /**
   * Number of the first TransactionID. The default, `<days since 1970-01-01 of ingestDate> * 1e9`,
   * keeps the ids of different ingest dates apart (up to a billion rows a date).
   * @default daysSinceEpoch(ingestDate) * 1_000_000_000
   */
  readonly startId?: number;
}

export type ResolvedGenerateOptions = Required<GenerateOptions>;

/** The row rule each invalid row breaks, in turn (the n-th invalid row of a file gets code n mod 4). */
export const INVALID_CODES = [
  'INVALID_AMOUNT',
  'INVALID_CURRENCY',
  'INVALID_TIMESTAMP',
  'MISSING_CUSTOMER_ID',
] as const;
export type InvalidCode = (typeof INVALID_CODES)[number];

/** Counts of one generated file. */
export interface GeneratedFileCounts {
  /** Data records (header excluded). */
  readonly rows: number;
  readonly invalid: number;
  readonly duplicates: number;
  /** Valid, non-duplicate rows with a late timestamp. */
  readonly late: number;
  readonly reasons: Readonly<Record<InvalidCode, number>>;
  /** Size in bytes (all output is ASCII). */
  readonly bytes: number;
}

export interface GeneratedFile {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
}

/** What the files hold, and what a run of the ingest date must report for them. */
export interface GenerateSummary {
  readonly ingest_date: string;
  readonly seed: number;
  readonly files: readonly GeneratedFile[];
  readonly rows: number;
  readonly invalid: number;
  readonly duplicates: number;
  readonly late: number;
  /** Shaped like the `rows` and `reasons` of the run's JSON document (SPEC §5); reasons with 0 are left out. */
  readonly expected: {
    readonly rows: {
      readonly read: number;
      readonly silver: number;
      readonly quarantined: number;
      readonly condemned: number;
    };
    readonly reasons: Readonly<Record<string, number>>;
  };
}

const DAY_SECONDS = 86_400;
const DAY_MS = DAY_SECONDS * 1000;
const MAX_LATE_DAYS = 90;
const CURRENCY = /^[A-Z]{3}$/;
/** Lines per chunk handed to the stream (≈ 0.5–1 MB). */
const CHUNK_LINES = 8192;
/** Earlier valid rows kept (reservoir sample) as duplicate sources. */
const RESERVOIR = 1024;
const EARLIEST_MS = Date.UTC(1900, 0, 1);
const FEBRUARY_30 = Uint8Array.from('-02-30', (c) => c.charCodeAt(0));

const daysSinceEpoch = (date: string): number => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);

/** The name of file `index` (0-based) of a seed: `generated-<seed>-<index + 1>.csv`. */
export function generatedFileName(seed: number, index: number): string {
  return `generated-${seed}-${index + 1}.csv`;
}

/** Rows of file `index` (0-based): an even split, the first `rows % files` files get one more. */
export function rowsOfFile(rows: number, files: number, index: number): number {
  return Math.floor(rows / files) + (index < rows % files ? 1 : 0);
}

/** Fills in the defaults and checks the options; throws a RangeError with a one-line message. */
export function resolveGenerateOptions(options: GenerateOptions): ResolvedGenerateOptions {
  const fail = (message: string): never => {
    throw new RangeError(message);
  };
  const positiveInt = (name: string, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${value}`);
  };
  const rate = (name: string, value: number): void => {
    if (!(value >= 0 && value <= 1)) fail(`${name} must be between 0 and 1, got ${value}`);
  };
  if (!isCalendarDate(options.ingestDate)) fail(`ingestDate must be a date YYYY-MM-DD, got "${options.ingestDate}"`);
  const resolved: ResolvedGenerateOptions = {
    rows: options.rows,
    ingestDate: options.ingestDate,
    files: options.files ?? 1,
    seed: options.seed ?? 1,
    accounts: options.accounts ?? 10_000,
    currencies: [...(options.currencies ?? ['EUR', 'USD', 'GBP'])],
    spanDays: options.spanDays ?? 1,
    lateRate: options.lateRate ?? 0.01,
    invalidRate: options.invalidRate ?? 0.001,
    duplicateRate: options.duplicateRate ?? 0.001,
    startId: options.startId ?? daysSinceEpoch(options.ingestDate) * 1_000_000_000,
  };
  positiveInt('rows', resolved.rows);
  positiveInt('files', resolved.files);
  positiveInt('accounts', resolved.accounts);
  positiveInt('spanDays', resolved.spanDays);
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0 || resolved.seed > 0xffffffff) {
    fail(`seed must be an integer from 0 to ${0xffffffff}, got ${resolved.seed}`);
  }
  if (options.startId === undefined && resolved.startId < 0) {
    fail('the default startId needs an ingestDate from 1970-01-01 on; give a startId');
  }
  if (!Number.isSafeInteger(resolved.startId) || resolved.startId < 0) {
    fail(`startId must be a non-negative integer, got ${resolved.startId}`);
  }
  if (!Number.isSafeInteger(resolved.startId + resolved.rows)) fail('startId + rows is too large');
  if (options.startId === undefined && resolved.rows > 1_000_000_000) {
    fail('rows must not exceed 1000000000 per ingest date with the default startId');
  }
  rate('lateRate', resolved.lateRate);
  rate('invalidRate', resolved.invalidRate);
  rate('duplicateRate', resolved.duplicateRate);
  if (resolved.invalidRate + resolved.duplicateRate > 1) fail('invalidRate + duplicateRate must not exceed 1');
  if (resolved.currencies.length === 0) fail('currencies must not be empty');
  for (const c of resolved.currencies) {
    if (!CURRENCY.test(c)) fail(`currency "${c}" is not a code of 3 uppercase letters`);
  }
  const earliest = Date.parse(`${resolved.ingestDate}T00:00:00Z`) - (resolved.spanDays - 1 + MAX_LATE_DAYS) * DAY_MS;
  if (earliest < EARLIEST_MS) fail('spanDays reaches before 1900-01-01');
  return resolved;
}

/** mulberry32: a tiny, fast 32-bit PRNG; floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of file `index`: the user seed and the index, mixed (murmur3 finalizer). */
function fileSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A currency code in neither the contract's allow-list nor the generated currencies. */
function unknownCurrency(currencies: readonly string[]): string {
  for (const c of ['XXX', 'XTS', 'ZZZ', 'QQQ']) {
    if (!CONTRACT.currencies.includes(c) && !currencies.includes(c)) return c;
  }
  throw new RangeError('no unknown currency code left for invalid rows');
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const COMMA = 0x2c;
const DASH = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;
/** Upper bound of one line's bytes (the longest possible line is under 100). */
const LINE_MAX = 128;

/** Writes the decimal digits of a non-negative int32, left-padded with zeros to `width`. */
function putInt(buf: Uint8Array, pos: number, value: number, width: number): number {
  let len = 1;
  for (let v = value; v >= 10; v = (v / 10) | 0) len += 1;
  if (len < width) len = width;
  let v = value;
  for (let p = pos + len - 1; p >= pos; p -= 1) {
    const q = (v / 10) | 0;
    buf[p] = ZERO + v - q * 10;
    v = q;
  }
  return pos + len;
}

/** Writes the decimal digits of a safe non-negative integer, left-padded with zeros to `width`. */
function putDigits(buf: Uint8Array, pos: number, value: number, width: number): number {
  if (value < 0x80000000) return putInt(buf, pos, value, width);
  // high * 1e9 + low, both int32 (a safe integer is below 9.1e15).
  let high = Math.floor(value / 1e9);
  let low = value - high * 1e9;
  if (low < 0) {
    high -= 1;
    low += 1e9;
  } else if (low >= 1e9) {
    high += 1;
    low -= 1e9;
  }
  return putInt(buf, putInt(buf, pos, high, width - 9), low, 9);
}

/** The decimal digits of consecutive integers, incremented in place. */
class Odometer {
  private bytes: Uint8Array;
  private value: number;

  constructor(start: number) {
    this.value = start;
    this.bytes = ascii(String(start));
  }

  /** The digits of `value` (cheap when it is the previous value or the one after it). */
  digits(value: number): Uint8Array {
    if (value === this.value + 1) {
      this.value = value;
      let p = this.bytes.length - 1;
      while (p >= 0 && this.bytes[p] === 0x39) this.bytes[p--] = ZERO;
      if (p >= 0) this.bytes[p] += 1;
      else this.bytes = ascii(String(value));
    } else if (value !== this.value) {
      this.value = value;
      this.bytes = ascii(String(value));
    }
    return this.bytes;
  }
}

/** Two digits of 0–99. */
function put2(buf: Uint8Array, pos: number, value: number): number {
  const tens = (value / 10) | 0;
  buf[pos] = ZERO + tens;
  buf[pos + 1] = ZERO + value - tens * 10;
  return pos + 2;
}

function putBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i += 1) buf[pos + i] = bytes[i];
  return pos + bytes.length;
}

/**
 * The CSV bytes of file `index` (0-based) as chunks of many lines (the header first); the
 * generator returns the file's counts. Pure and synchronous: same options and index ⇒ same bytes.
 * All text is ASCII; lines end in LF. Each chunk is a fresh buffer (safe to hand to a stream).
 */
export function* generateCsvChunks(
  options: GenerateOptions,
  index: number,
): Generator<Buffer, GeneratedFileCounts, undefined> {
  const o = resolveGenerateOptions(options);
  if (!Number.isInteger(index) || index < 0 || index >= o.files) {
    throw new RangeError(`file index must be from 0 to ${o.files - 1}, got ${index}`);
  }
  const rng = mulberry32(fileSeed(o.seed, index));
  const rows = rowsOfFile(o.rows, o.files, index);
  let firstId = o.startId;
  for (let k = 0; k < index; k += 1) firstId += rowsOfFile(o.rows, o.files, k);
  const idPrefix = ascii(`TX${o.seed}-`);
  const id = new Odometer(firstId);

  const currencies = o.currencies.map(ascii);
  const badCurrency = ascii(unknownCurrency(o.currencies));
  const accountWidth = Math.max(6, String(o.accounts - 1).length);

  // Seconds since the epoch: the span is [spanStart, spanEnd), late rows fall before spanStart.
  const spanEnd = (daysSinceEpoch(o.ingestDate) + 1) * DAY_SECONDS;
  const spanSeconds = o.spanDays * DAY_SECONDS;
  const spanStart = spanEnd - spanSeconds;
  const dayNames = new Map<number, Uint8Array>();
  const dayName = (day: number): Uint8Array => {
    let name = dayNames.get(day);
    if (name === undefined) {
      name = ascii(new Date(day * DAY_MS).toISOString().slice(0, 10));
      dayNames.set(day, name);
    }
    return name;
  };

  // Reservoir sample of the earlier valid rows (every one equally likely to be repeated), kept as
  // fixed-size slots of one buffer.
  const reservoir = Buffer.alloc(RESERVOIR * LINE_MAX);
  const reservoirLength = new Uint8Array(RESERVOIR);
  let reservoirSize = 0;
  let validSeen = 0;
  let invalid = 0;
  let duplicates = 0;
  let late = 0;
  const reasons: Record<InvalidCode, number> = {
    INVALID_AMOUNT: 0,
    INVALID_CURRENCY: 0,
    INVALID_TIMESTAMP: 0,
    MISSING_CUSTOMER_ID: 0,
  };
  const duplicateBound = o.invalidRate + o.duplicateRate;

  const header = Buffer.from(`${REQUIRED_COLUMNS.join(',')}\n`, 'ascii');
  let bytes = header.length;
  yield header;

  let written = 0;
  while (written < rows) {
    const end = Math.min(rows, written + CHUNK_LINES);
    const buf = Buffer.allocUnsafe((end - written) * LINE_MAX);
    let pos = 0;
    for (let i = written; i < end; i += 1) {
      const lineStart = pos;
      const kind = rng();
      if (kind >= o.invalidRate && kind < duplicateBound && reservoirSize > 0) {
        const slot = (rng() * reservoirSize) | 0;
        const from = slot * LINE_MAX;
        pos += reservoir.copy(buf, pos, from, from + reservoirLength[slot]);
        duplicates += 1;
        continue;
      }
      const code: InvalidCode | undefined =
        kind < o.invalidRate ? INVALID_CODES[invalid % INVALID_CODES.length] : undefined;

      // TransactionID
      pos = putBytes(buf, pos, idPrefix);
      pos = putBytes(buf, pos, id.digits(firstId + i));
      buf[pos++] = COMMA;
      // CustomerID
      const customer = Math.floor(rng() * o.accounts);
      if (code !== 'MISSING_CUSTOMER_ID') {
        buf[pos++] = 0x43; // C
        pos = putDigits(buf, pos, customer, accountWidth);
      }
      buf[pos++] = COMMA;
      // TransactionAmount: cents with a long tail (up to 9999.99), about 55% debits.
      const cents = Math.floor(rng() * rng() * 1_000_000);
      if (rng() < 0.55) buf[pos++] = DASH;
      pos = putInt(buf, pos, (cents / 100) | 0, 1);
      buf[pos++] = DOT;
      if (code === 'INVALID_AMOUNT') pos = putInt(buf, pos, (rng() * 1000) | 0, 3);
      else pos = put2(buf, pos, cents % 100);
      buf[pos++] = COMMA;
      // Currency
      const currency = currencies[(rng() * currencies.length) | 0];
      pos = putBytes(buf, pos, code === 'INVALID_CURRENCY' ? badCurrency : currency);
      buf[pos++] = COMMA;
      // TransactionTimestamp: within the span, or (valid rows only) 1–90 days before it.
      const isLate = code === undefined && rng() < o.lateRate;
      const second = isLate
        ? spanStart - (1 + ((rng() * MAX_LATE_DAYS) | 0)) * DAY_SECONDS + ((rng() * DAY_SECONDS) | 0)
        : spanStart + ((rng() * spanSeconds) | 0);
      const day = Math.floor(second / DAY_SECONDS);
      const ofDay = second - day * DAY_SECONDS;
      const date = dayName(day);
      if (code === 'INVALID_TIMESTAMP') {
        // The year of the row, then a day that no month has.
        for (let k = 0; k < 4; k += 1) buf[pos++] = date[k];
        pos = putBytes(buf, pos, FEBRUARY_30);
      } else {
        pos = putBytes(buf, pos, date);
      }
      buf[pos++] = 0x54; // T
      pos = put2(buf, pos, (ofDay / 3600) | 0);
      buf[pos++] = COLON;
      pos = put2(buf, pos, ((ofDay % 3600) / 60) | 0);
      buf[pos++] = COLON;
      pos = put2(buf, pos, ofDay % 60);
      if (rng() < 0.25) {
        buf[pos++] = DOT;
        pos = putInt(buf, pos, (rng() * 1000) | 0, 3);
      }
      buf[pos++] = 0x5a; // Z
      buf[pos++] = 0x0a; // LF

      if (code !== undefined) {
        reasons[code] += 1;
        invalid += 1;
        continue;
      }
      if (isLate) late += 1;
      validSeen += 1;
      let slot = reservoirSize;
      if (reservoirSize < RESERVOIR) reservoirSize += 1;
      else slot = (rng() * validSeen) | 0;
      if (slot < RESERVOIR) {
        buf.copy(reservoir, slot * LINE_MAX, lineStart, pos);
        reservoirLength[slot] = pos - lineStart;
      }
    }
    written = end;
    bytes += pos;
    yield buf.subarray(0, pos);
  }
  return { rows, invalid, duplicates, late, reasons, bytes };
}

/** SHA-256 (hex) and counts of file `index` (0-based), without writing it anywhere. */
export function generatedFileDigest(
  options: GenerateOptions,
  index: number,
): { readonly sha256: string; readonly counts: GeneratedFileCounts } {
  const hash = createHash('sha256');
  const chunks = generateCsvChunks(options, index);
  for (;;) {
    const next = chunks.next();
    if (next.done) return { sha256: hash.digest('hex'), counts: next.value };
    hash.update(next.value);
  }
}

/** Writes file `index` (0-based) to `file` with backpressure; returns its counts. */
export async function writeGeneratedFile(
  file: string,
  options: GenerateOptions,
  index: number,
): Promise<GeneratedFileCounts> {
  const chunks = generateCsvChunks(options, index);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  try {
    for (;;) {
      const next = chunks.next();
      if (next.done) {
        out.end();
        await finished(out);
        return next.value;
      }
      if (!out.write(next.value)) await once(out, 'drain');
    }
  } catch (error) {
    out.destroy();
    throw error;
  }
}

/** Adds the files' counts up into a summary. */
export function summarize(
  options: GenerateOptions,
  files: readonly (GeneratedFileCounts & { readonly name: string })[],
): GenerateSummary {
  const o = resolveGenerateOptions(options);
  const sum = (key: 'rows' | 'invalid' | 'duplicates' | 'late'): number => files.reduce((n, f) => n + f[key], 0);
  const rows = sum('rows');
  const invalid = sum('invalid');
  const duplicates = sum('duplicates');
  const reasons: Record<string, number> = {};
  for (const code of INVALID_CODES) {
    const n = files.reduce((total, f) => total + f.reasons[code], 0);
    if (n > 0) reasons[code] = n;
  }
  if (duplicates > 0) reasons.DUPLICATE_ROW = duplicates;
  return {
    ingest_date: o.ingestDate,
    seed: o.seed,
    files: files.map((f) => ({ name: f.name, rows: f.rows, bytes: f.bytes })),
    rows,
    invalid,
    duplicates,
    late: sum('late'),
    expected: {
      rows: { read: rows, silver: rows - invalid - duplicates, quarantined: invalid, condemned: duplicates },
      reasons,
    },
  };
}

/**
 * Writes all files of `options` into `dir` (created if needed) as `generated-<seed>-<k>.csv`, one
 * after the other, and returns the summary. Existing files of the same names are overwritten.
 */
export async function generateFiles(
  dir: string,
  options: GenerateOptions,
  progress?: (file: GeneratedFile) => void,
): Promise<GenerateSummary> {
  const o = resolveGenerateOptions(options);
  mkdirSync(dir, { recursive: true });
  const files: (GeneratedFileCounts & { name: string })[] = [];
  for (let index = 0; index < o.files; index += 1) {
    const name = generatedFileName(o.seed, index);
    const counts = await writeGeneratedFile(path.join(dir, name), o, index);
    files.push({ name, ...counts });
    progress?.({ name, rows: counts.rows, bytes: counts.bytes });
  }
  return summarize(o, files);
}
