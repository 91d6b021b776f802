import type { Readable } from 'node:stream';
import { parse, type Parser } from 'csv-parse';
import { REQUIRED_COLUMNS } from '../../core/contract';
import type { ObjectStore } from '../shared/object-store';

/**
 * File-level checks on the files landed for one ingest date (SPEC §3, "File-level rules").
 *
 * Every direct child of `bronze/transactions/ingest_date=<D>/` is a landed file. Objects in
 * deeper "sub-folders" (`.../ingest_date=<D>/sub/x.csv`) are not landed files and are ignored,
 * as are folder-marker keys ending in `/`. Each file is read once, as a stream (files can be
 * gigabytes): the UTF-8 check, a strict RFC 4180 quote scanner and csv-parse all consume the
 * same chunks. Rejected files are copied byte-identical to `staging/runs/<runId>/rejected/<name>`
 * (the publish step moves them into quarantine); the manifest goes to
 * `staging/runs/<runId>/landing.json`. Bronze is only read.
 */

export interface LandingBuckets {
  readonly bronze: string;
  readonly staging: string;
}

/** An accepted file. `key` is its bronze key. */
export interface LandingFile {
  readonly name: string;
  readonly key: string;
  readonly records: number;
}

/** A rejected file. `key` is its bronze key; its copy is at `runs/<runId>/rejected/<name>` in staging. */
export interface RejectedFile {
  readonly name: string;
  readonly key: string;
  readonly code: string;
  readonly detail: string;
}

export interface LandingManifest {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly files: LandingFile[];
  readonly rejected: RejectedFile[];
}

export interface LandingResult {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly files_total: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly records: number;
  readonly reasons: Record<string, number>;
}

export type CheckResult = { ok: true; records: number } | { ok: false; code: string; detail: string };

/** File-level codes, in precedence order (the contract's `codes.file`). */
export const FILE_CODES = [
  'UNSUPPORTED_FILE_TYPE',
  'EMPTY_FILE',
  'INVALID_ENCODING',
  'MISSING_COLUMNS',
  'DUPLICATE_COLUMNS',
  'MALFORMED_CSV',
] as const;

/**
 * Guard against an unterminated quote swallowing a multi-gigabyte file into one field held in
 * memory: a single record larger than this is rejected as MALFORMED_CSV.
 */
export const MAX_RECORD_BYTES = 128 * 1024 * 1024;

export const landingPrefix = (ingestDate: string): string => `transactions/ingest_date=${ingestDate}/`;
export const manifestKey = (runId: string): string => `runs/${runId}/landing.json`;
export const rejectedKey = (runId: string, name: string): string => `runs/${runId}/rejected/${name}`;

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

/** Scanner states. */
const Q = {
  FieldStart: 0,
  Unquoted: 1,
  Quoted: 2,
  /** Inside a quoted field, just after a `"`: either the first half of `""` or the closing quote. */
  QuoteSeen: 3,
  /** After a closing quote and a CR: only LF may follow. */
  ClosedCr: 4,
  /** After a CR outside quotes: only LF may follow (RFC 4180 has no bare CR in unquoted text). */
  BareCr: 5,
} as const;
type QState = (typeof Q)[keyof typeof Q];

/**
 * Strict RFC 4180 quote scanner over raw bytes (the structural bytes `"` `,` CR LF are ASCII and
 * never occur inside a multi-byte UTF-8 sequence). csv-parse runs with `relax_quotes` so that a
 * bare `"` inside an unquoted field (`ab"c`) is not a file error, but that option also silences
 * its CSV_INVALID_CLOSING_QUOTE check; this scanner restores exactly that check (text between a
 * closing quote and the next delimiter) and also reports an unterminated quoted field at EOF.
 */
class QuoteScanner {
  private state: QState = Q.FieldStart;
  private offset = 0;
  private line = 1;
  private bomMatched = 0;
  private bomDone = false;
  private quoteLine = 1;
  error: { readonly offset: number; readonly message: string } | undefined;

