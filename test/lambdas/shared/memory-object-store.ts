import { Readable } from 'node:stream';
import type { Scheduler } from 'fast-check';
import { byteOrder, type ObjectEntry, type ObjectStore } from '../../../lambdas/shared/object-store';

/**
 * An object store in memory, for the Lambda cores' unit tests: every operation is atomic, like an
 * S3 request. `scheduled` wraps a store so that a fast-check scheduler decides when each operation
 * takes effect (and so the interleaving of concurrent callers).
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Buffer>();

  private static id(bucket: string, key: string): string {
    return `${bucket}\u0000${key}`;
  }

  async list(bucket: string, prefix: string): Promise<ObjectEntry[]> {
    const entries: ObjectEntry[] = [];
    for (const [id, body] of this.objects) {
      const [b, key] = id.split('\u0000');
      if (b === bucket && key.startsWith(prefix)) entries.push({ key, size: body.length });
    }
    return entries.sort((a, b) => byteOrder(a.key, b.key));
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    return Readable.from([await this.getBytes(bucket, key)]);
  }

  async getBytes(bucket: string, key: string): Promise<Buffer> {
    const body = this.objects.get(MemoryObjectStore.id(bucket, key));
    if (!body) throw Object.assign(new Error(`NoSuchKey: ${bucket}/${key}`), { name: 'NoSuchKey' });
    return Buffer.from(body);
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    return this.objects.get(MemoryObjectStore.id(bucket, key))?.toString('utf8');
  }

  async put(bucket: string, key: string, body: Buffer | string): Promise<void> {
    this.objects.set(MemoryObjectStore.id(bucket, key), Buffer.from(body));
  }

  async putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean> {
    if (this.objects.has(MemoryObjectStore.id(bucket, key))) return false;
    this.objects.set(MemoryObjectStore.id(bucket, key), Buffer.from(body));
    return true;
  }

  async copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void> {
    this.objects.set(MemoryObjectStore.id(targetBucket, targetKey), await this.getBytes(sourceBucket, sourceKey));
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(MemoryObjectStore.id(bucket, key));
  }
}

/** `inner`, each of whose operations takes effect when the scheduler releases it. */
export function scheduled(inner: ObjectStore, s: Scheduler): ObjectStore {
  const gate = async <T>(label: string, op: () => Promise<T>): Promise<T> => {
    await s.schedule(Promise.resolve(), label);
    return op();
  };
  return {
    list: (b, p) => gate(`list ${b}/${p}`, () => inner.list(b, p)),
    getStream: (b, k) => gate(`getStream ${b}/${k}`, () => inner.getStream(b, k)),
    getBytes: (b, k) => gate(`getBytes ${b}/${k}`, () => inner.getBytes(b, k)),
    getText: (b, k) => gate(`getText ${b}/${k}`, () => inner.getText(b, k)),
    put: (b, k, body) => gate(`put ${b}/${k}`, () => inner.put(b, k, body)),
    putIfAbsent: (b, k, body) => gate(`putIfAbsent ${b}/${k}`, () => inner.putIfAbsent(b, k, body)),
    copy: (sb, sk, tb, tk) => gate(`copy ${sb}/${sk} ${tb}/${tk}`, () => inner.copy(sb, sk, tb, tk)),
    delete: (b, ks) => gate(`delete ${b}/${ks.join(',')}`, () => inner.delete(b, ks)),
  };
}
