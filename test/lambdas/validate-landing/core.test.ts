import { createReadStream, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseSync } from 'csv-parse/sync';
import * as fc from 'fast-check';
import { REQUIRED_COLUMNS } from '../../../core/contract';
import { FsObjectStore } from '../../../runner/local/fs-object-store';
import { checkFile, validateLanding, type LandingManifest } from '../../../lambdas/validate-landing/core';

const H = 'TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp';
const ROW = 't1,c1,10.50,EUR,2024-01-01T00:00:00Z';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A stream of `bytes` cut into chunks of `size` bytes (0 = one chunk). */
const chunked = (bytes: Buffer, size: number): Readable => {
  const parts: Buffer[] = [];
  if (size <= 0) parts.push(bytes);
  else for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
};

const toBuffer = (content: string | Buffer | readonly (string | Buffer)[]): Buffer =>
  typeof content === 'string'
    ? Buffer.from(content, 'utf8')
    : Buffer.isBuffer(content)
      ? content
      : Buffer.concat(content.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));

/**
 * checkFile on in-memory bytes, fed whole and in 1, 2, 3 and 7 byte chunks: the verdict must not
 * depend on where chunk boundaries fall (BOM, CRLF, quotes, multi-byte characters split).
 */
async function check(content: string | Buffer | readonly (string | Buffer)[], name = 'f.csv') {
  const bytes = toBuffer(content);
  const verdicts = [];
  for (const size of [0, 1, 2, 3, 7]) {
    verdicts.push(await checkFile(name, bytes.length, async () => chunked(bytes, size)));
  }
  for (const v of verdicts.slice(1)) expect(v).toEqual(verdicts[0]);
  return verdicts[0];
}

const ok = (records: number) => ({ ok: true, records });
const code = async (content: string | Buffer | readonly (string | Buffer)[], name?: string) => {
  const v = await check(content, name);
  return v.ok ? 'OK' : v.code;
};

describe('checkFile: name and size', () => {
  test('UNSUPPORTED_FILE_TYPE is decided from the name, without opening the file', async () => {
    for (const name of ['notes.txt', 'noextension', 'data.csv.gz', 'data.csvx', 'data_csv']) {
      const open = jest.fn(async () => chunked(Buffer.from(`${H}\n${ROW}\n`), 0));
      const v = await checkFile(name, 100, open);
      expect(v).toEqual({
        ok: false,
        code: 'UNSUPPORTED_FILE_TYPE',
        detail: `file name "${name}" does not end in .csv`,
      });
      expect(open).not.toHaveBeenCalled();
    }
  });

  test('.csv is case-insensitive', async () => {
    expect(await check(`${H}\n${ROW}\n`, 'UPPER.CSV')).toEqual(ok(1));
    expect(await check(`${H}\n${ROW}\n`, 'mixed.Csv')).toEqual(ok(1));
  });

  test('EMPTY_FILE: zero bytes, not opened; a non-csv empty file is UNSUPPORTED_FILE_TYPE first', async () => {
    const open = jest.fn(async () => chunked(Buffer.alloc(0), 0));
    expect(await checkFile('e.csv', 0, open)).toEqual({
      ok: false,
      code: 'EMPTY_FILE',
      detail: 'the file is empty (0 bytes)',
    });
    expect(open).not.toHaveBeenCalled();
    expect((await checkFile('e.txt', 0, open)).ok === false && 'UNSUPPORTED_FILE_TYPE').toBe('UNSUPPORTED_FILE_TYPE');
    // A stream that yields nothing although a size was listed is empty as well.
    expect(await checkFile('e.csv', 10, async () => Readable.from([]))).toMatchObject({ code: 'EMPTY_FILE' });
  });
});

