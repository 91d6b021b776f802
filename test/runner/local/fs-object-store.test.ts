import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import type { ObjectEntry } from '../../../lambdas/shared/object-store';
import { TEMP_DIR } from '../../../runner/local/fs-object-store';
import { storeLakePerTest, tempStoreLake } from '../../helpers/lake';
import { diskDirs as allDiskDirs, diskFiles } from '../../helpers/lake-state';

const lake = storeLakePerTest();

/** The buckets' folders (the store's own staging folder, `_local/tmp`, left out). */
const diskDirs = (root: string): string[] =>
  allDiskDirs(root).filter((d) => d !== '_local' && !d.startsWith('_local/'));

const keys = (entries: readonly ObjectEntry[]): string[] => entries.map((e) => e.key);

const streamText = async (stream: NodeJS.ReadableStream): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
};

describe('FsObjectStore: layout and reads', () => {
  test('bucket b, key k is the file <root>/b/k', async () => {
    await lake.store.put('silver', 'transactions/year=2024/month=01/a.parquet', 'A');
    await lake.store.put('gold', 'x', Buffer.from([0, 1, 2, 255]));
    expect(await fs.readFile(path.join(lake.root, 'silver/transactions/year=2024/month=01/a.parquet'), 'utf8')).toBe(
      'A',
    );
    expect([...(await fs.readFile(path.join(lake.root, 'gold/x')))]).toEqual([0, 1, 2, 255]);
    expect(diskFiles(lake.root)).toEqual({
      'gold/x': Buffer.from([0, 1, 2, 255]).toString('utf8'),
      'silver/transactions/year=2024/month=01/a.parquet': 'A',
    });
  });

  test('getText, getBytes and getStream return the bytes; a missing object is undefined / rejects', async () => {
    await lake.store.put('staging', 'a/b.json', '{"x":1}');
    expect(await lake.store.getText('staging', 'a/b.json')).toBe('{"x":1}');
    expect((await lake.store.getBytes('staging', 'a/b.json')).toString()).toBe('{"x":1}');
    expect(await streamText(await lake.store.getStream('staging', 'a/b.json'))).toBe('{"x":1}');
    expect(await lake.store.getText('staging', 'a/missing.json')).toBeUndefined();
    expect(await lake.store.getText('nobucket', 'missing.json')).toBeUndefined();
    await expect(lake.store.getBytes('staging', 'a/missing.json')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lake.store.getStream('staging', 'a/missing.json')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('put overwrites and leaves no temporary file behind', async () => {
    await lake.store.put('staging', 'k', 'first');
    await lake.store.put('staging', 'k', 'second, longer');
    await lake.store.put('staging', 'k', 'x');
    expect(diskFiles(lake.root)).toEqual({ 'staging/k': 'x' });
    expect(await lake.store.list('staging', '')).toEqual([{ key: 'k', size: 1 }]);
  });

  test('copy is byte-identical, across buckets, and creates the target folders', async () => {
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0x00, 0xff]);
    await lake.store.put('bronze', 'transactions/ingest_date=2024-01-01/f.csv', bytes);
    await lake.store.copy(
      'bronze',
      'transactions/ingest_date=2024-01-01/f.csv',
      'quarantine',
      'files/ingest_date=2024-01-01/f.csv',
    );
    expect((await lake.store.getBytes('quarantine', 'files/ingest_date=2024-01-01/f.csv')).equals(bytes)).toBe(true);
    expect((await lake.store.getBytes('bronze', 'transactions/ingest_date=2024-01-01/f.csv')).equals(bytes)).toBe(true);
    // copy onto an existing object replaces it
    await lake.store.put('quarantine', 'k', 'old');
    await lake.store.copy('bronze', 'transactions/ingest_date=2024-01-01/f.csv', 'quarantine', 'k');
    expect((await lake.store.getBytes('quarantine', 'k')).equals(bytes)).toBe(true);
    await expect(lake.store.copy('bronze', 'missing', 'quarantine', 'k2')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await lake.store.getText('quarantine', 'k2')).toBeUndefined();
  });

  test('keys that escape their bucket are refused', async () => {
    for (const key of ['../gold/x', 'a/../../gold/x', '/etc/passwd', '', '.']) {
      await expect(lake.store.put('silver', key, 'x')).rejects.toThrow(/key escapes its bucket/);
    }
    await expect(lake.store.getText('silver', '../staging/x')).rejects.toThrow(/key escapes its bucket/);
    await expect(lake.store.copy('silver', 'a', 'gold', '../silver/a')).rejects.toThrow(/key escapes its bucket/);
    await expect(lake.store.delete('silver', ['../gold/x'])).rejects.toThrow(/key escapes its bucket/);
    expect(diskFiles(lake.root)).toEqual({});
  });
});

describe('FsObjectStore.list', () => {
  test('recursive, filtered by prefix like S3 (prefix need not end at a folder), byte order', async () => {
    const all = [
      'transactions/ingest_date=2024-01-10/b.csv',
      'transactions/ingest_date=2024-01-10/a.csv',
      'transactions/ingest_date=2024-01-1/x.csv',
      'transactions/ingest_date=2024-01-01/deep/er/z.csv',
      'transactions/ingest_date=2024-01-02/y.csv',
      'transactions-other/q.csv',
      'top.csv',
    ];
    for (const k of all) await lake.store.put('bronze', k, k);
    expect(keys(await lake.store.list('bronze', ''))).toEqual([
      'top.csv',
      'transactions-other/q.csv',
      'transactions/ingest_date=2024-01-01/deep/er/z.csv',
      'transactions/ingest_date=2024-01-02/y.csv',
      'transactions/ingest_date=2024-01-1/x.csv',
      'transactions/ingest_date=2024-01-10/a.csv',
      'transactions/ingest_date=2024-01-10/b.csv',
    ]);
    expect(keys(await lake.store.list('bronze', 'transactions/ingest_date=2024-01-1'))).toEqual([
      'transactions/ingest_date=2024-01-1/x.csv',
      'transactions/ingest_date=2024-01-10/a.csv',
      'transactions/ingest_date=2024-01-10/b.csv',
    ]);
    expect(keys(await lake.store.list('bronze', 'transactions/ingest_date=2024-01-1/'))).toEqual([
      'transactions/ingest_date=2024-01-1/x.csv',
    ]);
    expect(keys(await lake.store.list('bronze', 'transactions'))).toHaveLength(6);
    expect(keys(await lake.store.list('bronze', 'transactions/'))).toHaveLength(5);
    expect(keys(await lake.store.list('bronze', 'top'))).toEqual(['top.csv']);
    expect(await lake.store.list('bronze', 'top.csv')).toEqual([{ key: 'top.csv', size: 7 }]);
  });

  test('missing bucket, missing prefix, prefix through a file: empty', async () => {
    await lake.store.put('bronze', 'a/file', 'x');
    expect(await lake.store.list('nobucket', '')).toEqual([]);
    expect(await lake.store.list('bronze', 'b/')).toEqual([]);
    expect(await lake.store.list('bronze', 'a/file/')).toEqual([]);
    expect(await lake.store.list('bronze', 'a/file/x/y')).toEqual([]);
  });

  test('sizes are byte sizes', async () => {
    await lake.store.put('staging', 'u', 'é€😀');
    expect(await lake.store.list('staging', '')).toEqual([{ key: 'u', size: 2 + 3 + 4 }]);
  });

  test('order is UTF-8 byte order, not UTF-16 code unit order', async () => {
    // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in bytes, after it in UTF-16.
    const names = ['\u{1F600}', '\uFF61', 'B', 'a', 'c-b', 'c/b', 'c0', 'é', '_SUCCESS', '.crc', 'Z'];
    for (const n of names) await lake.store.put('staging', `p/${n}`, n);
    expect(keys(await lake.store.list('staging', 'p/'))).toEqual(
      ['.crc', 'B', 'Z', '_SUCCESS', 'a', 'c-b', 'c/b', 'c0', 'é', '\uFF61', '\u{1F600}'].map((n) => `p/${n}`),
    );
  });

  test('writes are staged outside every bucket; the sweep removes what dead writers left there', async () => {
    await lake.store.put('staging', 'k', 'x');
    await lake.store.copy('staging', 'k', 'quarantine', 'files/k');
    // a dead writer (a process that has ended) and a live one (this process) mid-write
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const temp = path.join(lake.root, TEMP_DIR);
    await fs.writeFile(path.join(temp, `${dead}-1-1`), 'half of an object');
    await fs.writeFile(path.join(temp, `${process.pid}-1-2`), 'still being written');
    expect(await lake.store.list('quarantine', '')).toEqual([{ key: 'files/k', size: 1 }]);
    expect(await lake.store.sweepTemporaryFiles()).toBe(1);
    expect(diskFiles(lake.root)).toEqual({
      [`_local/tmp/${process.pid}-1-2`]: 'still being written',
      'quarantine/files/k': 'x',
      'staging/k': 'x',
    });
  });

  test('temporary files of an interrupted write are never listed', async () => {
    await lake.store.put('silver', 'transactions/a.parquet', 'A');
    await fs.writeFile(path.join(lake.root, 'silver/transactions/a.parquet.txlake-tmp-1-2'), 'half');
    expect(keys(await lake.store.list('silver', ''))).toEqual(['transactions/a.parquet']);
  });

  test('property: list(prefix) = the byte-sorted keys that start with prefix', async () => {
    const segment = fc.constantFrom('a', 'b', 'ab', 'a-b', 'year=2024', 'month=01', 'é', 'Z', '_x');
    const keyArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { maxLength: 8 }),
        fc.array(segment, { maxLength: 2 }),
        fc.boolean(),
        async (ks, pre, slash) => {
          // A key cannot be both an object and a folder on disk: drop keys that are prefixes of others.
          const usable = ks.filter((k) => !ks.some((o) => o !== k && o.startsWith(`${k}/`)));
          const l = tempStoreLake();
          try {
            for (const k of usable) await l.store.put('bronze', k, k);
            const prefix = pre.join('/') + (slash && pre.length > 0 ? '/' : '');
            const expected = usable
              .filter((k) => k.startsWith(prefix))
              .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
            expect(keys(await l.store.list('bronze', prefix))).toEqual(expected);
          } finally {
            l.cleanup();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('FsObjectStore.delete', () => {
  test('removes the objects and prunes the folders it leaves empty, never the bucket folder', async () => {
    await lake.store.put('silver', 'transactions/year=2024/month=01/a.parquet', 'A');
    await lake.store.put('silver', 'transactions/year=2024/month=01/b.parquet', 'B');
    await lake.store.put('silver', 'transactions/year=2024/month=02/c.parquet', 'C');
    await lake.store.delete('silver', ['transactions/year=2024/month=01/a.parquet']);
    expect(diskDirs(lake.root)).toEqual([
      'silver',
      'silver/transactions',
      'silver/transactions/year=2024',
      'silver/transactions/year=2024/month=01',
      'silver/transactions/year=2024/month=02',
    ]);
    await lake.store.delete('silver', ['transactions/year=2024/month=01/b.parquet']);
    expect(diskDirs(lake.root)).toEqual([
      'silver',
      'silver/transactions',
      'silver/transactions/year=2024',
      'silver/transactions/year=2024/month=02',
    ]);
    await lake.store.delete('silver', ['transactions/year=2024/month=02/c.parquet']);
    expect(diskDirs(lake.root)).toEqual(['silver']);
    expect(await lake.store.list('silver', '')).toEqual([]);
  });

  test('several keys at once; missing keys are ignored', async () => {
    await lake.store.put('gold', 'a/1', '1');
    await lake.store.put('gold', 'a/2', '2');
    await lake.store.put('gold', 'b/3', '3');
    await lake.store.delete('gold', ['a/1', 'a/missing', 'zzz/missing', 'a/2']);
    expect(diskFiles(lake.root)).toEqual({ 'gold/b/3': '3' });
    expect(diskDirs(lake.root)).toEqual(['gold', 'gold/b']);
    await lake.store.delete('gold', []);
    await lake.store.delete('nobucket', ['x']);
    expect(diskFiles(lake.root)).toEqual({ 'gold/b/3': '3' });
  });
});

describe('FsObjectStore.putIfAbsent (exclusive create)', () => {
  test('writes once: a second put of the key is refused and changes nothing', async () => {
    expect(await lake.store.putIfAbsent('staging', 'a/b.json', 'one')).toBe(true);
    expect(await lake.store.putIfAbsent('staging', 'a/b.json', 'two, longer')).toBe(false);
    expect(await lake.store.getText('staging', 'a/b.json')).toBe('one');
    expect(diskFiles(lake.root)).toEqual({ 'staging/a/b.json': 'one' });
    // once deleted, the key can be created again
    await lake.store.delete('staging', ['a/b.json']);
    expect(await lake.store.putIfAbsent('staging', 'a/b.json', 'three')).toBe(true);
    expect(await lake.store.getText('staging', 'a/b.json')).toBe('three');
  });

  test('keys that escape their bucket are refused', async () => {
    await expect(lake.store.putIfAbsent('staging', '../gold/x', 'x')).rejects.toThrow(/key escapes its bucket/);
    expect(diskFiles(lake.root)).toEqual({});
  });

  test('two concurrent puts of one key: exactly one wins, and its bytes are the object', async () => {
    for (let round = 0; round < 50; round++) {
      const key = `lease/${round}.json`;
      const [a, b] = await Promise.all([
        lake.store.putIfAbsent('staging', key, 'A'.repeat(100_000)),
        lake.store.putIfAbsent('staging', key, 'B'.repeat(50_000)),
      ]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      expect(await lake.store.getText('staging', key)).toBe(a ? 'A'.repeat(100_000) : 'B'.repeat(50_000));
    }
    // no temporary file is left behind
    expect(
      Object.keys(diskFiles(lake.root)).filter((k) => k.includes('.txlake-tmp-') || k.startsWith('_local/')),
    ).toEqual([]);
  });

  test('a reader never sees half an object while it is created', async () => {
    const body = 'x'.repeat(4_000_000);
    const reads: (number | undefined)[] = [];
    let done = false;
    const reader = (async () => {
      while (!done) {
        reads.push((await lake.store.getText('staging', 'big.json'))?.length);
        await new Promise((r) => setImmediate(r));
      }
    })();
    expect(await lake.store.putIfAbsent('staging', 'big.json', body)).toBe(true);
    done = true;
    await reader;
    for (const length of reads) expect([undefined, body.length]).toContain(length);
  });

  test('property: of n concurrent puts of one key exactly one returns true', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 64 }), { minLength: 2, maxLength: 8 }),
        async (bodies) => {
          const l = tempStoreLake();
          try {
            const results = await Promise.all(bodies.map((b) => l.store.putIfAbsent('staging', 'lease/lake.json', b)));
            expect(results.filter(Boolean)).toHaveLength(1);
            expect(await l.store.getText('staging', 'lease/lake.json')).toBe(bodies[results.indexOf(true)]);
            expect(diskFiles(l.root)).toEqual({ 'staging/lease/lake.json': bodies[results.indexOf(true)] });
          } finally {
            l.cleanup();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