  feed(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && !this.error; i++) {
      const byte = chunk[i];
      if (!this.bomDone) {
        if (byte === BOM[this.bomMatched]) {
          this.bomMatched++;
          this.offset++;
          if (this.bomMatched === BOM.length) this.bomDone = true;
          continue;
        }
        this.bomDone = true;
        // A partial BOM is ordinary (non-structural) bytes of the first field.
        if (this.bomMatched > 0) this.state = Q.Unquoted;
      }
      this.step(byte);
      this.offset++;
    }
  }

  end(): void {
    if (this.error) return;
    if (this.state === Q.Quoted) {
      this.fail(`unterminated quoted field (the quote opened on line ${this.quoteLine} is never closed)`);
    } else if (this.state === Q.ClosedCr) {
      this.fail(`a carriage return not followed by a line feed after a closing quote on line ${this.line}`);
    } else if (this.state === Q.BareCr) {
      this.fail(`a carriage return not followed by a line feed on line ${this.line}`);
    }
  }

  private fail(message: string): void {
    this.error = { offset: this.offset, message };
  }

  private step(byte: number): void {
    switch (this.state) {
      case Q.FieldStart:
        if (byte === QUOTE) {
          this.state = Q.Quoted;
          this.quoteLine = this.line;
        } else if (byte === LF) {
          this.line++;
        } else if (byte === CR) {
          this.state = Q.BareCr;
        } else if (byte !== COMMA) {
          this.state = Q.Unquoted;
        }
        return;
      case Q.Unquoted:
        if (byte === COMMA) this.state = Q.FieldStart;
        else if (byte === LF) {
          this.line++;
          this.state = Q.FieldStart;
        } else if (byte === CR) this.state = Q.BareCr;
        return;
      case Q.BareCr:
        // A lone CR would end a record for some parsers and not for others (Python's csv splits
        // there, csv-parse does not): outside quotes only CRLF is a line end, as RFC 4180 says.
        if (byte === LF) {
          this.line++;
          this.state = Q.FieldStart;
        } else this.fail(`a carriage return not followed by a line feed on line ${this.line}`);
        return;
      case Q.Quoted:
        if (byte === QUOTE) this.state = Q.QuoteSeen;
        else if (byte === LF) this.line++;
        return;
      case Q.QuoteSeen:
        if (byte === QUOTE) this.state = Q.Quoted;
        else if (byte === COMMA) this.state = Q.FieldStart;
        else if (byte === LF) {
          this.line++;
          this.state = Q.FieldStart;
        } else if (byte === CR) this.state = Q.ClosedCr;
        else this.fail(`text between a closing quote and the next delimiter on line ${this.line}`);
        return;
      case Q.ClosedCr:
        if (byte === LF) {
          this.line++;
          this.state = Q.FieldStart;
        } else this.fail(`text between a closing quote and the next delimiter on line ${this.line}`);
        return;
    }
  }
}

/** Lead byte → length of its sequence (0 = not a valid lead byte). */
const sequenceLength = (b: number): number =>
  b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;

/**
 * Offset of the first ill-formed UTF-8 sequence in `buf` (which starts at a character boundary),
 * or -1 if there is none (an incomplete sequence at the very end is not counted). Only used to
 * word the INVALID_ENCODING detail; the verdict itself comes from the fatal TextDecoder.
 */
function locateInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    const n = sequenceLength(b);
    if (n === 0) return i;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < n; k++) {
      if (i + k >= buf.length) return -1;
      const c = buf[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return -1;
}

/** The trailing bytes of `buf` (valid UTF-8 so far) that start a character not yet complete. */
function incompleteTail(buf: Buffer): Buffer {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
    if ((buf[i] & 0xc0) !== 0x80)
      return buf.length - i < sequenceLength(buf[i]) ? Buffer.from(buf.subarray(i)) : Buffer.alloc(0);
  }
  return Buffer.alloc(0);
}

const trimSpaces = (value: string): string => value.replace(/^ +| +$/g, '');

function checkHeader(header: readonly string[], required: readonly string[]): CheckResult | undefined {
  const names = header.map(trimSpaces);
  const present = new Set(names);
  const missing = required.filter((name) => !present.has(name));
  if (missing.length > 0)
    return { ok: false, code: 'MISSING_COLUMNS', detail: `missing column(s): ${missing.join(', ')}` };
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const name of names) {
    if (name === '') continue;
    if (seen.has(name) && !duplicates.includes(name)) duplicates.push(name);
    seen.add(name);
  }
  if (duplicates.length > 0) {
    return { ok: false, code: 'DUPLICATE_COLUMNS', detail: `duplicate column(s): ${duplicates.join(', ')}` };
  }
  return undefined;
}

function parserOptions(onRecord: (record: string[], bytes: number) => void) {
  return {
    delimiter: ',',
    quote: '"',
    escape: '"',
    // A wrong field count is a row-level problem (MALFORMED_ROW), not a file problem.
    relax_column_count: true,
    // `ab"c` is not a file error; the quote scanner keeps the closing-quote check strict.
    relax_quotes: true,
    skip_empty_lines: true,
    bom: true,
    // LF or CRLF, in any mix; a lone CR outside quotes is rejected by the scanner. (csv-parse's auto-detection would lock onto the
    // first line end it sees and would also accept CR-only files.)
    record_delimiter: ['\r\n', '\n'],
    max_record_size: MAX_RECORD_BYTES,
    on_record: (record: string[], context: { bytes: number }) => {
      onRecord(record, context.bytes);
      return null; // count only: nothing is buffered downstream
    },
  };
}

