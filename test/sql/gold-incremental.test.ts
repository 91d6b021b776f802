/**
 * The incremental gold refresh (sql/gold_monthly_balances.sql reading silver from the first changed
 * month on and gold's balances of the month before, as core/gold-plan.ts plans it) gives, after
 * publish-gold's replacement rule, the gold a full rebuild from all of silver gives: over generated
 * histories of several ingest dates, then a new date with late rows, or a rerun of an old date
 * that replaces its rows (possibly with none, lowering silver's horizon).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { nextMonth } from '../../core/calendar';
import { goldPlan } from '../../core/gold-plan';
import { fromAthenaLiteral } from '../../core/quarter';
import { LocalAthena } from '../../runner/local/local-athena';
import { tempDirs } from '../helpers/lake';
import { readSql, refreshGold, resolverFor, type SilverTx, table, withGold, writeSilver } from '../helpers/sql-lake';

const dirs = tempDirs('txlake-gold-incr-');

const monthOf = (iso: string): string => iso.slice(0, 7);
const latest = (months: string[]): string | null => [...months].sort().pop() ?? null;

async function goldRows(goldDir: string): Promise<string[]> {
  return withGold(goldDir, async (athena) => {
    const result = await athena.execute(
      `SELECT account_id, currency, CAST(month_start AS varchar), CAST(balance AS varchar), year, month
       FROM gold_monthly_balances ORDER BY 1, 2, 3, 5, 6`,
    );
    return result.rows.map((r) => r.join(','));
  });
}

/** `<dir>/year=YYYY/month=MM` → 'YYYY-MM' for every partition directory of a gold directory. */
function partitions(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const y of fs.readdirSync(dir)) {
    for (const m of fs.readdirSync(path.join(dir, y))) out.set(`${y.slice(5)}-${m.slice(6)}`, path.join(dir, y, m));
  }
  return out;
}

/**
 * Gold after publish-gold (glue/src/txlake_glue/gold.py): the old gold's partitions before the first
 * replaced month (`from_month`, or the month after the refreshed tail's horizon when earlier;
 * every month when the refresh is empty), then the refresh's partitions.
 */
async function published(oldGold: string, refreshed: string, fromMonth: string, into: string): Promise<string> {
  const fresh = partitions(refreshed);
  let replacedFrom = '0000-01';
  if (fresh.size > 0) {
    const horizon = await withGold(refreshed, async (athena) => {
      const r = await athena.execute(
        `SELECT CAST(max(month_start) AS varchar) FROM gold_monthly_balances WHERE year = '9999' AND month = '12'`,
      );
      return r.rows[0][0];
    });
    replacedFrom = horizon && nextMonth(monthOf(horizon)) < fromMonth ? nextMonth(monthOf(horizon)) : fromMonth;
  }
  fs.mkdirSync(into, { recursive: true });
  for (const [m, dir] of partitions(oldGold)) {
    if (m < replacedFrom) fs.cpSync(dir, path.join(into, path.relative(oldGold, dir)), { recursive: true });
  }
  for (const [, dir] of fresh) fs.cpSync(dir, path.join(into, path.relative(refreshed, dir)), { recursive: true });
  return into;
}

interface GenTx {
  account: string;
  currency: string;
  cents: number;
  monthIndex: number;
  day: number;
}
const genTx: fc.Arbitrary<GenTx> = fc.record({
  account: fc.constantFrom('A', 'B', 'C'),
  currency: fc.constantFrom('EUR', 'USD'),
  cents: fc.integer({ min: -50_000, max: 50_000 }),
  monthIndex: fc.integer({ min: 0, max: 23 }),
  day: fc.integer({ min: 1, max: 28 }),
});
const toSilver = (t: GenTx, id: string): SilverTx => {
  const y = 2022 + Math.floor(t.monthIndex / 12);
  const m = String((t.monthIndex % 12) + 1).padStart(2, '0');
  return {
    id,
    account: t.account,
    currency: t.currency,
    amount: (t.cents / 100).toFixed(2),
    ts: `${y}-${m}-${String(t.day).padStart(2, '0')}T12:00:00.000Z`,
  };
};

