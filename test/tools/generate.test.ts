import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTRACT, REQUIRED_COLUMNS } from '../../core/contract';
import {
  type GeneratedFile,
  type GenerateOptions,
  type GenerateSummary,
  generateCsvChunks,
  generatedFileName,
  generateFiles,
  INVALID_CODES,
  resolveGenerateOptions,
} from '../../tools/generate/generate';
import { expectUsageError, tempLake, txlake } from '../helpers/cli';

const scratch: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'txlake-generate-'));
  scratch.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
const DAY_MS = 86_400_000;

/** File `index` of `options`, generated in memory. */
function csvText(options: GenerateOptions, index = 0): string {
  const chunks: Buffer[] = [];
  const generator = generateCsvChunks(options, index);
  for (let next = generator.next(); !next.done; next = generator.next()) chunks.push(next.value);
  return Buffer.concat(chunks).toString('ascii');
}

// SPEC §3 row rules, written from the spec (not from the pipeline's code).
const AMOUNT = /^[+-]?[0-9]{1,14}(\.[0-9]{1,2})?$/;
const TIMESTAMP =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.([0-9]{1,6}))?(Z|([+-])([0-9]{2}):([0-9]{2}))?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Epoch milliseconds of a timestamp that passes the rule, else undefined. */
function instant(value: string): number | undefined {
  const m = TIMESTAMP.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(local);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  const millis = m[8] ? Number(m[8].slice(0, 3).padEnd(3, '0')) : 0;
  const offset = m[10] ? (m[10] === '-' ? -1 : 1) * (Number(m[11]) * 60 + Number(m[12])) * 60_000 : 0;
  return local + millis - offset;
}

/** The codes a data record gets under SPEC §3's row rules (fields by header position). */
function rowCodes(header: readonly string[], fields: readonly string[]): string[] {
  if (fields.length !== header.length) return ['MALFORMED_ROW'];
  const value = (name: string): string => fields[header.indexOf(name)].replace(/^[ \t]+|[ \t]+$/g, '');
  const codes: string[] = [];
  for (const [column, code] of [
    ['TransactionID', 'TRANSACTION_ID'],
    ['CustomerID', 'CUSTOMER_ID'],
  ]) {
    const v = value(column);
    if (v === '') codes.push(`MISSING_${code}`);
    else if (v.length > 64 || CONTROL.test(v)) codes.push(`INVALID_${code}`);
  }
  const amount = value('TransactionAmount');
  if (amount === '') codes.push('MISSING_AMOUNT');
  else if (!AMOUNT.test(amount)) codes.push('INVALID_AMOUNT');
  const currency = value('Currency');
  if (currency === '') codes.push('MISSING_CURRENCY');
  else if (!CONTRACT.currencies.includes(currency.toUpperCase())) codes.push('INVALID_CURRENCY');
  const timestamp = value('TransactionTimestamp');
  if (timestamp === '') codes.push('MISSING_TIMESTAMP');
  else if (instant(timestamp) === undefined) codes.push('INVALID_TIMESTAMP');
  return codes;
}

