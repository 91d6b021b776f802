import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { landingPrefix } from '../../core/lake-layout';
import { oneLine } from './deployment';

/**
 * The part size of a multipart landing: 8 MiB, as the AWS CLI's `s3 cp` uses, so a file it landed
 * with SHA-256 checksums compares by checksum too. A file of at most one part is one PutObject.
 */
export const LAND_PART_SIZE = 8 * 1024 * 1024;

/** A file to land: its path and the name it gets in bronze. */
export interface LandingFile {
  readonly path: string;
  readonly name: string;
}

/** A file in bronze: its key in the bronze bucket and its size. */
export interface LandedObject {
  readonly key: string;
  readonly bytes: number;
  /** False when bronze already held the same bytes under the name (landing is idempotent). */
  readonly uploaded: boolean;
}

/** Bronze already holds other bytes under a file's name: nothing was landed (bronze is immutable). */
export class LandingConflictError extends Error {
  constructor(
    readonly file: string,
    ingestDate: string,
  ) {
    super(`bronze already holds a different ${file} for ${ingestDate}; bronze is immutable`);
    this.name = 'LandingConflictError';
  }
}

/** A local file's SHA-256 (base64, as S3 gives it), whole and as S3's composite of its parts. */
export interface FileDigest {
  readonly size: number;
  readonly sha256: string;
  readonly parts: number;
  /** sha256 of the concatenated part digests (S3's COMPOSITE checksum, without `-N`); when parts > 1. */
  readonly composite?: string;
}

export async function digestFile(file: string, partSize: number = LAND_PART_SIZE): Promise<FileDigest> {
  const whole = createHash('sha256');
  const partDigests: Buffer[] = [];
  let part = createHash('sha256');
  let inPart = 0;
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    let data = chunk as Buffer;
    whole.update(data);
    size += data.length;
    while (data.length > 0) {
      const take = Math.min(partSize - inPart, data.length);
      part.update(data.subarray(0, take));
      inPart += take;
      data = data.subarray(take);
      if (inPart === partSize) {
        partDigests.push(part.digest());
        part = createHash('sha256');
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || partDigests.length === 0) partDigests.push(part.digest());
  const parts = partDigests.length;
  return {
    size,
    sha256: whole.digest('base64'),
    parts,
    ...(parts > 1 ? { composite: createHash('sha256').update(Buffer.concat(partDigests)).digest('base64') } : {}),
  };
}

/**
 * Whether an object holds a file's bytes, from its HeadObject (with ChecksumMode ENABLED): `unknown`
 * when its metadata cannot tell (no SHA-256 checksum, or a multipart object of other part sizes).
 */
export function compareByChecksum(head: HeadObjectCommandOutput, local: FileDigest): 'same' | 'different' | 'unknown' {
  if (head.ContentLength !== undefined && head.ContentLength !== local.size) return 'different';
  const etagParts = /-(\d+)"?$/.exec(head.ETag ?? '')?.[1];
  const [digest, checksumParts] = (head.ChecksumSHA256 ?? '').split('-');
  const remoteParts = checksumParts ?? etagParts;
  const multipart = remoteParts !== undefined || head.ChecksumType === 'COMPOSITE';
  if (!digest) return 'unknown';
  if (!multipart) return digest === local.sha256 ? 'same' : 'different';
  if (local.composite && digest === local.composite && (!remoteParts || Number(remoteParts) === local.parts)) {
    return 'same';
  }
  // A full-object checksum of a multipart object, or a composite of other part sizes.
  return head.ChecksumType === 'FULL_OBJECT' ? (digest === local.sha256 ? 'same' : 'different') : 'unknown';
}

const isStatus = (error: unknown, ...codes: number[]): boolean =>
  error instanceof S3ServiceException && codes.includes(error.$metadata.httpStatusCode ?? 0);

async function head(s3: S3Client, bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isStatus(error, 404) || (error as Error).name === 'NotFound') return undefined;
    throw error;
  }
}

/** Whether the object holds the file's bytes: by checksum when its metadata tells, else by its bytes. */
async function holdsFile(s3: S3Client, bucket: string, key: string, local: FileDigest): Promise<boolean> {
  const found = await head(s3, bucket, key);
  if (!found) return false;
  const byChecksum = compareByChecksum(found, local);
  if (byChecksum !== 'unknown') return byChecksum === 'same';
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of object.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return size === local.size && hash.digest('base64') === local.sha256;
}

export interface LandOnAwsOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly ingestDate: string;
  readonly files: readonly LandingFile[];
  readonly progress: (line: string) => void;
  /** @default {@link LAND_PART_SIZE} */
  readonly partSize?: number;
}

/**
 * Uploads files byte-identical to `s3://<bronze>/transactions/ingest_date=D/<name>` (SHA-256
 * checksums, multipart above one part), never over other bytes: every name is checked first (a
 * name holding other bytes refuses the whole landing, {@link LandingConflictError}, before anything
 * is uploaded; the same bytes are already landed), and each upload is conditional (`If-None-Match:
 * *`), so a lander that lost a race to another one compares again instead of overwriting. Each
 * uploaded object's size and checksum are verified.
 */
export async function landOnAws(options: LandOnAwsOptions): Promise<LandedObject[]> {
  const { s3, bucket, ingestDate, progress } = options;
  const partSize = options.partSize ?? LAND_PART_SIZE;
  const planned: { file: LandingFile; key: string; digest: FileDigest; present: boolean }[] = [];
  for (const file of options.files) {
    const key = `${landingPrefix(ingestDate)}${file.name}`;
    const digest = await digestFile(file.path, partSize);
    const found = await head(s3, bucket, key);
    let present = false;
    if (found) {
      if (!(await holdsFile(s3, bucket, key, digest))) throw new LandingConflictError(file.name, ingestDate);
      present = true;
    }
    planned.push({ file, key, digest, present });
  }

  const landed: LandedObject[] = [];
  for (const { file, key, digest, present } of planned) {
    if (present) {
      progress(`s3://${bucket}/${key} already holds ${file.name}`);
      landed.push({ key, bytes: digest.size, uploaded: false });
      continue;
    }
    const single = digest.size <= partSize;
    const upload = new Upload({
      client: s3,
      partSize,
      params: {
        Bucket: bucket,
        Key: key,
        Body: single ? readFileSync(file.path) : createReadStream(file.path),
        ContentLength: digest.size,
        ChecksumAlgorithm: 'SHA256',
        // One PutObject carries the digest taken above: S3 refuses bytes that changed since.
        ...(single ? { ChecksumSHA256: digest.sha256 } : {}),
        IfNoneMatch: '*',
      },
    });
    let uploaded = true;
    try {
      await upload.done();
    } catch (error) {
      // Another lander created the name first (412), or is creating it (409): compare with theirs.
      if (!isStatus(error, 409, 412)) {
        throw new Error(`cannot upload ${file.name} to s3://${bucket}/${key}: ${oneLine((error as Error).message)}`);
      }
      if (!(await holdsFile(s3, bucket, key, digest))) throw new LandingConflictError(file.name, ingestDate);
      uploaded = false;
    }
    if (uploaded && !(await holdsFile(s3, bucket, key, digest))) {
      throw new Error(`s3://${bucket}/${key} does not hold the bytes of ${file.name} after the upload`);
    }
    progress(
      `${uploaded ? 'uploaded' : 'already landed'} ${file.name} to s3://${bucket}/${key} (${digest.size} bytes)`,
    );
    landed.push({ key, bytes: digest.size, uploaded });
  }
  return landed;
}
