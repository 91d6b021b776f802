import { ExecutionAthena } from '../../../runner/local/local-runner';
import { resolvePipeline, synthesizeTemplates } from '../../../runner/local/template-resolver';
import { ROOT } from '../../helpers/cli';
import { tempLake } from '../../helpers/lake';

// A lake no run has written: the app's tables read as empty, no Spark needed.
const pipeline = resolvePipeline(synthesizeTemplates({ root: ROOT }));

describe("an execution's local Athena", () => {
  test('one DuckDB session serves its queries in turn', async () => {
    const athena = new ExecutionAthena(pipeline, tempLake());
    try {
      // A temporary table lives as long as its session: the second query sees the first's.
      await athena.execute('CREATE TEMP TABLE session_mark AS SELECT 42 AS x', []);
      expect(await athena.execute('SELECT x FROM session_mark', [])).toEqual({ columns: ['x'], rows: [['42']] });
      const [a, b] = await Promise.all([
        athena.execute('SELECT ? AS p', ['a']),
        athena.execute('SELECT count(*) AS n FROM session_mark', []),
      ]);
      expect([a.rows, b.rows]).toEqual([[['a']], [['1']]]);
    } finally {
      athena.close();
    }
  });

  test("the app's tables read as empty on a lake no run has written", async () => {
    const athena = new ExecutionAthena(pipeline, tempLake());
    try {
      for (const table of pipeline.tables) {
        expect((await athena.execute(`SELECT count(*) AS n FROM ${table.name}`, [])).rows).toEqual([['0']]);
      }
    } finally {
      athena.close();
    }
  });

  test('a failed query drops the session: the next query runs in a new one', async () => {
    const athena = new ExecutionAthena(pipeline, tempLake());
    try {
      await athena.execute('CREATE TEMP TABLE session_mark AS SELECT 1 AS x', []);
      await expect(athena.execute('SELECT * FROM no_such_table', [])).rejects.toThrow(/no_such_table/);
      await expect(athena.execute('SELECT x FROM session_mark', [])).rejects.toThrow(/session_mark/);
      expect((await athena.execute('SELECT 1 AS one', [])).rows).toEqual([['1']]);
    } finally {
      athena.close();
    }
  });

  test('closed, it starts a new session for a further query', async () => {
    const athena = new ExecutionAthena(pipeline, tempLake());
    await athena.execute('CREATE TEMP TABLE session_mark AS SELECT 1 AS x', []);
    athena.close();
    try {
      await expect(athena.execute('SELECT x FROM session_mark', [])).rejects.toThrow(/session_mark/);
    } finally {
      athena.close();
    }
  });
});
