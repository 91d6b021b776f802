import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { REQUIRED_COLUMNS } from '../../core/contract';
import { describeCsvError, finish, parserOptions, write } from './csv-parser';
import { checkHeader } from './header';
import { QuoteScanner } from './quote-scanner';
import { incompleteTail, locateInvalidUtf8 } from './utf8';

/**
 * The file-level checks of one landed file (SPEC §3): read once, as a stream; the UTF-8 check, the
 * quote scanner and csv-parse all consume the same chunks.
 */

export type CheckResult = { ok: true; records: number } | { ok: false; code: string; detail: string };

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
