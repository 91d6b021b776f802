import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { expectUsageError, txlake } from '../helpers/cli';
import { tempDirs } from '../helpers/lake';

const dirs = tempDirs('txlake-land-');
const landed = (lake: string, date: string): string => path.join(lake, 'bronze', 'transactions', `ingest_date=${date}`);

describe('land FILE... on a local lake', () => {
  test('several files and a directory: its regular files in name order, byte-identical; one JSON document', async () => {
    const lake = dirs();
    const src = dirs();
    writeFileSync(path.join(src, 'z.csv'), 'z\n');
    mkdirSync(path.join(src, 'drop', 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'drop', 'b.csv'), 'b\r\n');
    writeFileSync(path.join(src, 'drop', 'a.csv'), 'aa\n');
    writeFileSync(path.join(src, 'drop', 'sub', 'deep.csv'), 'deep\n');
    const args = ['land', path.join(src, 'z.csv'), path.join(src, 'drop'), '--date', '2024-01-16', '--lake', lake];
    const result = await txlake([...args, '--json']);
    expect(result.code).toBe(0);
    const key = (name: string) => `bronze/transactions/ingest_date=2024-01-16/${name}`;
    expect(JSON.parse(result.stdout)).toEqual({
      landed: [
        { key: key('z.csv'), bytes: 2 },
        { key: key('a.csv'), bytes: 3 },
        { key: key('b.csv'), bytes: 3 },
      ],
    });
    expect(readdirSync(landed(lake, '2024-01-16')).sort()).toEqual(['a.csv', 'b.csv', 'z.csv']);
    expect(readFileSync(path.join(landed(lake, '2024-01-16'), 'b.csv'), 'utf8')).toBe('b\r\n');

    // Again: the same bytes are already landed; the text output is one key per line.
    const again = await txlake(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${key('z.csv')}\n${key('a.csv')}\n${key('b.csv')}\n`);
  });

  test('other bytes under a landed name: exit 2 naming the file, nothing landed', async () => {
    const lake = dirs();
    const src = dirs();
    writeFileSync(path.join(src, 'a.csv'), 'one\n');
    expect((await txlake(['land', path.join(src, 'a.csv'), '--date', '2024-01-16', '--lake', lake])).code).toBe(0);
    const other = dirs();
    writeFileSync(path.join(other, 'a.csv'), 'two\n');
    writeFileSync(path.join(other, 'new.csv'), 'new\n');
    const result = await txlake(['land', other, '--date', '2024-01-16', '--lake', lake]);
    expectUsageError(result, /bronze already holds a different a\.csv for 2024-01-16; bronze is immutable/);
    expect(readdirSync(landed(lake, '2024-01-16'))).toEqual(['a.csv']);
    expect(readFileSync(path.join(landed(lake, '2024-01-16'), 'a.csv'), 'utf8')).toBe('one\n');
  });

  test('two files of one name: exit 2, nothing landed', async () => {
    const lake = dirs();
    const src = dirs();
    mkdirSync(path.join(src, 'x'));
    mkdirSync(path.join(src, 'y'));
    writeFileSync(path.join(src, 'x', 'a.csv'), 'x\n');
    writeFileSync(path.join(src, 'y', 'a.csv'), 'y\n');
    const result = await txlake([
      'land',
      path.join(src, 'x'),
      path.join(src, 'y'),
      '--date',
      '2024-01-16',
      '--lake',
      lake,
    ]);
    expectUsageError(result, /two files named a\.csv/);
    expect(readdirSync(lake)).toEqual([]);
  });
});
