/**
 * Every SQL file in sql/ is parsed by Trino's own parser (io.trino:trino-parser, driven by
 * tools/trino-parser/ParseSql.java, classpath prepared by scripts/setup.sh), so syntax Athena
 * engine v3 would reject fails here; and every file holds exactly one statement.
 * One JVM parses all the files of a test.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SQL_DIR } from '../../core/sql-files';
import { tempDir } from '../helpers/lake';

const TOOL_DIR = path.join(__dirname, '..', '..', 'tools', 'trino-parser');
const CLASSPATH_FILE = path.join(TOOL_DIR, 'target', 'classpath.txt');

interface ParseOutcome {
  readonly status: number | null;
  /** file → 'OK' or the error message after `ERROR <file>: ` */
  readonly results: Map<string, string>;
  readonly stdout: string;
}

function parseWithTrino(files: string[]): ParseOutcome {
  if (!fs.existsSync(CLASSPATH_FILE)) {
    throw new Error(`${CLASSPATH_FILE} is missing: run scripts/setup.sh (npm run setup) to fetch Trino's parser`);
  }
  const classpath = fs.readFileSync(CLASSPATH_FILE, 'utf8').trim();
  const proc = spawnSync('java', ['-cp', classpath, path.join(TOOL_DIR, 'ParseSql.java'), ...files], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (proc.error) throw proc.error;
  const results = new Map<string, string>();
  for (const line of proc.stdout.split('\n').filter((l) => l !== '')) {
    const ok = /^OK (.+)$/.exec(line);
    const err = /^ERROR (.+?): (line \d+:\d+: .*)$/.exec(line);
    if (ok) results.set(ok[1], 'OK');
    else if (err) results.set(err[1], err[2]);
    else throw new Error(`unexpected ParseSql output line: ${line}\nstderr: ${proc.stderr}`);
  }
  return { status: proc.status, results, stdout: proc.stdout };
}

/** Offsets in `code` (the text without comments) of the `;` outside string literals and quoted identifiers. */
function statementShape(sql: string): { semicolons: number[]; code: string } {
  const semicolons: number[] = [];
  let code = '';
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      code += sql.slice(i, j + 1);
      i = j;
    } else {
      if (c === ';') semicolons.push(code.length);
      code += c;
    }
  }
  return { semicolons, code };
}

const sqlFiles = fs
  .readdirSync(SQL_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => path.join(SQL_DIR, f));

/** Statements Trino's parser (or ParseSql's UNLOAD check) rejects, and where. */
const broken: Record<string, { sql: string; at: string; message?: RegExp }> = {
  // DuckDB's star modifier
  'duckdb_exclude.sql': { sql: 'SELECT *\n  EXCLUDE (a)\nFROM t', at: '2:3', message: /EXCLUDE/ },
  // DuckDB's QUALIFY clause (Trino reads QUALIFY as a table alias, then stops)
  'duckdb_qualify.sql': {
    sql: 'SELECT a\nFROM t QUALIFY row_number() OVER (ORDER BY a) = 1',
    at: '2:16',
    message: /row_number/,
  },
  // PostgreSQL / DuckDB cast shorthand
  'double_colon_cast.sql': { sql: 'SELECT amount::decimal(16, 2) FROM t', at: '1:14' },
  'missing_paren.sql': { sql: '-- header\nSELECT (1 + 2\nFROM t', at: '3:1', message: /FROM/ },
  'two_statements.sql': { sql: 'SELECT 1;\nSELECT 2;\n', at: '1:9', message: /';'/ },
  'empty.sql': { sql: '-- only a comment\n', at: '2:1', message: /no statement/ },
  // UNLOAD: the inner query is parsed by Trino, positions are the file's
  'unload_inner_error.sql': {
    sql: "UNLOAD (\n  SELECT a,\n  FROM t\n) TO 's3://{{STAGING_BUCKET}}/x/' WITH (format = 'PARQUET')",
    at: '3:3',
    message: /FROM/,
  },
  'unload_unknown_property.sql': {
    sql: "UNLOAD (SELECT 1 AS a) TO 's3://b/x/'\nWITH (format = 'PARQUET', partition_by = ARRAY['a'])",
    at: '2:27',
    message: /partition_by/,
  },
  'unload_bad_format.sql': {
    sql: "UNLOAD (SELECT 1 AS a) TO 's3://b/x/' WITH (format = 'CSV')",
    at: '1:54',
    message: /CSV/,
  },
  'unload_bad_partitioned_by.sql': {
    sql: "UNLOAD (SELECT 1 AS a) TO 's3://b/x/' WITH (format = 'PARQUET', partitioned_by = ARRAY[a])",
    at: '1:88',
    message: /partitioned_by/,
  },
  'unload_not_s3.sql': {
    sql: "UNLOAD (SELECT 1 AS a) TO '/tmp/x' WITH (format = 'PARQUET')",
    at: '1:27',
    message: /s3:\/\//,
  },
};
/** Statements that must pass: comments, `?` parameters, placeholders, every UNLOAD property. */
const valid: Record<string, string> = {
  'params_comments_placeholder.sql':
    "/* block */ SELECT ? || '-01' AS m -- trailing\nFROM t WHERE a IN (?, ?) AND b = '{{STAGING_BUCKET}}';\n-- end\n",
  'unload_all_properties.sql':
    "UNLOAD (SELECT 1 AS a, '01' AS month) TO 's3://{{STAGING_BUCKET}}/x/'\n" +
    "WITH (format = 'TEXTFILE', compression = 'GZIP', compression_level = 5, field_delimiter = ',', partitioned_by = ARRAY['month'])",
};

