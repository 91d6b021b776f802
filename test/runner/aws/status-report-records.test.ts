import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { listRunRecords } from '../../../runner/aws/status-report-records';
import { scenarioRecords } from '../../helpers/status-records';

const BUCKET = 'txlake-prod-staging';
const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

/** A bucket of objects, listed two keys a page, each with a LastModified. */
function fakeBucket(objects: Record<string, string>): { gets: string[] } {
  const gets: string[] = [];
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string; ContinuationToken?: string }) => {
    expect([input.Bucket, input.Prefix]).toEqual([BUCKET, 'run-records/']);
    const keys = Object.keys(objects)
      .filter((k) => k.startsWith(input.Prefix))
      .sort();
    const offset = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const more = offset + 2 < keys.length;
    return {
      Contents: keys.slice(offset, offset + 2).map((Key) => ({ Key, LastModified: new Date('2024-04-01T00:00:00Z') })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(offset + 2) } : {}),
    };
  });
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    gets.push(input.Key);
    return { Body: { transformToString: async () => objects[input.Key] } };
  });
  return { gets };
}

test('every execution’s records of the dates asked for, with their write time; the others not fetched', async () => {
  const march = scenarioRecords({ month: '2024-03', timeZone: 'UTC', rowsPerDay: 50, rerun: ['2024-03-20'] });
  const april = scenarioRecords({ month: '2024-04', timeZone: 'UTC', rowsPerDay: 50 });
  const objects: Record<string, string> = {
    'run-records/sched-x/notes.txt': 'not a record',
    'run-records/broken/2024-03-05.json': '{"ingest_date":',
  };
  for (const r of [...march, ...april]) {
    objects[`run-records/${r.execution_id}/${r.record.ingest_date}.json`] = JSON.stringify(r.record);
  }
  const { gets } = fakeBucket(objects);
  const read = await listRunRecords(new S3Client({}), BUCKET, { from: '2024-02-01', to: '2024-03-31' });
  expect(read.records).toHaveLength(march.length);
  expect(read.records.map((r) => [r.execution_id, r.record.ingest_date])).toEqual(
    march.map((r) => [r.execution_id, r.record.ingest_date]),
  );
  expect(read.records.every((r) => r.written_at === '2024-04-01T00:00:00.000Z')).toBe(true);
  expect(read.records.find((r) => r.record.ingest_date === '2024-03-20' && r.record.status === 'FAILED')).toBeDefined();
  expect(read.unreadable).toEqual([`s3://${BUCKET}/run-records/broken/2024-03-05.json is not JSON`]);
  expect(gets.some((k) => k.includes('2024-04-') || k.endsWith('.txt'))).toBe(false);
});