/** Feeds one chunk and resolves with the parser's error, if any. */
const write = (parser: Parser, chunk: Buffer): Promise<Error | undefined> =>
  new Promise((resolve) => {
    parser.write(chunk, (error) => resolve(error ?? undefined));
  });

const finish = (parser: Parser): Promise<Error | undefined> =>
  new Promise((resolve) => {
    parser.once('error', resolve);
    parser.once('finish', () => resolve(undefined));
    parser.once('close', () => resolve(undefined)); // never hang on a stream destroyed early
    parser.end();
  });

const describeCsvError = (error: Error): string => {
  const code = (error as { code?: string }).code;
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'unterminated quoted field';
  if (code === 'CSV_MAX_RECORD_SIZE')
    return `a record is larger than ${MAX_RECORD_BYTES} bytes (likely an unterminated quoted field)`;
  return error.message;
};

/**
 * The file-level checks for one file, in the SPEC's precedence order. `size` is the listed size;
 * `open` is called at most once, and only when the name and size pass. The whole file is read
 * (an encoding error anywhere outranks the header checks), except when it fails to decode.
 */
export async function checkFile(
  name: string,
  size: number,
  open: () => Promise<NodeJS.ReadableStream | Readable>,
  requiredColumns: readonly string[] = REQUIRED_COLUMNS,
): Promise<CheckResult> {
  if (!name.toLowerCase().endsWith('.csv')) {
    return { ok: false, code: 'UNSUPPORTED_FILE_TYPE', detail: `file name "${name}" does not end in .csv` };
  }
  if (size === 0) return { ok: false, code: 'EMPTY_FILE', detail: 'the file is empty (0 bytes)' };

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const scanner = new QuoteScanner();
  let header: string[] | undefined;
  let headerEnd = Infinity; // byte offset just after the header record
  let headerVerdict: CheckResult | undefined;
  let records = 0;
  const parser = parse(
    parserOptions((record, bytes) => {
      if (header === undefined) {
        header = record;
        headerEnd = bytes;
        headerVerdict = checkHeader(record, requiredColumns);
      } else {
        records++;
      }
    }),
  );
  parser.on('error', () => undefined); // surfaced through the write/finish callbacks
  parser.resume();
  let parserError: Error | undefined;
  let parserLive = true;
  let bytesRead = 0;
  let carry: Buffer = Buffer.alloc(0); // bytes of a character still incomplete at the end of the last chunk

  const stream = await open();
  try {
    for await (const raw of stream as AsyncIterable<Buffer | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      if (chunk.length === 0) continue;
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        parser.destroy();
        const at = locateInvalidUtf8(Buffer.concat([carry, chunk]));
        const where =
          at >= 0
            ? `at byte ${bytesRead - carry.length + at}`
            : `within bytes ${bytesRead}–${bytesRead + chunk.length - 1}`;
        return {
          ok: false,
          code: 'INVALID_ENCODING',
          detail: `the file is not valid UTF-8 (invalid byte sequence ${where})`,
        };
      }
      carry = incompleteTail(Buffer.concat([carry, chunk.subarray(Math.max(0, chunk.length - 3))]));
      bytesRead += chunk.length;
      if (parserLive) {
        scanner.feed(chunk);
        parserError = await write(parser, chunk);
        // Once the outcome is a rejection (a parse error, a quote error, a bad header), parsing is
        // pointless; only the encoding check still needs the remaining bytes.
        if (parserError || scanner.error || headerVerdict) parserLive = false;
      }
    }
    try {
      decoder.decode();
    } catch {
      parser.destroy();
      return {
        ok: false,
        code: 'INVALID_ENCODING',
        detail: `the file is not valid UTF-8 (it ends in the middle of a multi-byte character at byte ${bytesRead - carry.length})`,
      };
    }
  } finally {
    if (typeof (stream as Readable).destroy === 'function') (stream as Readable).destroy();
  }
  if (bytesRead === 0) {
    parser.destroy();
    return { ok: false, code: 'EMPTY_FILE', detail: 'the file is empty (0 bytes)' };
  }

  if (parserLive) scanner.end();
  // Flush the parser (it holds back a few bytes of look-ahead), so that a header that ends before
  // a quote error is still seen. A parse error found in this flush after a quote error is moot.
  if (!parserError && !headerVerdict) {
    const flushError = await finish(parser);
    if (parserLive) parserError = flushError;
  }
  parser.destroy();

  // A quote error inside the header record (or before any record) means the header cannot be read.
  const scanError = scanner.error;
  const malformed = scanError !== undefined ? { offset: scanError.offset, detail: scanError.message } : undefined;
  const parseFailure = parserError ? describeCsvError(parserError) : undefined;
  if (header === undefined || (malformed && malformed.offset < headerEnd)) {
    if (malformed)
      return { ok: false, code: 'MALFORMED_CSV', detail: `not RFC 4180 CSV: ${malformed.detail} in the header` };
    if (parseFailure) return { ok: false, code: 'MALFORMED_CSV', detail: `not RFC 4180 CSV: ${parseFailure}` };
  }
  if (header === undefined) {
    return {
      ok: false,
      code: 'MISSING_COLUMNS',
      detail: `the file has no header record (missing column(s): ${requiredColumns.join(', ')})`,
    };
  }
  if (headerVerdict) return headerVerdict;
  if (malformed) return { ok: false, code: 'MALFORMED_CSV', detail: `not RFC 4180 CSV: ${malformed.detail}` };
  if (parseFailure) return { ok: false, code: 'MALFORMED_CSV', detail: `not RFC 4180 CSV: ${parseFailure}` };
  return { ok: true, records };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks every file landed for `ingestDate`, copies the rejected ones to
 * `staging/runs/<runId>/rejected/<name>`, writes `staging/runs/<runId>/landing.json` and returns
 * the counts. Re-running with the same run id gives the same staging content (stale rejected
 * copies of that run id are removed).
 */
