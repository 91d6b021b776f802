/**
 * Strict RFC 4180 quote scanning over raw bytes, for the landing check (see core.ts): it restores
 * the closing-quote check that csv-parse's `relax_quotes` silences.
 */

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
export class QuoteScanner {
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
