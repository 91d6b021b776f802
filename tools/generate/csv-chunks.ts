import { CONTRACT, REQUIRED_COLUMNS } from '../../core/contract';
import { ascii, Odometer, put2, putBytes, putDigits, putInt } from './ascii-digits';
import {
  DAY_MS,
  DAY_SECONDS,
  daysSinceEpoch,
  type GenerateOptions,
  MAX_LATE_DAYS,
  resolveGenerateOptions,
  rowsOfFile,
} from './generate-options';
import { fileSeed, mulberry32 } from './seeded-random';

/** Row synthesis: the CSV bytes of one generated file (what each row is: see generate.ts). */

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

/** Lines per chunk handed to the stream (≈ 0.5–1 MB). */
const CHUNK_LINES = 8192;
/** Earlier valid rows kept (reservoir sample) as duplicate sources. */
const RESERVOIR = 1024;
const FEBRUARY_30 = Uint8Array.from('-02-30', (c) => c.charCodeAt(0));

/** A currency code in neither the contract's allow-list nor the generated currencies. */
function unknownCurrency(currencies: readonly string[]): string {
  for (const c of ['XXX', 'XTS', 'ZZZ', 'QQQ']) {
    if (!CONTRACT.currencies.includes(c) && !currencies.includes(c)) return c;
  }
  throw new RangeError('no unknown currency code left for invalid rows');
}

const COMMA = 0x2c;
const DASH = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
/** Upper bound of one line's bytes (the longest possible line is under 100). */
const LINE_MAX = 128;

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