/** One ingest date's rows, written as files of their own (`d<k>_…`), so a rerun can replace them. */
async function writeDate(silver: string, k: number, txs: GenTx[], run: string): Promise<SilverTx[]> {
  const rows = txs.map((t, i) => toSilver(t, `${run}-${k}-${i}`));
  await writeSilver(silver, rows, {
    ingestDate: `2024-01-${String(k + 1).padStart(2, '0')}`,
    sourceFile: `d${k}.csv`,
    runId: run,
    fileNames: `d${k}_${run}_{i}`,
  });
  return rows;
}

function removeDate(silver: string, k: number): void {
  for (const [, dir] of partitions(silver)) {
    for (const f of fs.readdirSync(dir)) if (f.startsWith(`d${k}_`)) fs.rmSync(path.join(dir, f));
  }
}

const change = fc.oneof(
  // a new ingest date: rows anywhere in the two years (late rows included)
  fc.record({ kind: fc.constant('new' as const), rows: fc.array(genTx, { minLength: 1, maxLength: 6 }) }),
  // a rerun of an old date: its rows replaced, possibly by none
  fc.record({
    kind: fc.constant('rerun' as const),
    date: fc.nat(),
    rows: fc.array(genTx, { maxLength: 6 }),
  }),
);

test('incremental refresh + publish equals a full rebuild: new dates with late rows, reruns, a lowered horizon', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(genTx, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      change,
      async (history, next) => {
        const root = dirs();
        const silver = path.join(root, 'silver', 'transactions');
        const byDate: SilverTx[][] = [];
        for (const [k, txs] of history.entries()) byDate.push(await writeDate(silver, k, txs, 'r1'));
        const oldGold = await refreshGold(root, '1900-01', path.join(root, 'staging'), { target: 'gold-refresh/old/' });
        const latestBefore = latest(byDate.flat().map((t) => monthOf(t.ts)));

        // the change, and the job's counts of it
        const k = next.kind === 'new' ? history.length : next.date % history.length;
        const replaced = next.kind === 'rerun' ? byDate[k].map((t) => monthOf(t.ts)) : [];
        if (next.kind === 'rerun') removeDate(silver, k);
        const added = next.rows.length > 0 ? await writeDate(silver, k, next.rows, 'r2') : [];
        const plan = goldPlan({
          silver_months: [...new Set(added.map((t) => monthOf(t.ts)))],
          replaced_silver_months: [...new Set(replaced)],
          latest_silver_month: latestBefore,
        });
        if (plan.from_month === null) return; // nothing changed in silver

        // the refresh as the pipeline runs it: each chunk's query with the plan's parameters, over
        // silver after the change and gold before it
        const staging = path.join(root, 'staging');
        const athena = await LocalAthena.create({
          tables: [table('silver_transactions', silver), table('gold_monthly_balances', oldGold)],
          resolveUri: resolverFor(staging),
        });
        try {
          for (const chunk of plan.chunks) {
            await athena.execute(
              readSql('gold_monthly_balances.sql', `gold-refresh/incr/${chunk.from_month}/`),
              chunk.parameters.map(fromAthenaLiteral),
            );
          }
        } finally {
          athena.close();
        }
        const refreshed = path.join(root, 'refreshed');
        for (const chunk of plan.chunks) {
          const out = path.join(staging, 'gold-refresh', 'incr', chunk.from_month);
          if (fs.existsSync(out)) fs.cpSync(out, refreshed, { recursive: true });
        }
        const after = await published(oldGold, refreshed, plan.from_month, path.join(root, 'published'));
        const full = await refreshGold(root, '1900-01', staging, { target: 'gold-refresh/full/' });
        expect(await goldRows(after)).toEqual(await goldRows(full));
      },
    ),
    {
      numRuns: 60,
      examples: [
        // the rerun of the date holding silver's latest months, now without rows: the horizon
        // falls from 2022-03 to 2022-01 and gold's 2022-02 must go (a full rebuild's read)
        [
          [
            [{ account: 'A', currency: 'EUR', cents: 100, monthIndex: 0, day: 3 }],
            [{ account: 'B', currency: 'USD', cents: -250, monthIndex: 2, day: 9 }],
          ],
          { kind: 'rerun', date: 1, rows: [] },
        ],
        // a new date after a gap: the months in between are created from gold's horizon on
        [
          [[{ account: 'A', currency: 'EUR', cents: 100, monthIndex: 0, day: 3 }]],
          { kind: 'new', rows: [{ account: 'A', currency: 'EUR', cents: 5, monthIndex: 4, day: 1 }] },
        ],
      ],
    },
  );
}, 600_000);
