import { randomUUID } from 'node:crypto';
import { jobCountsPrefix, landingSummaryKey, publishResultKey, TABLES } from '../../core/lake-layout';
import { FsObjectStore } from '../../runner/local/fs-object-store';
import { parseS3Uri } from '../../runner/local/lake-paths';
import type { TaskWrapper } from '../../runner/local/local-runner';

/**
 * Instant stand-ins for the Glue job runs and the Athena queries of the date-batch state machine,
 * for tests of the orchestration at scale (years of dates): each writes what the real step leaves
 * for the steps after it (the job's counts, the publish result, a query's result object), so the
 * real definitions, the real Lambda handlers and the real child executions run around them, and
 * the history and payloads counted are those of a real run of the same path. Every row is counted
 * to silver; nothing is written to the tables. The Lambda and SNS steps are not replaced.
 */
export function serviceStandIns(lake: string, athenaOutputLocation: string): TaskWrapper {
  const store = new FsObjectStore(lake);
  let latestMonth: string | null = null;
  let snapshot = 1;
  const nextSnapshot = (): string => String((snapshot += 1));
  const glueArgs = (input: unknown) => (input as { Arguments: Record<string, string> }).Arguments;

  return async (stateName, input, invoke) => {
    switch (stateName) {
      case 'TransformRows': {
        const runId = glueArgs(input)['--run_id'];
        const date = glueArgs(input)['--ingest_date'];
        // The landing check's manifest of the run: its accepted files and their record counts.
        const manifest = JSON.parse((await store.getText('staging', landingSummaryKey(runId))) ?? '{}') as {
          files: { name: string; records: number }[];
        };
        const records = manifest.files.reduce((sum, f) => sum + f.records, 0);
        const staged = (added: number) => ({
          branch: `audit_${runId}`,
          base_snapshot_id: String(snapshot),
          snapshot_id: nextSnapshot(),
          added_records: added,
          deleted_records: 0,
        });
        const counts = {
          read: records,
          silver: records,
          quarantined: 0,
          condemned: 0,
          reasons: {},
          read_by_file: Object.fromEntries(manifest.files.map((f) => [f.name, f.records])),
          silver_months: [date.slice(0, 7)],
          replaced_silver_months: [],
          latest_silver_month: latestMonth,
          staged: { silver: staged(records), quarantine: staged(0), condemned: staged(0) },
        };
        if (!latestMonth || date.slice(0, 7) > latestMonth) latestMonth = date.slice(0, 7);
        await store.put('staging', `${jobCountsPrefix(runId)}part-00000.json`, `${JSON.stringify(counts)}\n`);
        return { JobRunState: 'SUCCEEDED' };
      }
      case 'PublishTables':
      case 'PublishGold': {
        const runId = glueArgs(input)['--run_id'];
        const key = publishResultKey(runId);
        const result = JSON.parse(
          (await store.getText('staging', key)) ??
            JSON.stringify({ run_id: runId, ingest_date: glueArgs(input)['--ingest_date'], tables: {} }),
        ) as { tables: Record<string, { before: string; after: string }> };
        const tables =
          stateName === 'PublishGold' ? [TABLES.gold] : [TABLES.silver, TABLES.quarantine, TABLES.condemned];
        for (const table of tables) result.tables[table] = { before: String(snapshot), after: nextSnapshot() };
        await store.put('staging', key, JSON.stringify(result));
        return { JobRunState: 'SUCCEEDED' };
      }
      case 'RefreshGoldChunk':
      case 'BalanceReport': {
        const outputLocation = `${athenaOutputLocation.replace(/\/?$/, '/')}${randomUUID()}.csv`;
        const [bucket, objectKey] = parseS3Uri(outputLocation)!;
        await store.put(bucket, objectKey, '"account_id","currency","month","balance"\n');
        return {
          QueryExecution: { ResultConfiguration: { OutputLocation: outputLocation }, Status: { State: 'SUCCEEDED' } },
        };
      }
      default:
        return invoke();
    }
  };
}