describe('checkFile: encoding', () => {
  test('Windows-1252 bytes (0xE9) are INVALID_ENCODING', async () => {
    const v = await check([
      `${H}\n`,
      Buffer.from([0x74, 0x31, 0x2c, 0x52, 0xe9, 0x6e, 0xe9]),
      ',10,EUR,2024-01-01T00:00:00Z\n',
    ]);
    expect(v).toEqual({
      ok: false,
      code: 'INVALID_ENCODING',
      detail: `the file is not valid UTF-8 (invalid byte sequence at byte ${H.length + 1 + 4})`,
    });
  });

  test('a truncated multi-byte character at EOF is INVALID_ENCODING', async () => {
    const euro = Buffer.from('€', 'utf8'); // e2 82 ac
    const v = await check([`${H}\n${ROW}\n`, 't2,c2,1,EUR,x', euro.subarray(0, 2)]);
    expect(v).toEqual({
      ok: false,
      code: 'INVALID_ENCODING',
      detail: `the file is not valid UTF-8 (it ends in the middle of a multi-byte character at byte ${Buffer.byteLength(`${H}\n${ROW}\nt2,c2,1,EUR,x`)})`,
    });
    // The same character complete is fine.
    expect(await check([`${H}\n${ROW}\n`, 't2,c2,1,EUR,x', euro])).toEqual(ok(2));
  });

  test('other invalid UTF-8: overlong encoding, lone continuation byte, surrogate, UTF-16 BOM', async () => {
    expect(await code([`${H}\n`, Buffer.from([0xc0, 0xaf]), '\n'])).toBe('INVALID_ENCODING');
    expect(await code([`${H}\n`, Buffer.from([0x80]), '\n'])).toBe('INVALID_ENCODING');
    expect(await code([`${H}\n`, Buffer.from([0xed, 0xa0, 0x80]), '\n'])).toBe('INVALID_ENCODING');
    expect(await code([Buffer.from([0xff, 0xfe]), Buffer.from(`${H}\n`, 'utf16le')])).toBe('INVALID_ENCODING');
  });

  test('a UTF-8 BOM is allowed and ignored; multi-byte text and NUL bytes are valid', async () => {
    expect(await check([BOM, `${H}\n${ROW}\n`])).toEqual(ok(1));
    expect(await check([BOM, `${H}\r\nt1,Zoë Ångström 日本 😀,1,EUR,2024-01-01\r\n`])).toEqual(ok(1));
    expect(await check([`${H}\n`, 't1,c\u0000,1,EUR,2024-01-01\n'])).toEqual(ok(1));
  });

  test('INVALID_ENCODING outranks a bad header and a malformed CSV elsewhere in the file', async () => {
    expect(await code(['a,b\n"unterminated\n', Buffer.from([0xe9])])).toBe('INVALID_ENCODING');
    expect(await code(['TransactionID,TransactionID\n', Buffer.from([0xe9]), '\n'])).toBe('INVALID_ENCODING');
    expect(await code([`${H}\n"x"y,1\n`, Buffer.from([0xe9])])).toBe('INVALID_ENCODING');
  });
});

