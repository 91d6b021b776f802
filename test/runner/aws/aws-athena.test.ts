import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { loadSql } from '../../../core/sql-files';
import {
  AthenaQueryError,
  athenaTimestamp,
  readGoldAsOf,
  readQueryResults,
  runAthenaQuery,
} from '../../../runner/aws/aws-athena';
import { tempDirs } from '../../helpers/lake';

const INSTANT = new Date('2024-04-01T12:30:00.250Z');
const TRAVEL = "FOR TIMESTAMP AS OF TIMESTAMP '2024-04-01 12:30:00.250 UTC'";

describe('readGoldAsOf: the balance history as gold stood at an instant', () => {
  test("Athena's timestamp literal: UTC, milliseconds", () => {
    expect(athenaTimestamp(INSTANT)).toBe("TIMESTAMP '2024-04-01 12:30:00.250 UTC'");
    expect(athenaTimestamp(new Date('2024-12-31T23:59:59Z'))).toBe("TIMESTAMP '2024-12-31 23:59:59.000 UTC'");
  });

  test('sql/balance_history.sql: its one FROM gold_monthly_balances travels; comments and the rest are kept', () => {
    const sql = loadSql('balance_history');
    const travelled = readGoldAsOf(sql, INSTANT);
    expect(travelled).toContain(`FROM gold_monthly_balances ${TRAVEL}\n`);
    expect(travelled.split(TRAVEL)).toHaveLength(2);
    expect(travelled.replace(` ${TRAVEL}`, '')).toBe(sql);
  });

  test('every FROM and JOIN of the table; not its name in comments, strings or other names', () => {
    const sql = [
      '-- reads gold_monthly_balances',
      "SELECT 'gold_monthly_balances' AS t FROM gold_monthly_balances g",
      'JOIN gold_monthly_balances h ON g.account_id = h.account_id',
      'JOIN gold_monthly_balances_v2 x ON true /* gold_monthly_balances */',
    ].join('\n');
    expect(readGoldAsOf(sql, INSTANT)).toBe(
      [
        '-- reads gold_monthly_balances',
        `SELECT 'gold_monthly_balances' AS t FROM gold_monthly_balances ${TRAVEL} g`,
        `JOIN gold_monthly_balances ${TRAVEL} h ON g.account_id = h.account_id`,
        'JOIN gold_monthly_balances_v2 x ON true /* gold_monthly_balances */',
      ].join('\n'),
    );
  });

  test.each([
    ['no gold at all', 'SELECT 1 FROM silver_transactions', /does not read gold_monthly_balances/],
    ['a qualified name', 'SELECT * FROM txlake_dev.gold_monthly_balances', /names gold_monthly_balances other than/],
    [
      'a comma join',
      'SELECT * FROM silver_transactions, gold_monthly_balances',
      /names gold_monthly_balances other than as FROM/,
    ],
    [
      'a qualified name beside a plain one',
      'SELECT * FROM gold_monthly_balances JOIN db.gold_monthly_balances b ON true',
      /names gold_monthly_balances other than/,
    ],
    [
      'time travel already',
      'SELECT * FROM gold_monthly_balances FOR VERSION AS OF 1',
      /already reads a table as of a version or time/,
    ],
  ])('refuses a shape it does not know: %s', (_name, sql, message) => {
    expect(() => readGoldAsOf(sql, INSTANT)).toThrow(message);
  });

  const scratch = tempDirs('txlake-as-of-');
  const classpathFile = path.join(__dirname, '..', '..', '..', 'tools', 'trino-parser', 'target', 'classpath.txt');
  test("the rewritten statement parses with Trino's parser (Athena engine v3)", () => {
    if (!existsSync(classpathFile)) throw new Error(`${classpathFile} is missing: run scripts/setup.sh`);
    const file = path.join(scratch(), 'balance_history_as_of.sql');
    writeFileSync(file, readGoldAsOf(loadSql('balance_history'), INSTANT));
    const proc = spawnSync(
      'java',
      [
        '-cp',
        readFileSync(classpathFile, 'utf8').trim(),
        path.join(path.dirname(classpathFile), '..', 'ParseSql.java'),
        file,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(proc.stdout.trim()).toBe(`OK ${file}`);
  });
});

describe('runAthenaQuery', () => {
  const client = new AthenaClient({ region: 'eu-west-1' });
  const athena = mockClient(client);
  beforeEach(() => athena.reset());

  const row = (...values: (string | null)[]) => ({
    Data: values.map((v) => (v === null ? {} : { VarCharValue: v })),
  });
  const metadata = {
    ColumnInfo: [
      { Name: 'a', Type: 'varchar' },
      { Name: 'b', Type: 'varchar' },
    ],
  };

  test('all pages of the results: the header row of the first page only is skipped', async () => {
    const pages: Record<string, object> = {
      '': { ResultSet: { ResultSetMetadata: metadata, Rows: [row('a', 'b'), row('1', null)] }, NextToken: 't1' },
      t1: { ResultSet: { ResultSetMetadata: metadata, Rows: [row('a', 'x'), row('2', '')] }, NextToken: 't2' },
      t2: { ResultSet: { ResultSetMetadata: metadata, Rows: [row('3', 'c')] } },
    };
    athena.on(GetQueryResultsCommand).callsFake((input: { NextToken?: string }) => pages[input.NextToken ?? '']);
    expect(await readQueryResults(client, 'q-1')).toEqual({
      columns: ['a', 'b'],
      rows: [
        ['1', null],
        ['a', 'x'],
        ['2', ''],
        ['3', 'c'],
      ],
    });
    expect(athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      't1',
      't2',
    ]);
  });

  test('polls until the query ends; FAILED is one line with the reason', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-2' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({
        QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'ICEBERG_ERROR:\n no snapshot' } },
      });
    const query = { sql: 'SELECT 1', parameters: ["'x'"], workGroup: 'wg', database: 'db' };
    const failure = await runAthenaQuery(client, query).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AthenaQueryError);
    expect((failure as Error).message).toBe('Athena query q-2 FAILED: ICEBERG_ERROR: no snapshot');
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(3);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input).toEqual({
      QueryString: 'SELECT 1',
      WorkGroup: 'wg',
      QueryExecutionContext: { Database: 'db' },
      ExecutionParameters: ["'x'"],
    });
  });
});