describe('generateCsvChunks / generateFiles', () => {
  test('same options give byte-identical files; another seed gives other bytes', async () => {
    const options: GenerateOptions = { rows: 30_000, files: 3, ingestDate: '2024-03-01', seed: 42, invalidRate: 0.01 };
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    const first = await generateFiles(a, options);
    const second = await generateFiles(b, options);
    await generateFiles(c, { ...options, seed: 43 });
    expect(second).toEqual(first);
    expect(readdirSync(a).sort()).toEqual(['generated-42-1.csv', 'generated-42-2.csv', 'generated-42-3.csv']);
    for (const [index, file] of first.files.entries()) {
      const bytes = readFileSync(path.join(a, file.name));
      expect(bytes.equals(readFileSync(path.join(b, file.name)))).toBe(true);
      // The in-memory chunks are the file's bytes.
      expect(csvText(options, index)).toBe(bytes.toString('ascii'));
      expect(bytes.equals(readFileSync(path.join(c, generatedFileName(43, index))))).toBe(false);
    }
  });

  test('header, row split over the files, and the byte counts', async () => {
    const dir = tempDir();
    const summary = await generateFiles(dir, { rows: 10_001, files: 3, seed: 7, ingestDate: '2024-01-16' });
    expect(summary.files.map((f) => [f.name, f.rows])).toEqual([
      ['generated-7-1.csv', 3334],
      ['generated-7-2.csv', 3334],
      ['generated-7-3.csv', 3333],
    ]);
    expect(summary.rows).toBe(10_001);
    for (const file of summary.files) {
      const text = readFileSync(path.join(dir, file.name), 'utf8');
      expect(statSync(path.join(dir, file.name)).size).toBe(file.bytes);
      const lines = text.split('\n');
      expect(lines[0]).toBe(REQUIRED_COLUMNS.join(','));
      expect(lines[0]).toBe('TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp');
      expect(lines.pop()).toBe(''); // LF after the last record
      expect(lines).toHaveLength(file.rows + 1);
    }
  });

  test('each row is valid, broken by exactly one rule, or an exact copy of an earlier valid row', async () => {
    const options: GenerateOptions = {
      rows: 60_000,
      files: 2,
      seed: 5,
      ingestDate: '2024-03-01',
      accounts: 500,
      currencies: ['EUR', 'CHF'],
      spanDays: 3,
      lateRate: 0.1,
      invalidRate: 0.02,
      duplicateRate: 0.03,
    };
    const dir = tempDir();
    const summary = await generateFiles(dir, options);
    const spanStart = Date.UTC(2024, 1, 28); // the 3 days ending with 2024-03-01
    const spanEnd = Date.UTC(2024, 2, 2);
    const ids = new Map<string, string>();
    const reasons: Record<string, number> = {};
    // Checked row by row, collected (one expect per row would be slow): the list must stay empty.
    const problems: string[] = [];
    const check = (ok: boolean, what: string, line: string): void => {
      if (!ok && problems.length < 20) problems.push(`${what}: ${line}`);
    };
    let [invalid, duplicates, late, valid, withMillis, debits] = [0, 0, 0, 0, 0, 0];
    for (const file of summary.files) {
      const [headerLine, ...lines] = readFileSync(path.join(dir, file.name), 'ascii').trimEnd().split('\n');
      const header = headerLine.split(',');
      const validLines = new Set<string>();
      for (const line of lines) {
        const fields = line.split(',');
        const codes = rowCodes(header, fields);
        const [id, customer, amount, currency, timestamp] = fields;
        if (codes.length > 0) {
          // Broken by exactly one of the generator's rules, and never repeated.
          check(codes.length === 1, `codes ${codes.join('+')}`, line);
          check((INVALID_CODES as readonly string[]).includes(codes[0]), `unexpected ${codes[0]}`, line);
          check(!ids.has(id), 'invalid row with a used id', line);
          ids.set(id, line);
          reasons[codes[0]] = (reasons[codes[0]] ?? 0) + 1;
          invalid += 1;
        } else if (validLines.has(line)) {
          duplicates += 1; // an exact copy of an earlier valid row of the same file
        } else {
          // A new valid row: a fresh id, and values of the promised shapes.
          check(!ids.has(id), 'valid row with a used id', line);
          ids.set(id, line);
          validLines.add(line);
          valid += 1;
          check(/^C\d{6}$/.test(customer) && Number(customer.slice(1)) < 500, 'customer', line);
          check(/^-?\d{1,4}\.\d{2}$/.test(amount), 'amount', line);
          check(currency === 'EUR' || currency === 'CHF', 'currency', line);
          check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(timestamp), 'timestamp shape', line);
          const ts = instant(timestamp)!;
          if (ts < spanStart) {
            check(ts >= spanStart - 90 * DAY_MS, 'later than 90 days', line);
            late += 1;
          } else {
            check(ts < spanEnd, 'after the ingest date', line);
          }
          if (timestamp.includes('.')) withMillis += 1;
          if (amount.startsWith('-')) debits += 1;
        }
      }
    }
    expect(problems).toEqual([]);
    // The summary's counts are the observed ones...
    expect({ invalid, duplicates, late }).toEqual({
      invalid: summary.invalid,
      duplicates: summary.duplicates,
      late: summary.late,
    });
    expect(summary.expected.rows).toEqual({
      read: 60_000,
      silver: valid,
      quarantined: invalid,
      condemned: duplicates,
    });
    expect(summary.expected.reasons).toEqual({ ...reasons, DUPLICATE_ROW: duplicates });
    // ...and near the asked rates.
    expect(Math.abs(invalid / 60_000 - 0.02)).toBeLessThan(0.004);
    expect(Math.abs(duplicates / 60_000 - 0.03)).toBeLessThan(0.005);
    expect(Math.abs(late / valid - 0.1)).toBeLessThan(0.01);
    for (const code of INVALID_CODES) expect(Math.abs(reasons[code] - invalid / 4)).toBeLessThanOrEqual(2);
    expect(withMillis / valid).toBeGreaterThan(0.15);
    expect(debits / valid).toBeGreaterThan(0.4);
    expect(debits / valid).toBeLessThan(0.7);
  });

  test('transaction ids of different ingest dates and seeds never collide', () => {
    const firstId = (options: GenerateOptions): string => csvText(options).split('\n')[1].split(',')[0];
    expect(firstId({ rows: 1, ingestDate: '2024-03-01' })).toBe('TX1-19783000000000');
    expect(firstId({ rows: 1, ingestDate: '2024-03-02' })).toBe('TX1-19784000000000');
    expect(firstId({ rows: 1, ingestDate: '2024-03-01', seed: 2 })).toBe('TX2-19783000000000');
    expect(firstId({ rows: 1, ingestDate: '2024-03-01', startId: 5 })).toBe('TX1-5');
    // File k continues the ids of file k-1.
    const second = csvText({ rows: 10, files: 2, ingestDate: '2024-03-01', startId: 100 }, 1);
    expect(second.split('\n')[1]).toMatch(/^TX1-105,/);
  });

  test.each<[string, GenerateOptions, RegExp]>([
    ['rows 0', { rows: 0, ingestDate: '2024-03-01' }, /rows must be a positive integer/],
    ['fractional rows', { rows: 1.5, ingestDate: '2024-03-01' }, /rows must be a positive integer/],
    ['impossible date', { rows: 1, ingestDate: '2024-02-30' }, /ingestDate must be a date/],
    ['rate above 1', { rows: 1, ingestDate: '2024-03-01', lateRate: 1.5 }, /lateRate must be between 0 and 1/],
    ['rates summing above 1', { rows: 1, ingestDate: '2024-03-01', invalidRate: 0.6, duplicateRate: 0.6 }, /exceed 1/],
    ['lowercase currency', { rows: 1, ingestDate: '2024-03-01', currencies: ['eur'] }, /3 uppercase letters/],
    ['no currency', { rows: 1, ingestDate: '2024-03-01', currencies: [] }, /must not be empty/],
    ['seed too big', { rows: 1, ingestDate: '2024-03-01', seed: 2 ** 32 }, /seed must be an integer/],
    ['span before 1900', { rows: 1, ingestDate: '1900-02-01', spanDays: 10, startId: 0 }, /before 1900/],
    ['default startId before 1970', { rows: 1, ingestDate: '1969-12-31' }, /needs an ingestDate from 1970-01-01 on/],
  ])('bad options are refused: %s', (_name, options, message) => {
    expect(() => resolveGenerateOptions(options)).toThrow(RangeError);
    expect(() => resolveGenerateOptions(options)).toThrow(message);
  });
});

