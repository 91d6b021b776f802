import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** Thrown when another live txlake process is running on the same lake. */
export class LakeBusyError extends Error {
  constructor(readonly holderPid: number) {
    super(`the lake is in use by another txlake run (pid ${holderPid}); wait for it to finish`);
    this.name = 'LakeBusyError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One run at a time per local lake. The lock file holds the owner's pid; a lock whose owner is
 * gone (a killed run) is stale and is taken over instead of blocking forever.
 */
export function acquireLakeLock(lake: string): () => void {
  const dir = path.join(lake, '_local');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'run.lock');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new LakeBusyError(holder);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock the lake at ${lake}`);
}
