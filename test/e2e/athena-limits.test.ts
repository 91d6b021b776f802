import { REQUIRED_COLUMNS } from '../../core/contract';
import { runLocal, type TaskWrapper } from '../../runner/local/local-runner';
import { synthesizeTemplates } from '../../runner/local/template-resolver';
import { ROOT, sharedLocalGlue, txlake } from '../helpers/cli';
import { csvFile, landFiles, tempLake } from '../helpers/lake';

/*
 * A late row ten years before the latest month: its date's gold refresh spans 121 months plus the
 * tail partition, more than the 100 partitions one Athena UNLOAD may write (LocalAthena refuses
 * such a statement as Athena does). The gate plans it in chunks; the whole pipeline runs locally
 * (Spark, Iceberg, DuckDB) and the balance history is exact, in the late row's quarter and now.
 */

const D1 = '2024-01-16';
const D2 = '2024-01-17';

describe('a late row ten years back: the gold refresh runs in chunks of at most 100 partitions', () => {
  const lake = tempLake();
  const queries: { date: string; target: string }[] = [];
  let status = '';

  beforeAll(async () => {
    landFiles(lake, D1, {
      'd1.csv': csvFile(REQUIRED_COLUMNS, [
        ['A-1', 'ACC-A', '100.00', 'EUR', '2024-01-05T09:00:00Z'],
        ['A-2', 'ACC-A', '50.00', 'EUR', '2024-01-10T09:00:00Z'],
      ]),
    });
    landFiles(lake, D2, {
      'd2.csv': csvFile(REQUIRED_COLUMNS, [
        ['B-1', 'ACC-B', '7.50', 'EUR', '2014-01-05T00:00:00Z'],
        ['A-3', 'ACC-A', '1.00', 'EUR', '2024-01-20T12:00:00Z'],
      ]),
    });
    const countQueries: TaskWrapper = async (state, input, invoke) => {
      if (state === 'RefreshGoldChunk') {
        const query = (input as { QueryString: string }).QueryString;
        const target = /TO 's3:\/\/staging\/([^']+)'/.exec(query)?.[1] ?? '';
        queries.push({ date: target.slice('gold-refresh/'.length, 'gold-refresh/'.length + 10), target });
      }
      return invoke();
    };
    const result = await runLocal({
      root: ROOT,
      lake,
      input: { from: D1, to: D2 },
      templates: synthesizeTemplates({ root: ROOT }),
      glue: sharedLocalGlue(),
      wrapTask: countQueries,
    });
    status = `${result.status} ${result.records.map((r) => `${r.ingest_date}:${r.status}`).join(' ')}`;
  });

  test('both dates succeed; the late date refreshed gold with two queries, the first from the late month on', () => {
    expect(status).toBe(`SUCCEEDED ${D1}:SUCCEEDED ${D2}:SUCCEEDED`);
    expect(queries.filter((q) => q.date === D1)).toHaveLength(1);
    const late = queries.filter((q) => q.date === D2).map((q) => q.target);
    expect(late).toEqual([
      expect.stringMatching(/\/2014-01-[0-9a-f-]{36}\/$/),
      expect.stringMatching(/\/2022-04-[0-9a-f-]{36}\/$/),
    ]);
  });

  test.each([
    ['2014-Q1', ['ACC-B,EUR,2014-01,7.50', 'ACC-B,EUR,2014-02,7.50', 'ACC-B,EUR,2014-03,7.50']],
    ['2019-Q2', ['ACC-B,EUR,2019-04,7.50', 'ACC-B,EUR,2019-05,7.50', 'ACC-B,EUR,2019-06,7.50']],
    [
      '2024-Q1',
      [
        'ACC-A,EUR,2024-01,151.00',
        'ACC-A,EUR,2024-02,151.00',
        'ACC-A,EUR,2024-03,151.00',
        'ACC-B,EUR,2024-01,7.50',
        'ACC-B,EUR,2024-02,7.50',
        'ACC-B,EUR,2024-03,7.50',
      ],
    ],
  ])('the balance history of %s is exact', async (quarter, rows) => {
    const out = await txlake(['balance-history', '--quarter', quarter, '--lake', lake]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(['account_id,currency,month,balance', ...rows].join('\n') + '\n');
  });
});