describe('checkFile: header', () => {
  test('a lone BOM, only empty lines, or only a BOM and line ends have no header: MISSING_COLUMNS', async () => {
    for (const content of [BOM, '\n', '\r\n\r\n\n', [BOM, '\n\n']] as const) {
      expect(await check(content as Buffer | string | Buffer[])).toEqual({
        ok: false,
        code: 'MISSING_COLUMNS',
        detail: `the file has no header record (missing column(s): ${REQUIRED_COLUMNS.join(', ')})`,
      });
    }
  });

  test('spaces around names are trimmed; a header only file has 0 records', async () => {
    const spaced = ' TransactionID ,  CustomerID,TransactionAmount  ,   Currency   , TransactionTimestamp ';
    expect(await check(`${spaced}\n${ROW}\n`)).toEqual(ok(1));
    expect(await check(`${H}\n`)).toEqual(ok(0));
    expect(await check(H)).toEqual(ok(0));
    expect(
      await check(`"TransactionID","CustomerID","TransactionAmount","Currency","TransactionTimestamp"\r\n`),
    ).toEqual(ok(0));
  });

  test('only spaces are trimmed, names are case-sensitive', async () => {
    expect(await check(`${H.replace('Currency', 'currency')}\n${ROW}\n`)).toEqual({
      ok: false,
      code: 'MISSING_COLUMNS',
      detail: 'missing column(s): Currency',
    });
    expect(await check(`${H.toUpperCase()}\n${ROW}\n`)).toEqual({
      ok: false,
      code: 'MISSING_COLUMNS',
      detail: `missing column(s): ${REQUIRED_COLUMNS.join(', ')}`,
    });
    expect(await code(`${H.replace('Currency', '\tCurrency')}\n${ROW}\n`)).toBe('MISSING_COLUMNS');
    expect(await code(`${H.replace(',Currency', '')}\n${ROW}\n`)).toBe('MISSING_COLUMNS');
  });

  test('another order and extra columns are accepted', async () => {
    const header = 'Note,TransactionTimestamp,Currency,Extra,TransactionAmount,CustomerID,TransactionID,';
    const rows = ['n,2024-01-01,EUR,x,1,c1,t1,', 'n,2024-01-01,EUR,x,2,c1,t2,'];
    expect(await check(`${header}\n${rows.join('\n')}\n`)).toEqual(ok(2));
  });

  test('DUPLICATE_COLUMNS for a repeated name (after trimming); empty names may repeat', async () => {
    expect(await check(`${H},Currency\n${ROW},EUR\n`)).toEqual({
      ok: false,
      code: 'DUPLICATE_COLUMNS',
      detail: 'duplicate column(s): Currency',
    });
    expect(await code(`${H},Note, Note \n${ROW},a,b\n`)).toBe('DUPLICATE_COLUMNS');
    expect(await check(`${H},,,\n${ROW},,,\n`)).toEqual(ok(1));
    // Missing columns are reported before duplicates.
    expect(await code(`TransactionID,TransactionID\nx,y\n`)).toBe('MISSING_COLUMNS');
  });

  test('header checks outrank a malformed record later in the file', async () => {
    expect(await code(`${H.replace('Currency', 'Ccy')}\n"unterminated\n`)).toBe('MISSING_COLUMNS');
    expect(await code(`${H},Currency\n"x"y,1\n`)).toBe('DUPLICATE_COLUMNS');
    expect(await code(`Foo\n${ROW}\n"x"y\n`)).toBe('MISSING_COLUMNS');
  });

  test('a carriage return outside quotes that is not part of CRLF is MALFORMED_CSV', async () => {
    // Parsers disagree on a bare CR (Python's csv ends the record there): RFC 4180 allows it only quoted.
    expect(await code(`${H}\r\nA-1,C\r1,1.00,EUR,2024-01-01T00:00:00Z\r\n`)).toBe('MALFORMED_CSV');
    expect(await code(`${H}\rA-1,C,1.00,EUR,2024-01-01T00:00:00Z\r`)).toBe('MALFORMED_CSV');
    expect(await code(`${H}\r\nA-1,"C\r1",1.00,EUR,2024-01-01T00:00:00Z\r\n`)).toBe('OK');
  });

  test('a header that cannot be parsed is MALFORMED_CSV', async () => {
    expect(await check(`"TransactionID"x,CustomerID\n${ROW}\n`)).toEqual({
      ok: false,
      code: 'MALFORMED_CSV',
      detail: 'not RFC 4180 CSV: text between a closing quote and the next delimiter on line 1 in the header',
    });
    expect(await code(`"${H}\n${ROW}\n`)).toBe('MALFORMED_CSV');
    expect(await code(`"Tx\n`)).toBe('MALFORMED_CSV');
    expect(await code(`\n\n${H.replace('Currency', '"Currency" ')}\n${ROW}\n`)).toBe('MALFORMED_CSV');
  });
});

