import type { Parser } from 'csv-parse';

/** csv-parse as the landing check drives it: its options, chunk-wise feeding, and its errors in words. */

/**
 * Guard against an unterminated quote swallowing a multi-gigabyte file into one field held in
 * memory: a single record larger than this is rejected as MALFORMED_CSV.
 */
export const MAX_RECORD_BYTES = 128 * 1024 * 1024;

export function parserOptions(onRecord: (record: string[], bytes: number) => void) {
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
export const write = (parser: Parser, chunk: Buffer): Promise<Error | undefined> =>
  new Promise((resolve) => {
    parser.write(chunk, (error) => resolve(error ?? undefined));
  });

export const finish = (parser: Parser): Promise<Error | undefined> =>
  new Promise((resolve) => {
    parser.once('error', resolve);
    parser.once('finish', () => resolve(undefined));
    parser.once('close', () => resolve(undefined)); // never hang on a stream destroyed early
    parser.end();
  });

export const describeCsvError = (error: Error): string => {
  const code = (error as { code?: string }).code;
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'unterminated quoted field';
  if (code === 'CSV_MAX_RECORD_SIZE')
    return `a record is larger than ${MAX_RECORD_BYTES} bytes (likely an unterminated quoted field)`;
  return error.message;
};
