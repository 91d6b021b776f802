import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RUN_RECORDS_PREFIX } from '../../core/lake-layout';
import { parseRunRecordKey, parseStoredRunRecord, type StoredRunRecord } from '../../core/status-report';
import { FsObjectStore } from '../../runner/local/fs-object-store';

/**
 * A local lake's run records of the ingest dates `from`..`to`, every execution's
 * (`<lake>/staging/run-records/<execution_id>/<ingest_date>.json`), each with its file's
 * modification time as its write time; in key order (executions in byte order). A file that is not
 * a run record is named in `unreadable` (one line) and left out.
 */
export async function readLocalRunRecords(
  lake: string,
  range: { readonly from: string; readonly to: string },
): Promise<{ records: StoredRunRecord[]; unreadable: string[] }> {
  const store = new FsObjectStore(lake);
  const records: StoredRunRecord[] = [];
  const unreadable: string[] = [];
  for (const { key } of await store.list('staging', RUN_RECORDS_PREFIX)) {
    const parts = parseRunRecordKey(key);
    if (!parts || parts.ingest_date < range.from || parts.ingest_date > range.to) continue;
    const file = path.join(lake, 'staging', ...key.split('/'));
    try {
      const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
      records.push(parseStoredRunRecord(text, key, file, stat.mtime.toISOString()));
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      unreadable.push(message.startsWith(file) ? message : `${file}: ${message}`);
    }
  }
  return { records, unreadable };
}