describe('checkFile: MALFORMED_CSV', () => {
  test('an unterminated quoted field', async () => {
    expect(await check(`${H}\n${ROW}\nt2,"c2,1,EUR,2024-01-01\nt3,c3,1,EUR,2024-01-01\n`)).toEqual({
      ok: false,
      code: 'MALFORMED_CSV',
      detail: 'not RFC 4180 CSV: unterminated quoted field (the quote opened on line 3 is never closed)',
    });
    expect(await code(`${H}\n${ROW}\n"`)).toBe('MALFORMED_CSV');
    expect(await code(`${H}\n${ROW}\n"abc""`)).toBe('MALFORMED_CSV');
  });

  test('text between a closing quote and the next delimiter', async () => {
    expect(await check(`${H}\n${ROW}\n"t2"x,c2,1,EUR,2024-01-01\n`)).toEqual({
      ok: false,
      code: 'MALFORMED_CSV',
      detail: 'not RFC 4180 CSV: text between a closing quote and the next delimiter on line 3',
    });
    expect(await code(`${H}\n${ROW}\nt2,"c2" ,1,EUR,2024-01-01\n`)).toBe('MALFORMED_CSV'); // a space is text too
    expect(await code(`${H}\n${ROW}\nt2,c2,1,EUR,"2024-01-01""\n`)).toBe('MALFORMED_CSV'); // unterminated
    expect(await code(`${H}\n${ROW}\nt2,c2,1,EUR,"2024-01-01"""x\n`)).toBe('MALFORMED_CSV');
    // A lone CR after a closing quote is not a line end (LF or CRLF only).
    expect(await code(`${H}\n${ROW}\nt2,c2,1,EUR,"2024-01-01"\rt3\n`)).toBe('MALFORMED_CSV');
    expect(await code(`${H}\n${ROW}\nt2,c2,1,EUR,"2024-01-01"\r`)).toBe('MALFORMED_CSV');
    // Found far into a larger file (crosses many chunk boundaries).
    const body = Array.from({ length: 2000 }, (_, i) => `t${i},c,1,EUR,2024-01-01`).join('\n');
    expect(await code(`${H}\n${body}\n"a"b\n${body}\n`)).toBe('MALFORMED_CSV');
  });

  test('a bare quote inside an unquoted field is not a file error (relax_quotes)', async () => {
    expect(await check(`${H}\nab"c,c1,1,EUR,2024-01-01\nt2,x"",1,EUR,2024-01-01\nt3, "q",1,EUR,2024-01-01\n`)).toEqual(
      ok(3),
    );
  });

  test('csv-parse error codes for the malformed cases (documents why a strict scanner is needed)', () => {
    const opts = (relax: boolean) => ({
      delimiter: ',',
      quote: '"',
      escape: '"',
      relax_column_count: true,
      relax_quotes: relax,
      skip_empty_lines: true,
      bom: true,
      record_delimiter: ['\r\n', '\n'],
    });
    const errorCode = (text: string, relax: boolean): string => {
      try {
        parseSync(text, opts(relax));
        return 'none';
      } catch (error) {
        return (error as { code: string }).code;
      }
    };
    // Unterminated quoted field: reported with and without relax_quotes.
    expect(errorCode('a,b\n"x,y\n', true)).toBe('CSV_QUOTE_NOT_CLOSED');
    expect(errorCode('a,b\n"x,y\n', false)).toBe('CSV_QUOTE_NOT_CLOSED');
    // Text after a closing quote: relax_quotes HIDES it (the scanner in core.ts restores the check).
    expect(errorCode('a,b\n"x"y,z\n', false)).toBe('CSV_INVALID_CLOSING_QUOTE');
    expect(errorCode('a,b\n"x"y,z\n', true)).toBe('none');
    // Bare quote in an unquoted field: an error only without relax_quotes.
    expect(errorCode('a,b\nab"c,d\n', false)).toBe('INVALID_OPENING_QUOTE');
    expect(errorCode('a,b\nab"c,d\n', true)).toBe('none');
  });
});

