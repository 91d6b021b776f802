import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { type RunSummary, txlake } from '../helpers/cli';
import {
  CORPUS_FILES_DIR,
  type Destination,
  FIVE_MB,
  type FileExpectation,
  loadExpectations,
  MILLION,
  MILLION_BAD_RECORD,
  MILLION_RECORDS,
  type RecordExpectation,
  writeGeneratedCorpus,
} from '../helpers/corpus';
import { tempDir, tempLake } from '../helpers/lake';
import { duck } from '../helpers/lake-state';
import { tableScan } from '../helpers/lake-tables';

/**
 * The hostile input corpus (test/corpus, issue "Hostile input corpus"): every file, committed
 * or generated, is landed for ONE ingest date through the real CLI and the date is run once.
 * Each file must get exactly its SPEC §3 outcome (test/corpus/expected.json); the run must
 * succeed and account for every data record of every accepted file.
 */
const DATE = '2024-02-01';
const all = loadExpectations();
const expected = all;
const names = Object.keys(expected);
const rejectedNames = names.filter((n) => expected[n].rejected !== undefined);
const acceptedNames = names.filter((n) => expected[n].rejected === undefined);
const DESTINATIONS: Destination[] = ['silver', 'quarantined', 'condemned'];

interface RecordRow {
  source_file: string;
  source_record: string;
  to: Destination;
  error_codes: string[];
  [column: string]: unknown;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sumOf = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);
const sql = (value: string): string => `'${value.replace(/'/g, "''")}'`;
/** Values longer than this come back as `<N chars>` (the 5 MB fields). */
const SHOWN = 1000;
const shown = (column: string): string =>
  `CASE WHEN length(${column}) > ${SHOWN} THEN '<' || length(${column}) || ' chars>' ELSE ${column} END AS ${column}`;

