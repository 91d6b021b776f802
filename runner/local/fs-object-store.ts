import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { byteOrder, type ObjectEntry, type ObjectStore } from '../../lambdas/shared/object-store';

let tempCounter = 0;

/** A temporary file next to `file`, unique across processes and concurrent calls of this one. */
const tempName = (file: string): string =>
  `${file}.txlake-tmp-${process.pid}-${Date.now()}-${(tempCounter = (tempCounter + 1) % 1e9)}`;

/**
 * Writes `body` to a new temporary file next to `file` (creating the folders) and returns its path.
 * A concurrent delete may prune the folder between its creation and the write: then it is made again.
 */
async function writeTemp(file: string, body: Buffer | string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = tempName(file);
    try {
      await fs.writeFile(temp, body, { flag: 'wx' });
      return temp;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
}

/**
 * Directory binding (local mode): bucket `b`, key `k` is the file `<root>/b/k`. Writes go to a
 * temporary file first and are renamed into place, so a reader never sees half an object.
 */
export class FsObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private file(bucket: string, key: string): string {
    const resolved = path.resolve(this.root, bucket, key);
    if (!resolved.startsWith(path.resolve(this.root, bucket) + path.sep)) {
      throw new Error(`key escapes its bucket: ${bucket}/${key}`);
    }
    return resolved;
  }

  async list(bucket: string, prefix: string): Promise<ObjectEntry[]> {
    const base = path.resolve(this.root, bucket);
    const entries: ObjectEntry[] = [];
    // Walk only the directory that holds the prefix, then filter like S3 does.
    const slash = prefix.lastIndexOf('/');
    const start = path.join(base, slash >= 0 ? prefix.slice(0, slash) : '');
    const walk = async (dir: string): Promise<void> => {
      let names: import('node:fs').Dirent[];
      try {
        names = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
          return;
        throw error;
      }
      for (const entry of names) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          await walk(full);
        } else if (entry.isFile() && !entry.name.includes('.txlake-tmp-')) {
          const key = path.relative(base, full).split(path.sep).join('/');
          if (key.startsWith(prefix)) entries.push({ key, size: (await fs.stat(full)).size });
        }
      }
    };
    await walk(start);
    return entries.sort((a, b) => byteOrder(a.key, b.key));
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    const file = this.file(bucket, key);
    await fs.access(file);
    return createReadStream(file);
  }

  async getBytes(bucket: string, key: string): Promise<Buffer> {
    return fs.readFile(this.file(bucket, key));
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.file(bucket, key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(bucket: string, key: string, body: Buffer | string): Promise<void> {
    const file = this.file(bucket, key);
    await fs.rename(await writeTemp(file, body), file);
  }

  /**
   * The exclusive create of `If-None-Match: *`: the object is written whole to a temporary file,
   * then hard-linked to its key — `link` fails with EEXIST when the key exists, atomically, so of
   * concurrent callers (threads or processes) exactly one wins and no reader sees half an object.
   * Where hard links are not supported, an exclusive create (`wx`) decides the winner instead.
   */
  async putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean> {
    const file = this.file(bucket, key);
    const temp = await writeTemp(file, body);
    try {
      await fs.link(temp, file);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
      return this.createExclusive(file, body);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  private async createExclusive(file: string, body: Buffer | string): Promise<boolean> {
    try {
      await fs.writeFile(file, body, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  async copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void> {
    const target = this.file(targetBucket, targetKey);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = tempName(target);
    await fs.copyFile(this.file(sourceBucket, sourceKey), temp);
    await fs.rename(temp, target);
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.file(bucket, key);
      await fs.rm(file, { force: true });
      await this.pruneEmptyDirs(path.dirname(file), path.resolve(this.root, bucket));
    }
  }

  /** S3 has no directories: drop the ones a delete leaves empty, so layouts match. */
  private async pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
    let current = dir;
    while (current.startsWith(stopAt + path.sep)) {
      try {
        await fs.rmdir(current);
      } catch {
        return;
      }
      current = path.dirname(current);
    }
  }
}
