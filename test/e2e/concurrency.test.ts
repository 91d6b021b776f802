import { REQUIRED_COLUMNS } from '../../core/contract';
import { type RunSummary, startCli, txlake } from '../helpers/cli';
import { csvFile, landFiles, tempLake } from '../helpers/lake';
import { duck, publishedFiles } from '../helpers/lake-state';

test('a second run on a lake that is being processed is refused clearly and changes nothing', async () => {
  const lake = tempLake();
  for (const date of ['2024-01-16', '2024-01-17'])
    landFiles(lake, date, {
      'f.csv': csvFile(REQUIRED_COLUMNS, [[`C-${date}`, 'ACC1', '1.00', 'EUR', `${date}T10:00:00Z`]]),
    });
  const first = startCli(['run', '--date', '2024-01-16', '--lake', lake, '--json']);
  await new Promise<void>((resolve) => first.onStderr(/ValidateLanding\s+ok/, resolve));

  // The same date and another date: both refused while the first run holds the lake.
  const before = publishedFiles(lake);
  for (const args of [
    ['run', '--date', '2024-01-16'],
    ['backfill', '--from', '2024-01-16', '--to', '2024-01-17'],
  ]) {
    const second = await txlake([...args, '--lake', lake]);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toBe(
      `txlake: the lake is in use by another txlake run (pid ${first.pid}); wait for it to finish\n`,
    );
  }
  expect(publishedFiles(lake)).toEqual(before);

  expect(await first.closed).toBe(0);
  expect((JSON.parse(first.stdout()) as RunSummary).runs.map((r) => r.status)).toEqual(['SUCCEEDED']);
  const silver = await duck(`SELECT transaction_id FROM read_parquet('${lake}/silver/transactions/**/*.parquet')`);
  expect(silver).toEqual([{ transaction_id: 'C-2024-01-16' }]);

  // Once it is done, the lake is free again.
  const after = await txlake(['run', '--date', '2024-01-17', '--lake', lake]);
  expect(after.code).toBe(0);
});