export async function validateLanding(
  input: { ingestDate: string; runId: string },
  deps: { store: ObjectStore; buckets: LandingBuckets; requiredColumns?: readonly string[] },
): Promise<LandingResult> {
  const { ingestDate, runId } = input;
  const { store, buckets } = deps;
  if (!DATE.test(ingestDate)) throw new Error(`ingestDate must be YYYY-MM-DD, got ${JSON.stringify(ingestDate)}`);
  if (runId === '' || runId.includes('/') || runId === '.' || runId === '..') {
    throw new Error(`invalid runId ${JSON.stringify(runId)}`);
  }
  const prefix = landingPrefix(ingestDate);
  const landed = (await store.list(buckets.bronze, prefix))
    .map((entry) => ({ ...entry, name: entry.key.slice(prefix.length) }))
    // Only direct children are landed files (deeper keys and folder markers are ignored).
    .filter((entry) => entry.name !== '' && !entry.name.includes('/'))
    .sort((a, b) => byteOrder(a.name, b.name));

  const files: LandingFile[] = [];
  const rejected: RejectedFile[] = [];
  for (const entry of landed) {
    const verdict = await checkFile(
      entry.name,
      entry.size,
      () => store.getStream(buckets.bronze, entry.key),
      deps.requiredColumns ?? REQUIRED_COLUMNS,
    );
    if (verdict.ok) {
      files.push({ name: entry.name, key: entry.key, records: verdict.records });
    } else {
      await store.copy(buckets.bronze, entry.key, buckets.staging, rejectedKey(runId, entry.name));
      rejected.push({ name: entry.name, key: entry.key, code: verdict.code, detail: verdict.detail });
    }
  }

  // Drop rejected copies left by an earlier attempt of the same run that are not rejected now.
  const keep = new Set(rejected.map((r) => rejectedKey(runId, r.name)));
  const stale = (await store.list(buckets.staging, rejectedKey(runId, '')))
    .map((entry) => entry.key)
    .filter((key) => !keep.has(key));
  if (stale.length > 0) await store.delete(buckets.staging, stale);

  const manifest: LandingManifest = { ingest_date: ingestDate, run_id: runId, files, rejected };
  await store.put(buckets.staging, manifestKey(runId), `${JSON.stringify(manifest, null, 2)}\n`);

  const reasons: Record<string, number> = {};
  const codes = [...FILE_CODES, ...rejected.map((r) => r.code)];
  for (const code of codes) {
    const count = rejected.filter((r) => r.code === code).length;
    if (count > 0) reasons[code] = count;
  }
  return {
    ingest_date: ingestDate,
    run_id: runId,
    files_total: landed.length,
    accepted: files.length,
    rejected: rejected.length,
    records: files.reduce((sum, f) => sum + f.records, 0),
    reasons,
  };
}
