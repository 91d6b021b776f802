import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** One object of a listing. */
export interface ObjectEntry {
  readonly key: string;
  readonly size: number;
}

/**
 * The little of S3 the pipeline's Lambdas need. The cloud binding is S3; local mode binds the
 * same handlers to a directory (the lake), where bucket `b` is the folder `<lake>/b`.
 */
export interface ObjectStore {
  /** Every object under `prefix` (recursive), keys in byte order. */
  list(bucket: string, prefix: string): Promise<ObjectEntry[]>;
  /** The object's bytes as a stream (for files too big to hold in memory). */
  getStream(bucket: string, key: string): Promise<Readable>;
  getBytes(bucket: string, key: string): Promise<Buffer>;
  /** Returns undefined when the object does not exist. */
  getText(bucket: string, key: string): Promise<string | undefined>;
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  /**
   * Writes the object only if no object has that key, atomically (of concurrent callers exactly one
   * wins, and a reader sees the whole object or none); false when one already exists.
   */
  putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean>;
  copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void>;
  delete(bucket: string, keys: readonly string[]): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** S3 binding (cloud). */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client = new S3Client({}),
    /** Attempts of a conditional put that S3 answers with 409 ConditionalRequestConflict. */
    private readonly conflictRetries = 6,
  ) {}

  async list(bucket: string, prefix: string): Promise<ObjectEntry[]> {
    const entries: ObjectEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) entries.push({ key: item.Key ?? '', size: item.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return entries.sort((a, b) => byteOrder(a.key, b.key));
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body as Readable;
  }

  async getBytes(bucket: string, key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      return (await this.getBytes(bucket, key)).toString('utf8');
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async put(bucket: string, key: string, body: Buffer | string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  /**
   * `If-None-Match: *`: S3 answers 412 PreconditionFailed when the key exists, and 409
   * ConditionalRequestConflict when a concurrent write or delete of the key was in flight — then
   * the request is retried (S3's advice), until it is decided either way.
   */
  async putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) return false;
        const conflict = e.name === 'ConditionalRequestConflict' || e.$metadata?.httpStatusCode === 409;
        if (!conflict || attempt >= this.conflictRetries) throw error;
        await sleep(Math.min(1000, 50 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      }
    }
  }

  async copy(sourceBucket: string, sourceKey: string, targetBucket: string, targetKey: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: targetBucket,
        Key: targetKey,
        CopySource: `${sourceBucket}/${encodeURIComponent(sourceKey).replace(/%2F/g, '/')}`,
      }),
    );
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }
}
