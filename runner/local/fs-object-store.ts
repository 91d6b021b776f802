import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { byteOrder, type ObjectEntry, type ObjectStore } from '../../lambdas/shared/object-store';

let tempCounter = 0;

/**
 * Where writes are staged before they are renamed into place: a folder of the lake's own (same
 * file system, so the rename is atomic) outside every bucket, so a write a kill interrupts leaves
 * nothing in a bucket (an S3 PUT is all or nothing); {@link FsObjectStore.sweepTemporaryFiles}
 * removes what dead processes left there.
 */
export const TEMP_DIR = path.join('_local', 'tmp');

/** Temporary files are named `<pid>-<ms>-<n>`: unique across processes and calls of this one. */
const tempName = (root: string): string =>
  path.join(root, TEMP_DIR, `${process.pid}-${Date.now()}-${(tempCounter = (tempCounter + 1) % 1e9)}`);

/** A new temporary path of the store rooted at `root` (its folder made). */
async function newTemp(root: string): Promise<string> {
  await fs.mkdir(path.join(root, TEMP_DIR), { recursive: true });
  return tempName(root);
}

/** Writes `body` to a new temporary file of the store rooted at `root` and returns its path. */
async function writeTemp(root: string, body: Buffer | string): Promise<string> {
  const temp = await newTemp(root);
  await fs.writeFile(temp, body, { flag: 'wx' });
  return temp;
}

/**
 * Moves (`rename`) or links (`link`) `temp` to `file`, creating its folders. A concurrent delete
 * may prune a folder between its creation and the move: then it is made again.
 */
async function intoPlace(operation: 'rename' | 'link', temp: string, file: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      await fs[operation](temp, file);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
}

/** Whether a process with this id is running (a temporary file's writer). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Directory binding (local mode): bucket `b`, key `k` is the file `<root>/b/k`. Writes go to a
 * temporary file first and are renamed into place, so a reader never sees half an object.
 */
export class FsObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  /** Removes the temporary files of writers that died mid-write (a kill); returns how many. */
  async sweepTemporaryFiles(): Promise<number> {
    const dir = path.join(this.root, TEMP_DIR);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
        await fs.rm(path.join(dir, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

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
          // (files named so are the temporary files of lakes written before TEMP_DIR)
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
    await this.stageThenRename(this.file(bucket, key), (temp) => fs.writeFile(temp, body, { flag: 'wx' }));
  }

  /**
   * The exclusive create of `If-None-Match: *`: the object is written whole to a temporary file,
   * then hard-linked to its key — `link` fails with EEXIST when the key exists, atomically, so of
   * concurrent callers (threads or processes) exactly one wins and no reader sees half an object.
   * Where hard links are not supported, an exclusive create (`wx`) decides the winner instead.
   */
  async putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean> {
    const file = this.file(bucket, key);
    const temp = await writeTemp(this.root, body);
    try {
      await intoPlace('link', temp, file);
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
    const source = this.file(sourceBucket, sourceKey);
    await this.stageThenRename(this.file(targetBucket, targetKey), (temp) => fs.copyFile(source, temp));
  }

  /** `fill` writes a new temporary file, which then replaces `file`; no temporary file is left either way. */
  private async stageThenRename(file: string, fill: (temp: string) => Promise<void>): Promise<void> {
    const temp = await newTemp(this.root);
    try {
      await fill(temp);
      await intoPlace('rename', temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
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
