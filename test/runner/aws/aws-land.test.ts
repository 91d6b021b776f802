import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { compareByChecksum, digestFile, type FileDigest } from '../../../runner/aws/aws-land';
import { tempDirs } from '../../helpers/lake';

const scratch = tempDirs('txlake-aws-land-');
const sha = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

describe('digestFile: SHA-256 of a file, whole and as S3 composes the parts of a multipart upload', () => {
  test('a file of several parts: the composite is the digest of the part digests', async () => {
    const bytes = randomBytes(2500);
    const file = path.join(scratch(), 'f');
    writeFileSync(file, bytes);
    const digest = await digestFile(file, 1000);
    const parts = [0, 1, 2].map((i) => sha(bytes.subarray(i * 1000, (i + 1) * 1000)));
    expect(digest).toEqual({
      size: 2500,
      sha256: sha(bytes).toString('base64'),
      parts: 3,
      composite: sha(Buffer.concat(parts)).toString('base64'),
    });
  });

  test('a file of one part (or none) has no composite', async () => {
    const file = path.join(scratch(), 'e');
    writeFileSync(file, '');
    expect(await digestFile(file, 1000)).toEqual({
      size: 0,
      sha256: sha(Buffer.alloc(0)).toString('base64'),
      parts: 1,
    });
    writeFileSync(file, Buffer.alloc(1000, 1));
    expect((await digestFile(file, 1000)).parts).toBe(1);
  });
});

describe('compareByChecksum: whether an object holds a file, from its HeadObject', () => {
  const local: FileDigest = { size: 30, sha256: 'FULL=', parts: 2, composite: 'COMPOSITE=' };
  const head = (fields: Partial<HeadObjectCommandOutput>): HeadObjectCommandOutput =>
    ({ $metadata: {}, ContentLength: 30, ETag: '"abc"', ...fields }) as HeadObjectCommandOutput;

  test.each([
    ['another size', head({ ContentLength: 31, ChecksumSHA256: 'FULL=' }), 'different'],
    ['the same full checksum', head({ ChecksumSHA256: 'FULL=' }), 'same'],
    ['another full checksum of a single-part object', head({ ChecksumSHA256: 'OTHER=' }), 'different'],
    ['no SHA-256 checksum', head({}), 'unknown'],
    ['the same composite of as many parts', head({ ChecksumSHA256: 'COMPOSITE=-2', ETag: '"x-2"' }), 'same'],
    [
      'the composite without its count (moto), multipart by its ETag',
      head({ ChecksumSHA256: 'COMPOSITE=', ETag: '"x-2"' }),
      'same',
    ],
    ['a composite of other part sizes', head({ ChecksumSHA256: 'OTHER=-3', ETag: '"x-3"' }), 'unknown'],
    [
      'a composite of as many parts, other digest',
      head({ ChecksumSHA256: 'OTHER=-2', ChecksumType: 'COMPOSITE' }),
      'unknown',
    ],
  ])('%s', (_name, output, expected) => {
    expect(compareByChecksum(output, local)).toBe(expected);
  });
});
