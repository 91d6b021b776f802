import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, tempLake, txlake } from '../helpers/cli';
import { csvFile, duck, publishedState } from '../helpers/lake';

const HEADER = ['TransactionID', 'CustomerID', 'TransactionAmount', 'Currency', 'TransactionTimestamp'];

test('a second run on a lake that is being processed is refused clearly and changes nothing', async () => {
  const lake = tempLake();
  for (const date of ['2024-01-16', '2024-01-17']) {
    const dir = path.join(lake, 'bronze', 'transactions', `ingest_date=${date}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'f.csv'),
      csvFile(HEADER, [[`C-${date}`, 'ACC1', '1.00', 'EUR', `${date}T10:00:00Z`]]),
    );
  }
  const first = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'txlake.js'), 'run', '--date', '2024-01-16', '--lake', lake, '--json'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let firstOut = '';
  first.stdout.on('data', (d: Buffer) => (firstOut += d.toString()));
  const started = new Promise<void>((resolve) => {
    let err = '';
    first.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/ValidateLanding\s+ok/.test(err)) resolve();
    });
  });
  const finished = new Promise<number | null>((resolve) => first.on('close', resolve));
  await started;

  // The same date and another date: both refused while the first run holds the lake.
  const before = publishedState(lake);
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
  expect(publishedState(lake)).toEqual(before);

  expect(await finished).toBe(0);
  expect(JSON.parse(firstOut).runs.map((r: { status: string }) => r.status)).toEqual(['SUCCEEDED']);
  const silver = await duck(`SELECT transaction_id FROM read_parquet('${lake}/silver/transactions/**/*.parquet')`);
  expect(silver).toEqual([{ transaction_id: 'C-2024-01-16' }]);

  // Once it is done, the lake is free again.
  const after = await txlake(['run', '--date', '2024-01-17', '--lake', lake]);
  expect(after.code).toBe(0);
});