// One JVM parses sql/*.sql and the fixtures above (written to a scratch folder).
let scratch: string;
let outcome: ParseOutcome;
beforeAll(() => {
  scratch = tempDir('txlake-parser-');
  const fixtures = [...Object.entries(broken).map(([n, b]) => [n, b.sql]), ...Object.entries(valid)].map(
    ([name, sql]) => {
      const file = path.join(scratch, name);
      fs.writeFileSync(file, sql);
      return file;
    },
  );
  outcome = parseWithTrino([...sqlFiles, ...fixtures]);
});
afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('sql/*.sql with Trino’s parser', () => {
  test('there are SQL files, including the UNLOAD, the view and both history queries', () => {
    expect(sqlFiles.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining([
        'balance_history.sql',
        'balance_history_case_shape.sql',
        'gold_monthly_balances.sql',
        'transactions_view.sql',
      ]),
    );
  });

  test('every file parses', () => {
    const results = Object.fromEntries(sqlFiles.map((f) => [f, outcome.results.get(f)]));
    expect(results).toEqual(Object.fromEntries(sqlFiles.map((f) => [f, 'OK'])));
  });

  test.each(sqlFiles.map((f) => [path.basename(f), f]))('%s holds exactly one statement', (_name, file) => {
    const { semicolons, code } = statementShape(fs.readFileSync(file, 'utf8'));
    expect(code.trim()).not.toBe('');
    // no separator, or only one terminating the single statement
    expect(semicolons.filter((at) => code.slice(at + 1).trim() !== '')).toEqual([]);
  });
});

describe('ParseSql rejects what Trino rejects, with line:col', () => {
  test('broken statements are ERROR with the position in the file; valid ones are OK; exit status 1', () => {
    expect(outcome.results.size).toBe(sqlFiles.length + Object.keys(broken).length + Object.keys(valid).length);
    for (const [name, b] of Object.entries(broken)) {
      const result = outcome.results.get(path.join(scratch, name));
      expect({ name, result }).toEqual({ name, result: expect.stringMatching(new RegExp(`^line ${b.at}: `)) });
      if (b.message) expect({ name, result }).toEqual({ name, result: expect.stringMatching(b.message) });
    }
    for (const name of Object.keys(valid)) {
      expect({ name, result: outcome.results.get(path.join(scratch, name)) }).toEqual({ name, result: 'OK' });
    }
    expect(outcome.status).toBe(1);
  });
});