describe('hostile input corpus: every file gets exactly its SPEC §3 outcome in one run', () => {
  const lake = tempLake();
  const generatedDir = tempDir('txlake-corpus-');
  const sources: Record<string, string> = {};
  let result: { code: number; stdout: string; stderr: string };
  let run: RunSummary['runs'][number];
  /** rows per destination, by file */
  const counts: Record<string, Record<Destination, number>> = {};
  /** rows per code, by file */
  const codes: Record<string, Record<string, number>> = {};
  /** the expected records' rows, by file and source_record */
  const records: Record<string, Record<string, RecordRow[]>> = {};
  let rejections: { name: string; code: string }[] = [];

  /** Each destination table's current snapshot, as DuckDB reads it (filled once the run is done). */
  const scans = {} as Record<Destination, string>;
  const layer = (dest: Destination): string => `(SELECT * FROM ${scans[dest]} WHERE ingest_date = DATE '${DATE}')`;

  beforeAll(async () => {
    for (const name of readdirSync(CORPUS_FILES_DIR)) sources[name] = path.join(CORPUS_FILES_DIR, name);
    Object.assign(
      sources,
      writeGeneratedCorpus(
        generatedDir,
        names.filter((n) => expected[n].generated),
      ),
    );

    for (const name of Object.keys(sources).sort(byteOrder)) {
      const landed = await txlake(['land', sources[name], '--date', DATE, '--lake', lake]);
      expect({ name, code: landed.code, stderr: landed.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
    result = await txlake(['run', '--date', DATE, '--lake', lake, '--json', '--max-quarantine-ratio', '1']);
    run = (JSON.parse(result.stdout) as RunSummary).runs[0];
    if (run.status !== 'SUCCEEDED') return; // reported by the SUCCEEDED test, with the run's progress
    for (const [dest, table] of [
      ['silver', 'silver_transactions'],
      ['quarantined', 'quarantine_transactions'],
      ['condemned', 'condemned_transactions'],
    ] as const) {
      scans[dest] = (await tableScan(lake, table)) ?? '(SELECT NULL AS source_file WHERE false)';
    }

    for (const dest of DESTINATIONS) {
      for (const row of await duck(`SELECT source_file, count(*) AS n FROM ${layer(dest)} GROUP BY source_file`)) {
        const file = row.source_file as string;
        counts[file] ??= { silver: 0, quarantined: 0, condemned: 0 };
        counts[file][dest] = Number(row.n);
      }
    }
    for (const row of await duck(
      `SELECT source_file, code, count(*) AS n FROM (
         SELECT source_file, unnest(error_codes) AS code FROM ${layer('quarantined')}
         UNION ALL SELECT source_file, unnest(error_codes) AS code FROM ${layer('condemned')})
       GROUP BY ALL`,
    )) {
      (codes[row.source_file as string] ??= {})[row.code as string] = Number(row.n);
    }

    // The records named in expected.json, from whichever layer holds them.
    const wanted = acceptedNames.flatMap((name) =>
      Object.keys(expected[name].records ?? {}).map((n) => `(${sql(name)}, ${Number(n)})`),
    );
    const raw = ['transaction_id', 'customer_id', 'transaction_amount', 'currency', 'transaction_timestamp'];
    const select = `
      SELECT 'silver' AS "to", source_file, source_record, []::VARCHAR[] AS error_codes,
        ${shown('transaction_id')}, ${shown('customer_id')}, CAST(amount AS VARCHAR) AS amount, currency,
        strftime(transaction_ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS transaction_ts
      FROM ${layer('silver')} WHERE EXISTS (SELECT 1 FROM wanted WHERE f = source_file AND r = source_record)
      UNION ALL BY NAME
      SELECT 'quarantined' AS "to", source_file, source_record, error_codes, ${raw.map(shown).join(', ')}
      FROM ${layer('quarantined')} WHERE EXISTS (SELECT 1 FROM wanted WHERE f = source_file AND r = source_record)
      UNION ALL BY NAME
      SELECT 'condemned' AS "to", source_file, source_record, error_codes, ${raw.map(shown).join(', ')}
      FROM ${layer('condemned')} WHERE EXISTS (SELECT 1 FROM wanted WHERE f = source_file AND r = source_record)`;
    for (const row of await duck(`WITH wanted(f, r) AS (VALUES ${wanted.join(', ')}) ${select}`)) {
      const r = row as unknown as RecordRow;
      ((records[r.source_file] ??= {})[String(r.source_record)] ??= []).push(r);
    }

    const rejectionsFile = path.join(lake, 'quarantine', 'file_rejections', `ingest_date=${DATE}`, 'rejections.json');
    if (existsSync(rejectionsFile)) rejections = JSON.parse(readFileSync(rejectionsFile, 'utf8')).files;
  }, 600_000);

  afterAll(() => {
    for (const dir of [generatedDir, lake]) rmSync(dir, { recursive: true, force: true });
  });

  test('the corpus has at least 30 files and expected.json covers exactly the committed and generated ones', () => {
    expect(Object.keys(sources).length).toBeGreaterThanOrEqual(30);
    expect(readdirSync(CORPUS_FILES_DIR).length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(sources).sort(byteOrder)).toEqual([...names].sort(byteOrder));
    for (const name of names) {
      const e = expected[name];
      expect({ name, generated: Boolean(e.generated) }).toEqual({
        name,
        generated: !sources[name].startsWith(CORPUS_FILES_DIR),
      });
      if (!e.generated)
        expect({ name, size: readFileSync(sources[name]).length <= 64 * 1024 }).toEqual({ name, size: true });
    }
  });

  test('the run SUCCEEDED and its counts cover every data record of the accepted files', () => {
    expect({ code: result.code, status: run.status, error: run.error, progress: result.stderr }).toEqual({
      code: 0,
      status: 'SUCCEEDED',
      error: undefined,
      progress: expect.any(String),
    });
    expect(run.files).toEqual({ accepted: acceptedNames.length, rejected: rejectedNames.length });
    const records = sumOf(acceptedNames.map((n) => sumOf(Object.values(expected[n].rows ?? {}))));
    expect(run.rows.read).toBe(records);
    expect(run.rows.read).toBe(run.rows.silver + run.rows.quarantined + run.rows.condemned);
    for (const dest of DESTINATIONS) {
      expect({ dest, n: run.rows[dest] }).toEqual({
        dest,
        n: sumOf(acceptedNames.map((n) => expected[n].rows?.[dest] ?? 0)),
      });
      expect({ dest, n: sumOf(Object.values(counts).map((c) => c[dest])) }).toEqual({ dest, n: run.rows[dest] });
    }
    // reasons: rows per code plus rejected files per file-level code.
    const reasons: Record<string, number> = {};
    for (const name of names) {
      const e = expected[name];
      if (e.rejected) reasons[e.rejected] = (reasons[e.rejected] ?? 0) + 1;
      for (const [code, n] of Object.entries(e.codes ?? {})) reasons[code] = (reasons[code] ?? 0) + n;
    }
    expect(run.reasons).toEqual(reasons);
  });

  test.each(rejectedNames)('rejected: %s', (name) => {
    const e = expected[name] as FileExpectation & { rejected: string };
    const copy = path.join(lake, 'quarantine', 'files', `ingest_date=${DATE}`, name);
    expect({ name, copied: existsSync(copy) }).toEqual({ name, copied: true });
    expect(readFileSync(copy).equals(readFileSync(sources[name]))).toBe(true);
    expect(rejections.filter((r) => r.name === name).map((r) => r.code)).toEqual([e.rejected]);
    expect(counts[name]).toBeUndefined(); // none of its rows is processed
    // Bronze is never modified.
    const bronze = path.join(lake, 'bronze', 'transactions', `ingest_date=${DATE}`, name);
    expect(readFileSync(bronze).equals(readFileSync(sources[name]))).toBe(true);
  });

  test.each(acceptedNames)('accepted: %s', (name) => {
    const e = expected[name];
    const empty = { silver: 0, quarantined: 0, condemned: 0 };
    expect({ name, rows: counts[name] ?? empty, codes: codes[name] ?? {} }).toEqual({
      name,
      rows: e.rows,
      codes: e.codes ?? {},
    });
    expect(rejections.some((r) => r.name === name)).toBe(false);
    for (const [n, want] of Object.entries(e.records ?? {})) {
      const got = records[name]?.[n] ?? [];
      // Exactly one destination per record: nothing lost, nothing doubled.
      expect({ record: n, destinations: got.map((r) => r.to) }).toEqual({ record: n, destinations: [want.to] });
      const actual: RecordExpectation = {
        to: got[0].to,
        ...(want.codes ? { codes: got[0].error_codes } : {}),
        ...(want.values
          ? { values: Object.fromEntries(Object.keys(want.values).map((k) => [k, got[0][k] as string | null])) }
          : {}),
      };
      expect({ record: n, ...actual }).toEqual({ record: n, ...want });
    }
  });

  test('the 1 M-row file: 999,999 rows in silver, its one bad row quarantined with its code and source_record', async () => {
    expect(counts[MILLION]).toEqual({ silver: MILLION_RECORDS - 1, quarantined: 1, condemned: 0 });
    const bad = await duck(
      `SELECT transaction_id, transaction_amount, error_codes, source_record FROM ${layer('quarantined')} WHERE source_file = '${MILLION}'`,
    );
    expect(bad).toEqual([
      {
        transaction_id: `M${MILLION_BAD_RECORD}`,
        transaction_amount: '1.5.0',
        error_codes: ['INVALID_AMOUNT'],
        source_record: String(MILLION_BAD_RECORD),
      },
    ]);
    const silver = await duck(
      `SELECT count(*) AS n, count(DISTINCT source_record) AS records, min(source_record) AS lo, max(source_record) AS hi,
         count(*) FILTER (WHERE transaction_id <> 'M' || source_record) AS misnumbered
       FROM ${layer('silver')} WHERE source_file = '${MILLION}'`,
    );
    expect(silver).toEqual([
      {
        n: String(MILLION_RECORDS - 1),
        records: String(MILLION_RECORDS - 1),
        lo: '1',
        hi: String(MILLION_RECORDS),
        misnumbered: '0',
      },
    ]);
  });

  test('the 5 MB fields pass through intact', async () => {
    const rows = await duck(
      `SELECT length(transaction_id) AS n FROM ${layer('quarantined')} WHERE source_file = 'g_five_mb_field.csv'`,
    );
    expect(rows).toEqual([{ n: String(FIVE_MB) }]);
  });
});
