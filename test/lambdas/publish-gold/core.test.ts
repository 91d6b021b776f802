import { publishGold } from '../../../lambdas/publish-gold/core';
import { rollbackRun } from '../../../lambdas/shared/journal';
import type { ObjectStore } from '../../../lambdas/shared/object-store';
import { BUCKETS, storeLakePerTest } from '../../helpers/lake';
import { contents, diskDirs, diskFiles } from '../../helpers/lake-state';
import { commitAndClear, seed } from '../../helpers/staged-runs';

const lake = storeLakePerTest();

describe('publishGold', () => {
  const GOLD_BEFORE = {
    'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
    'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
    'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
    'monthly_balances/year=2024/month=03/r0_00000.parquet': 'g-2024-03',
    'monthly_balances/year=2024/month=03/r0_00001.parquet': 'g-2024-03b',
    'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
    'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
  };

  test('keeps months before from_month, swaps the rest for the refresh output, drops months it no longer produces', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: {
        'gold-refresh/year=2024/month=02/aaa.parquet': 'n-2024-02a',
        'gold-refresh/year=2024/month=02/bbb.parquet': 'n-2024-02b',
        'gold-refresh/year=2024/month=02/.aaa.parquet.crc': 'crc',
        'gold-refresh/_SUCCESS': '',
        'runs/x/keep.json': 'keep',
      },
    });
    const result = await publishGold({ runId: 'R9', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS });
    expect(result).toEqual({ from_month: '2024-02', partitions_written: 1, files_written: 2 });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/R9_00000.parquet': 'n-2024-02a',
      'monthly_balances/year=2024/month=02/R9_00001.parquet': 'n-2024-02b',
      // Reports are left to record-run, which replaces the quarter's report with the new one.
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
    expect(diskDirs(lake.root)).not.toContain('gold/monthly_balances/year=2024/month=03');
    // Pending until the date is recorded: the journal and the backups of what it replaced.
    const pending = Object.fromEntries(
      Object.entries(await contents(lake.store, 'staging')).filter(([k]) => !k.startsWith('gold-refresh/')),
    );
    expect(Object.keys(pending)).toEqual([
      'journal/R9/000-publish-gold.json',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=02/r0_00000.parquet',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00000.parquet',
      'runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00001.parquet',
      'runs/x/keep.json',
    ]);
    expect(pending['runs/R9/superseded/gold/monthly_balances/year=2024/month=03/r0_00001.parquet']).toBe('g-2024-03b');
    // Committed and cleared (record-run): the rest of staging is untouched.
    await commitAndClear(lake.store, 'R9');
    expect(
      Object.fromEntries(
        Object.entries(await contents(lake.store, 'staging')).filter(([k]) => !k.startsWith('gold-refresh/')),
      ),
    ).toEqual({ 'runs/x/keep.json': 'keep' });
  });

  test('REGRESSION (bug 1): Athena UNLOAD output files without an extension are published', async () => {
    await seed(lake.store, {
      gold: {
        'monthly_balances/year=2024/month=02/r0_00000.parquet': 'old-feb',
        'monthly_balances/year=2024/month=01/r0_00000.parquet': 'jan',
      },
      staging: {
        // Athena UNLOAD names its Parquet files <queryid>_<uuid>, without an extension
        'gold-refresh/year=2024/month=02/20240701_144951_00037_v74wa_1ad6f92e-a1e0-471e-933c-0e33736726fd': 'new-feb',
        'gold-refresh/year=2024/month=03/20240701_144951_00037_v74wa_2bd6f92e-a1e0-471e-933c-0e33736726fd': 'new-mar',
        'gold-refresh/year=2024/month=03/20240701_144951_00037_v74wa_2bd6f92e.metadata': 'meta',
        'gold-refresh/year=2024/month=03/_SUCCESS': '',
      },
    });
    const result = await publishGold({ runId: 'R', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS });
    expect(result).toEqual({ from_month: '2024-02', partitions_written: 2, files_written: 2 });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'jan',
      'monthly_balances/year=2024/month=02/R_00000.parquet': 'new-feb',
      'monthly_balances/year=2024/month=03/R_00001.parquet': 'new-mar',
    });
  });

  test('a retried publishGold starts from gold as it was before its first attempt', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: { 'gold-refresh/year=2024/month=03/a': 'n-03' },
    });
    const run = (store: ObjectStore) => publishGold({ runId: 'R', fromMonth: '2024-03' }, { store, buckets: BUCKETS });
    await run(lake.store);
    const once = await contents(lake.store, 'gold');
    expect(once).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
      'monthly_balances/year=2024/month=03/R_00000.parquet': 'n-03',
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
    // Retried after it finished (e.g. the Lambda's response was lost): the same gold.
    await seed(lake.store, { staging: { 'gold-refresh/year=2024/month=03/a': 'n-03' } });
    await run(lake.store);
    expect(await contents(lake.store, 'gold')).toEqual(once);
    expect(await rollbackRun(lake.store, 'staging', 'R')).toEqual(['publish-gold']);
    expect(await contents(lake.store, 'gold')).toEqual(GOLD_BEFORE);
  });

  test('adds new months after the existing ones; reports stay', async () => {
    await seed(lake.store, {
      gold: GOLD_BEFORE,
      staging: {
        'gold-refresh/year=2024/month=03/a.parquet': 'n-03',
        'gold-refresh/year=2024/month=04/a.parquet': 'n-04',
        'gold-refresh/year=2025/month=01/a.parquet': 'n-2501',
      },
    });
    expect(await publishGold({ runId: 'R', fromMonth: '2024-03' }, { store: lake.store, buckets: BUCKETS })).toEqual({
      from_month: '2024-03',
      partitions_written: 3,
      files_written: 3,
    });
    expect(await contents(lake.store, 'gold')).toEqual({
      'monthly_balances/year=2023/month=12/r0_00000.parquet': 'g-2023-12',
      'monthly_balances/year=2024/month=01/r0_00000.parquet': 'g-2024-01',
      'monthly_balances/year=2024/month=02/r0_00000.parquet': 'g-2024-02',
      'monthly_balances/year=2024/month=03/R_00000.parquet': 'n-03',
      'monthly_balances/year=2024/month=04/R_00001.parquet': 'n-04',
      'monthly_balances/year=2025/month=01/R_00002.parquet': 'n-2501',
      'reports/balance_history/quarter=2024-Q1/balance_history.csv': 'report-q1',
      'reports/balance_history/quarter=2023-Q4/balance_history.csv': 'report-q4',
    });
  });

  test('an empty refresh removes every month from from_month on', async () => {
    await seed(lake.store, { gold: GOLD_BEFORE });
    expect(await publishGold({ runId: 'R', fromMonth: '2024-01' }, { store: lake.store, buckets: BUCKETS })).toEqual({
      from_month: '2024-01',
      partitions_written: 0,
      files_written: 0,
    });
    expect(Object.keys(await contents(lake.store, 'gold', 'monthly_balances/'))).toEqual([
      'monthly_balances/year=2023/month=12/r0_00000.parquet',
    ]);
  });

  test('refresh output before from_month is refused and nothing changes', async () => {
    await seed(lake.store, { gold: GOLD_BEFORE, staging: { 'gold-refresh/year=2024/month=01/a.parquet': 'early' } });
    const before = diskFiles(lake.root);
    await expect(
      publishGold({ runId: 'R', fromMonth: '2024-02' }, { store: lake.store, buckets: BUCKETS }),
    ).rejects.toThrow(
      'unexpected gold refresh output gold-refresh/year=2024/month=01/a.parquet (refresh starts at 2024-02)',
    );
    expect(diskFiles(lake.root)).toEqual(before);
  });
});
