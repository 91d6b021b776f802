import * as fs from 'node:fs';
import * as path from 'node:path';
import { FULL_REBUILD_READ_MONTH, goldRefreshChunks, goldRefreshParameters } from '../core/gold-plan';
import { GOLD_REFRESH_PREFIX, monthOfKey } from '../core/lake-layout';
import { loadSql } from '../core/sql-files';
import { BUCKETS, type Lake, openAthena, parquetFiles } from './balance-history-lake';
import type { SilverManifest } from './balance-history-silver';
import { round } from './balance-history-stats';

/**
 * The balance-history bench's gold snapshot: sql/gold_monthly_balances.sql through LocalAthena
 * (UNLOAD → staging), then moved into place as the gold directory the bench's queries read. The
 * pipeline commits the same rows to the Iceberg gold table (the Glue job's publish-gold mode); the
 * bench measures the queries, which read the same Parquet files either way.
 */

interface GoldManifest {
  readonly silver_build: SilverManifest;
  readonly unload_seconds: number;
  readonly publish_seconds: number;
}

export async function buildGold(
  lake: Lake,
  silver: SilverManifest,
  opts: { workDir: string; memoryLimit: string; reuse: boolean },
  log: (line: string) => void,
): Promise<{ unload_seconds: number; publish_seconds: number; reused: boolean }> {
  const manifestFile = path.join(opts.workDir, 'gold-manifest.json');
  if (opts.reuse && fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as GoldManifest;
    if (JSON.stringify(m.silver_build) === JSON.stringify(silver) && parquetFiles(lake.gold).length > 0) {
      log(`gold: reusing ${lake.gold}`);
      return { unload_seconds: m.unload_seconds, publish_seconds: m.publish_seconds, reused: true };
    }
  }
  fs.rmSync(manifestFile, { force: true });
  // Full rebuild from the first month: gold and the staging area start empty.
  fs.rmSync(path.join(lake.root, BUCKETS.gold), { recursive: true, force: true });
  fs.rmSync(lake.staging, { recursive: true, force: true });
  const months = fs
    .readdirSync(lake.silver)
    .flatMap((y) => fs.readdirSync(path.join(lake.silver, y)).map((m) => monthOfKey(`${y}/${m}/`)))
    .filter((month) => month !== undefined)
    .sort();
  // The refresh as the pipeline plans it: one query per chunk of at most 99 months (one chunk for
  // the bench's 60 months of silver), each UNLOADed to a target of its own.
  const chunks = goldRefreshChunks(months[0], months[months.length - 1]);
  const targets = chunks.map((c) => `${GOLD_REFRESH_PREFIX}bench/${c.from_month}/`);
  log(`gold: UNLOAD sql/gold_monthly_balances.sql from ${months[0]} through LocalAthena (${chunks.length} queries)`);
  const t0 = performance.now();
  const { athena } = await openAthena(lake, opts);
  try {
    for (const [i, chunk] of chunks.entries()) {
      await athena.execute(
        loadSql('gold_monthly_balances', { STAGING_BUCKET: BUCKETS.staging, GOLD_REFRESH_TARGET: targets[i] }),
        // a full rebuild: gold is empty, so every month is read from silver
        goldRefreshParameters(FULL_REBUILD_READ_MONTH, chunk.from_month, chunk.to_month),
      );
    }
  } finally {
    athena.close();
  }
  const t1 = performance.now();
  log(`gold: unloaded in ${round((t1 - t0) / 1000, 1)} s; moving into place`);
  for (const target of targets) {
    const dir = path.join(lake.staging, target);
    if (!fs.existsSync(dir)) continue;
    for (const year of fs.readdirSync(dir)) {
      fs.mkdirSync(path.join(lake.gold, year), { recursive: true });
      for (const month of fs.readdirSync(path.join(dir, year))) {
        fs.renameSync(path.join(dir, year, month), path.join(lake.gold, year, month));
      }
    }
  }
  const t2 = performance.now();
  log(`gold: ${parquetFiles(lake.gold).length} files in place`);
  const result = { unload_seconds: round((t1 - t0) / 1000, 1), publish_seconds: round((t2 - t1) / 1000, 1) };
  const manifest: GoldManifest = { silver_build: silver, ...result };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...result, reused: false };
}
