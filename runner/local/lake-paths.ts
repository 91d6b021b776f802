import * as path from 'node:path';

const s3Uri = /^s3:\/\/([^/]+)\/?(.*)$/;

/** `s3://bucket/key` → `[bucket, key]`, or undefined for anything else. */
export function parseS3Uri(uri: string): [bucket: string, key: string] | undefined {
  const match = s3Uri.exec(uri);
  return match ? [match[1], match[2]] : undefined;
}

/** `s3://bucket/key` → `<lake>/bucket/key`: the lake mirrors the buckets. */
export function localPath(lake: string, uri: string): string {
  const parsed = parseS3Uri(uri);
  return parsed ? path.join(lake, parsed[0], parsed[1]) : uri;
}
