import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { RUN_RECORDS_PREFIX } from '../../core/lake-layout';
import { parseRunRecordKey, parseStoredRunRecord, type StoredRunRecord } from '../../core/status-report';
import { oneLine, openDeployment } from './deployment';

/** Run records read for a report, and the objects that could not be read (one line each). */
export interface RunRecordsRead {
  readonly records: StoredRunRecord[];
  readonly unreadable: string[];
}

/** Objects fetched at once. */
const PARALLEL_GETS = 8;

/**
 * Every execution's run records of the ingest dates `from`..`to` in the staging bucket
 * (`run-records/<execution_id>/<ingest_date>.json`), with each object's LastModified as its write
 * time; the date is read from the key, so only the records of those dates are fetched. Listed in
 * key order (executions in byte order).
 */
export async function listRunRecords(
  s3: S3Client,
  bucket: string,
  range: { readonly from: string; readonly to: string },
): Promise<RunRecordsRead> {
  const wanted: { key: string; modified?: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: RUN_RECORDS_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const parts = object.Key ? parseRunRecordKey(object.Key) : undefined;
      if (!parts || parts.ingest_date < range.from || parts.ingest_date > range.to) continue;
      wanted.push({ key: object.Key as string, modified: object.LastModified?.toISOString() });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  wanted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const results: (StoredRunRecord | string)[] = new Array(wanted.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const i = next++;
      const { key, modified } = wanted[i];
      const where = `s3://${bucket}/${key}`;
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = (await object.Body?.transformToString('utf8')) ?? '';
        results[i] = parseStoredRunRecord(text, key, where, modified);
      } catch (error) {
        const message = oneLine((error as Error).message);
        results[i] = message.startsWith(where) ? message : `${where}: ${message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_GETS, wanted.length) }, worker));
  return {
    records: results.filter((r): r is StoredRunRecord => typeof r !== 'string'),
    unreadable: results.filter((r): r is string => typeof r === 'string'),
  };
}

/**
 * The run records of a deployed environment for `txlake report --target aws`: its staging bucket
 * from the pipeline stack's outputs, the clients configured as every aws command's (region,
 * TXLAKE_AWS_ENDPOINT).
 */
export async function readDeployedRunRecords(options: {
  readonly root: string;
  readonly envName?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly range: { readonly from: string; readonly to: string };
  /** S3 client to use (tests); default one of the deployment's configuration. */
  readonly s3?: S3Client;
}): Promise<RunRecordsRead & { readonly envName: string; readonly stagingBucket: string }> {
  const target = await openDeployment(options, ['stagingBucket']);
  const s3 = options.s3 ?? new S3Client(target.config);
  const { stagingBucket } = target.deployment;
  return { ...(await listRunRecords(s3, stagingBucket, options.range)), envName: target.envName, stagingBucket };
}