describe('txlake generate', () => {
  const landed = (lake: string, date: string): string =>
    path.join(lake, 'bronze', 'transactions', `ingest_date=${date}`);

  test('writes the files into the landing area and prints the summary', async () => {
    const lake = tempLake();
    const args = ['generate', '--date', '2024-03-01', '--rows', '5000', '--files', '2', '--seed', '3', '--lake', lake];
    const result = await txlake(args);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Omit<GenerateSummary, 'files'> & {
      files: (GeneratedFile & { key: string })[];
    };
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^\[txlake\] generated generated-3-1.csv: 2500 rows, \d+ bytes/);
    expect(readdirSync(landed(lake, '2024-03-01'))).toEqual(['generated-3-1.csv', 'generated-3-2.csv']);
    expect(summary.files.map((f) => f.key)).toEqual([
      'bronze/transactions/ingest_date=2024-03-01/generated-3-1.csv',
      'bronze/transactions/ingest_date=2024-03-01/generated-3-2.csv',
    ]);
    // The same as the library's own output.
    const dir = tempDir();
    const expected = await generateFiles(dir, { rows: 5000, files: 2, seed: 3, ingestDate: '2024-03-01' });
    expect({ ...summary, files: summary.files.map(({ name, rows, bytes }) => ({ name, rows, bytes })) }).toEqual(
      expected,
    );
    for (const f of expected.files) {
      expect(
        readFileSync(path.join(landed(lake, '2024-03-01'), f.name)).equals(readFileSync(path.join(dir, f.name))),
      ).toBe(true);
    }
    // No scratch files are left behind.
    expect(readdirSync(path.join(lake, '_local'))).toEqual([]);

    // Again with the same options: bronze already holds these bytes, fine.
    const again = await txlake(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(result.stdout);

    // Other options would change a landed file: refused, bronze is immutable.
    const before = readFileSync(path.join(landed(lake, '2024-03-01'), 'generated-3-1.csv'));
    const other = await txlake([...args.slice(0, 4), '4000', ...args.slice(5)]);
    expect(other.code).toBe(2);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(
      'txlake: bronze already holds a different generated-3-1.csv for 2024-03-01; bronze is immutable\n',
    );
    expect(readFileSync(path.join(landed(lake, '2024-03-01'), 'generated-3-1.csv')).equals(before)).toBe(true);
    expect(readdirSync(path.join(lake, '_local'))).toEqual([]);
  });

  describe('usage errors: exit 2, one line on stderr, nothing on stdout, nothing written', () => {
    const lake = tempLake();
    const notADir = path.join(lake, '..', `plain-file-${path.basename(lake)}`);
    writeFileSync(notADir, 'x');
    const gen = (...extra: string[]): string[] => ['generate', '--date', '2024-03-01', '--rows', '100', ...extra];

    test.each<[string, string[], RegExp]>([
      ['missing --date', ['generate', '--rows', '10'], /required option '--date <date>' not specified/],
      ['missing --rows', ['generate', '--date', '2024-03-01'], /required option '--rows <n>' not specified/],
      ['not a date', ['generate', '--date', '01/03/2024', '--rows', '10'], /"01\/03\/2024" is not a date YYYY-MM-DD/],
      ['impossible date', ['generate', '--date', '2023-02-29', '--rows', '10'], /"2023-02-29" is not a date/],
      ['zero rows', ['generate', '--date', '2024-03-01', '--rows', '0'], /"0" is not a positive integer/],
      ['negative rows', ['generate', '--date', '2024-03-01', '--rows', '-5'], /"-5" is not a positive integer/],
      ['fractional rows', ['generate', '--date', '2024-03-01', '--rows', '2.5'], /"2.5" is not a positive integer/],
      ['zero files', gen('--files', '0'), /"0" is not a positive integer/],
      ['zero span', gen('--span-days', '0'), /"0" is not a positive integer/],
      ['seed too big', gen('--seed', '4294967296'), /not a seed from 0 to 4294967295/],
      ['invalid rate above 1', gen('--invalid-rate', '1.5'), /not a ratio between 0 and 1/],
      ['negative duplicate rate', gen('--duplicate-rate', '-0.1'), /not a ratio between 0 and 1/],
      ['late rate not a number', gen('--late-rate', 'lots'), /not a ratio between 0 and 1/],
      ['rates above 1 together', gen('--invalid-rate', '0.6', '--duplicate-rate', '0.6'), /must not exceed 1/],
      ['lowercase currency', gen('--currencies', 'EUR,usd'), /"usd" is not a currency code \(3 uppercase letters\)/],
      ['empty currency', gen('--currencies', 'EUR,,USD'), /"" is not a currency code/],
      ['unknown currency', gen('--currencies', 'EUR,XYZ'), /unknown currency "XYZ": the contract allows EUR, USD/],
      ['span before 1900', gen('--span-days', '100000'), /before 1900-01-01/],
      ['unknown flag', gen('--colour'), /unknown option '--colour'/],
      ['lake is a file', [...gen(), '--lake', notADir], /is not a directory/],
    ])('%s', async (_name, args, message) => {
      const withLake = args.includes('--lake') ? args : [...args, '--lake', lake];
      const result = await txlake(withLake);
      expectUsageError(result, message);
      expect(readdirSync(lake)).toEqual([]);
    });

    test('--help describes the command', async () => {
      const result = await txlake(['generate', '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Usage: txlake generate/);
      expect(result.stdout).toMatch(/--duplicate-rate <r>/);
    });
  });
});

describe('generated files through the real local pipeline', () => {
  test('the run reports exactly the counts the generator expects', async () => {
    const lake = tempLake();
    const generated = await txlake([
      'generate',
      '--date',
      '2024-03-01',
      '--rows',
      '2000',
      '--files',
      '2',
      '--seed',
      '11',
      '--span-days',
      '40',
      '--late-rate',
      '0.05',
      '--invalid-rate',
      '0.02',
      '--duplicate-rate',
      '0.02',
      '--lake',
      lake,
    ]);
    expect(generated.code).toBe(0);
    const summary = JSON.parse(generated.stdout) as GenerateSummary;
    expect(summary.invalid).toBeGreaterThan(0);
    expect(summary.duplicates).toBeGreaterThan(0);
    expect(summary.late).toBeGreaterThan(0);

    const run = await txlake(['run', '--date', '2024-03-01', '--json', '--lake', lake]);
    expect(run.code).toBe(0);
    const [record] = (
      JSON.parse(run.stdout) as {
        runs: { status: string; files: unknown; rows: Record<string, number>; reasons: Record<string, number> }[];
      }
    ).runs;
    expect(record.status).toBe('SUCCEEDED');
    expect(record.files).toEqual({ accepted: 2, rejected: 0 });
    expect(record.rows).toEqual({
      read: summary.rows,
      silver: summary.rows - summary.invalid - summary.duplicates,
      quarantined: summary.invalid,
      condemned: summary.duplicates,
    });
    expect(record.rows).toEqual(summary.expected.rows);
    expect(record.reasons).toEqual(summary.expected.reasons);
  });
});