describe('checkFile: records', () => {
  test('quoted fields with commas, quotes and newlines count as one record each', async () => {
    const content = [
      H,
      't1,"c,1","1.00",EUR,2024-01-01',
      't2,"say ""hi""",2,EUR,2024-01-01',
      '"t3","line one\nline two\r\nline three",3,EUR,2024-01-01',
      '"t4","",4,EUR,"2024-01-01"',
      '"t5","\n\n",5,EUR,2024-01-01',
    ].join('\n');
    expect(await check(content)).toEqual(ok(5));
    expect(await check(`${content}\n`)).toEqual(ok(5));
  });

  test('CRLF with blank lines: empty lines are not records, "" and whitespace lines are', async () => {
    const content = `\r\n${H}\r\n\r\n${ROW}\r\n\r\n\r\n${ROW}\r\n""\r\n  \r\n\r\n`;
    expect(await check(content)).toEqual(ok(4));
    // LF and CRLF mixed in one file.
    expect(await check(`${H}\r\n${ROW}\n\n${ROW}\r\n${ROW}`)).toEqual(ok(3));
  });

  test('a row with too few or too many fields is still a record (a row-level problem)', async () => {
    expect(await check(`${H}\nt1,c1\n${ROW},extra,more\nonly\n`)).toEqual(ok(3));
  });

  test('streams from a real file on disk (fs.createReadStream, small chunks)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'txlake-landing-'));
    try {
      const file = path.join(dir, 'big.csv');
      const rows = Array.from({ length: 20000 }, (_, i) => `t${i},"c, ${i}",${i}.5,EUR,"2024-01-01\n"`);
      await fs.writeFile(file, Buffer.concat([BOM, Buffer.from(`${H}\r\n${rows.join('\r\n')}\r\n`)]));
      const { size } = await fs.stat(file);
      const v = await checkFile('big.csv', size, async () => createReadStream(file, { highWaterMark: 1021 }));
      expect(v).toEqual(ok(20000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('property: generated well-formed CSV has exactly as many records as data rows', async () => {
    const char = fc.constantFrom('a', 'Z', '0', ' ', '\t', ',', '"', '\n', '\r\n', '\r', 'é', '€', '😀', ';', '\u0000');
    const field = fc.record({ text: fc.array(char, { maxLength: 8 }).map((cs) => cs.join('')), quote: fc.boolean() });
    const encode = (f: { text: string; quote: boolean }, only: boolean): string => {
      const mustQuote = /[,\n\r]/.test(f.text) || f.text.startsWith('"') || (only && f.text === '');
      return f.quote || mustQuote ? `"${f.text.replace(/"/g, '""')}"` : f.text;
    };
    const row = fc.array(field, { minLength: 1, maxLength: 7 });
    const file = fc.record({
      rows: fc.array(fc.record({ fields: row, blanksBefore: fc.nat(2) }), { maxLength: 25 }),
      eol: fc.constantFrom('\n', '\r\n'),
      mixed: fc.boolean(),
      bom: fc.boolean(),
      trailingEol: fc.boolean(),
      trailingBlanks: fc.nat(2),
      chunk: fc.integer({ min: 1, max: 50 }),
    });
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        let i = 0;
        const eol = () => (f.mixed && i++ % 2 === 1 ? (f.eol === '\n' ? '\r\n' : '\n') : f.eol);
        let text = H;
        for (const r of f.rows) {
          text += eol().repeat(1 + r.blanksBefore);
          text += r.fields.map((x) => encode(x, r.fields.length === 1)).join(',');
        }
        if (f.trailingEol) text += eol().repeat(1 + f.trailingBlanks);
        const bytes = Buffer.concat([f.bom ? BOM : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
        const whole = await checkFile('p.csv', bytes.length, async () => chunked(bytes, 0));
        const pieces = await checkFile('p.csv', bytes.length, async () => chunked(bytes, f.chunk));
        expect(whole).toEqual(ok(f.rows.length));
        expect(pieces).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkFile: malformed property', () => {
  test('property: one defect injected into a valid file is MALFORMED_CSV on its line (header intact)', async () => {
    const defect = fc.constantFrom('"x"y', '"x" ', '"x"""z', '""a', '"x"\ry');
    await fc.assert(
      fc.asyncProperty(
        fc.nat(30),
        fc.nat(30),
        defect,
        fc.constantFrom('\n', '\r\n'),
        fc.nat(4),
        fc.integer({ min: 1, max: 40 }),
        async (before, after, bad, eol, column, chunk) => {
          const fields = ['t', 'c', '1', 'EUR', '2024-01-01'];
          // Every good row spans two lines (a quoted newline), so the defect's line number is exact.
          const row = (i: number) => fields.map((f, j) => (j === 1 ? `"${f}${i},\n"` : f)).join(',');
          const badRow = fields.map((f, j) => (j === column ? bad : f)).join(',');
          const lines = [
            H,
            ...Array.from({ length: before }, (_, i) => row(i)),
            badRow,
            ...Array.from({ length: after }, (_, i) => row(i)),
          ];
          const bytes = Buffer.from(lines.join(eol) + eol);
          const v = await checkFile('m.csv', bytes.length, async () => chunked(bytes, chunk));
          expect(v).toMatchObject({ ok: false, code: 'MALFORMED_CSV' });
          expect((v as { detail: string }).detail).toContain(`on line ${2 + 2 * before}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('validateLanding', () => {
  let root: string;
  let store: FsObjectStore;
  const buckets = { bronze: 'bronze', staging: 'staging' };
  const D = '2024-03-05';
  const prefix = `transactions/ingest_date=${D}/`;

  const snapshot = async (dir: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    const walk = async (d: string): Promise<void> => {
      for (const e of await fs.readdir(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) await walk(full);
        else out[path.relative(dir, full)] = (await fs.readFile(full)).toString('base64');
      }
    };
    await walk(dir);
    return out;
  };

  const land: Record<string, Buffer> = {
    'b-good.csv': Buffer.from(`${H}\n${ROW}\nt2,c2,2,USD,2024-01-01\n"t3","multi\nline",3,GBP,2024-01-01\n`),
    'a-upper.CSV': Buffer.concat([BOM, Buffer.from(`${H}\r\n${ROW}\r\n\r\n`)]),
    'notes.txt': Buffer.from('hello\n'),
    'empty.csv': Buffer.alloc(0),
    'latin1.csv': Buffer.concat([Buffer.from(`${H}\nt1,Ren`), Buffer.from([0xe9]), Buffer.from(',1,EUR,2024-01-01\n')]),
    'dup.csv': Buffer.from(`${H},Currency\n${ROW},EUR\n`),
    'nocur.csv': Buffer.from(`${H.replace('Currency', 'currency')}\n${ROW}\n`),
    'z-bad.csv': Buffer.from(`${H}\n${ROW}\n"t2"x,c,1,EUR,2024-01-01\n`),
    'y-open.csv': Buffer.from(`${H}\n${ROW}\n"t2,c,1,EUR,2024-01-01\n`),
    'header-only.csv': Buffer.from(`${H}\n`),
  };

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'txlake-lake-'));
    store = new FsObjectStore(root);
    for (const [name, bytes] of Object.entries(land)) await store.put('bronze', prefix + name, bytes);
    // Not landed files of this date: a deeper key, another date.
    await store.put('bronze', `${prefix}sub/deep.csv`, `${H}\n${ROW}\n`);
    await store.put('bronze', `transactions/ingest_date=2024-03-06/other.csv`, `${H}\n${ROW}\n`);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('end to end: manifest, rejected copies, counts; bronze untouched', async () => {
    const before = await snapshot(path.join(root, 'bronze'));
    const result = await validateLanding({ ingestDate: D, runId: 'run-1' }, { store, buckets });

    expect(result).toEqual({
      ingest_date: D,
      run_id: 'run-1',
      files_total: 10,
      accepted: 3,
      rejected: 7,
      records: 4,
      reasons: {
        UNSUPPORTED_FILE_TYPE: 1,
        EMPTY_FILE: 1,
        INVALID_ENCODING: 1,
        MISSING_COLUMNS: 1,
        DUPLICATE_COLUMNS: 1,
        MALFORMED_CSV: 2,
      },
    });
    // The key order of reasons follows the rule precedence.
    expect(Object.keys(result.reasons)).toEqual([
      'UNSUPPORTED_FILE_TYPE',
      'EMPTY_FILE',
      'INVALID_ENCODING',
      'MISSING_COLUMNS',
      'DUPLICATE_COLUMNS',
      'MALFORMED_CSV',
    ]);

    const manifest = JSON.parse((await store.getText('staging', 'runs/run-1/landing.json'))!) as LandingManifest;
    expect(manifest).toEqual({
      ingest_date: D,
      run_id: 'run-1',
      files: [
        { name: 'a-upper.CSV', key: `${prefix}a-upper.CSV`, records: 1 },
        { name: 'b-good.csv', key: `${prefix}b-good.csv`, records: 3 },
        { name: 'header-only.csv', key: `${prefix}header-only.csv`, records: 0 },
      ],
      rejected: [
        {
          name: 'dup.csv',
          key: `${prefix}dup.csv`,
          code: 'DUPLICATE_COLUMNS',
          detail: 'duplicate column(s): Currency',
        },
        { name: 'empty.csv', key: `${prefix}empty.csv`, code: 'EMPTY_FILE', detail: 'the file is empty (0 bytes)' },
        {
          name: 'latin1.csv',
          key: `${prefix}latin1.csv`,
          code: 'INVALID_ENCODING',
          detail: expect.stringMatching(/UTF-8/),
        },
        {
          name: 'nocur.csv',
          key: `${prefix}nocur.csv`,
          code: 'MISSING_COLUMNS',
          detail: 'missing column(s): Currency',
        },
        {
          name: 'notes.txt',
          key: `${prefix}notes.txt`,
          code: 'UNSUPPORTED_FILE_TYPE',
          detail: 'file name "notes.txt" does not end in .csv',
        },
        {
          name: 'y-open.csv',
          key: `${prefix}y-open.csv`,
          code: 'MALFORMED_CSV',
          detail: expect.stringMatching(/unterminated/),
        },
        {
          name: 'z-bad.csv',
          key: `${prefix}z-bad.csv`,
          code: 'MALFORMED_CSV',
          detail: expect.stringMatching(/closing quote/),
        },
      ],
    });

    // Rejected files are byte-identical copies in staging; accepted ones are not copied.
    const staged = await store.list('staging', 'runs/run-1/rejected/');
    expect(staged.map((e) => e.key)).toEqual(manifest.rejected.map((r) => `runs/run-1/rejected/${r.name}`));
    for (const r of manifest.rejected) {
      expect((await store.getBytes('staging', `runs/run-1/rejected/${r.name}`)).equals(land[r.name])).toBe(true);
    }
    // Nothing written outside staging/runs/run-1; bronze byte-for-byte unchanged.
    expect((await store.list('staging', '')).every((e) => e.key.startsWith('runs/run-1/'))).toBe(true);
    expect(await snapshot(path.join(root, 'bronze'))).toEqual(before);
    await expect(fs.access(path.join(root, 'quarantine'))).rejects.toThrow();
  });

  test('re-running the same run id gives the same staging state (stale rejected copies removed)', async () => {
    await validateLanding({ ingestDate: D, runId: 'run-2' }, { store, buckets });
    const first = await snapshot(path.join(root, 'staging'));
    // A file fixed in between: its stale rejected copy must go.
    await store.put('bronze', `${prefix}dup.csv`, `${H}\n${ROW}\n`);
    const again = await validateLanding({ ingestDate: D, runId: 'run-2' }, { store, buckets });
    expect(again).toMatchObject({ accepted: 4, rejected: 6, records: 5 });
    expect(again.reasons.DUPLICATE_COLUMNS).toBeUndefined();
    const second = await snapshot(path.join(root, 'staging'));
    expect(Object.keys(second).sort()).toEqual(
      Object.keys(first)
        .filter((k) => !k.endsWith('dup.csv'))
        .sort(),
    );
  });

  test('a date with no landed files writes an empty manifest', async () => {
    const result = await validateLanding({ ingestDate: '2024-01-01', runId: 'r' }, { store, buckets });
    expect(result).toEqual({
      ingest_date: '2024-01-01',
      run_id: 'r',
      files_total: 0,
      accepted: 0,
      rejected: 0,
      records: 0,
      reasons: {},
    });
    expect(JSON.parse((await store.getText('staging', 'runs/r/landing.json'))!)).toEqual({
      ingest_date: '2024-01-01',
      run_id: 'r',
      files: [],
      rejected: [],
    });
  });

  test('files are processed in byte order of names; requiredColumns can be overridden', async () => {
    const lake = mkdtempSync(path.join(os.tmpdir(), 'txlake-lake-'));
    try {
      const s = new FsObjectStore(lake);
      for (const name of ['b.csv', 'B.csv', 'a.csv', 'é.csv', '_.csv'])
        await s.put('bronze', prefix + name, 'x,y\n1,2\n');
      const result = await validateLanding(
        { ingestDate: D, runId: 'r' },
        { store: s, buckets, requiredColumns: ['x', 'y'] },
      );
      expect(result).toMatchObject({ accepted: 5, records: 5 });
      const manifest = JSON.parse((await s.getText('staging', 'runs/r/landing.json'))!) as LandingManifest;
      expect(manifest.files.map((f) => f.name)).toEqual(['B.csv', '_.csv', 'a.csv', 'b.csv', 'é.csv']);
    } finally {
      rmSync(lake, { recursive: true, force: true });
    }
  });

  test('rejects a bad ingest date or run id', async () => {
    await expect(validateLanding({ ingestDate: '2024-3-5', runId: 'r' }, { store, buckets })).rejects.toThrow(
      /YYYY-MM-DD/,
    );
    await expect(validateLanding({ ingestDate: D, runId: 'a/b' }, { store, buckets })).rejects.toThrow(/runId/);
  });
});
