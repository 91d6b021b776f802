import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { formatInt, formatRate } from '../../core/status-report-render';
import type { StoredRunRecord } from '../../core/status-report';
import { expectUsageError, ROOT, txlake, txlakeWithEnv } from '../helpers/cli';
import { tempDirs } from '../helpers/lake';
import { type MonthScenario, scenarioRecords, writeRunRecordFiles } from '../helpers/status-records';

const tempDir = tempDirs('txlake-report-');

/** What the month's records add up to: each date's latest SUCCEEDED record (all have recorded_at). */
function totals(records: readonly StoredRunRecord[], month: string) {
  const latest = new Map<string, StoredRunRecord>();
  for (const r of records) {
    if (!r.record.ingest_date.startsWith(month) || r.record.status !== 'SUCCEEDED') continue;
    const seen = latest.get(r.record.ingest_date);
    if (!seen || seen.record.recorded_at! < r.record.recorded_at!) latest.set(r.record.ingest_date, r);
  }
  const sum = { read: 0, silver: 0, quarantined: 0, condemned: 0 };
  for (const { record } of latest.values()) {
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += record.rows[k];
  }
  return { dates: latest.size, ...sum };
}

const MARCH: MonthScenario = {
  month: '2024-03',
  timeZone: 'UTC',
  rowsPerDay: 1200,
  noData: ['2024-03-03'],
  missing: ['2024-03-24'],
  failed: ['2024-03-14'],
  rerun: ['2024-03-20'],
  lateHours: { '2024-03-21': 30 },
};

describe('txlake report on a local lake', () => {
  const lake = tempDir();
  const records = [
    ...scenarioRecords({ month: '2024-02', timeZone: 'UTC', seed: 5, rowsPerDay: 1200 }),
    ...scenarioRecords(MARCH),
  ];
  writeRunRecordFiles(lake, records);
  const march = totals(records, '2024-03');

  test('the status e-mail in Markdown on stdout: the figures of the records', async () => {
    const result = await txlake(['report', '--month', '2024-03', '--lake', lake]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^\[txlake\] read 60 run records of 2024-02-01\.\.2024-03-31 from /);
    const md = result.stdout;
    expect(md.split('\n')[0]).toBe(
      `Subject: [txlake local (dev)] March 2024 status — ${march.dates} of 31 dates published, 1 failed, 1 late, 1 missing`,
    );
    expect(md).toContain('# txlake status report — March 2024');
    expect(md).toContain(
      `**Rows:** ${formatInt(march.read)} read → ${formatInt(march.silver)} silver (${formatRate(march.silver / march.read)}), ${formatInt(march.quarantined)} quarantined (${formatRate(march.quarantined / march.read)}), ${formatInt(march.condemned)} condemned (${formatRate(march.condemned / march.read)}).`,
    );
    expect(md).toContain('| failed | 1 | 2024-03-14 (QUALITY_GATE_FAILED) |');
    expect(md).toContain('| late | 1 | 2024-03-21 (1 d 06 h) |');
    expect(md).toContain('| missing | 1 | 2024-03-24 |');
    expect(md).toContain('| no data | 1 | 2024-03-03 |');
    expect(md).toContain('2024-03-20 (2 runs: QUALITY_GATE_FAILED → SUCCEEDED)');
    expect(md).toContain('## What changed since February 2024');
    expect(md).toMatch(/\| rows read \| [\d,]+ \| [\d,]+ \| [+−][\d,]+ \([+−][\d.]+%\) \|/);
    expect(md).toContain('## Quarantine by code');
    expect(md).toContain('| DUPLICATE_ROW | rows condemned |');
    // One line per date in the daily detail, and the definitions at the end.
    expect(md.match(/^\| 2024-03-\d\d \|/gm)).toHaveLength(31);
    expect(md).toContain('**How the figures are defined**');
    expect(md).toContain('Late: published after the next day');
  });

  test('--format html: one self-contained page with the chart inline as SVG', async () => {
    const result = await txlake(['report', '--month', '2024-03', '--lake', lake, '--format', 'html']);
    expect(result.code).toBe(0);
    const html = result.stdout;
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>txlake status report — March 2024</title>');
    expect(html.match(/<svg /g)).toHaveLength(1);
    expect(html).toContain('Daily rows and quarantine rate, March 2024');
    // Nothing loaded from elsewhere: no script, stylesheet link, image or frame source.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(/i);
    expect(html).toContain(`${formatInt(march.read)} read`);
  });

  test('--out DIR writes status-YYYY-MM.md and .html and prints their paths', async () => {
    const out = path.join(tempDir(), 'reports');
    const env = { SOURCE_DATE_EPOCH: '1712019600' };
    const result = await txlakeWithEnv(['report', '--month', '2024-03', '--lake', lake, '--out', out], env);
    expect(result.code).toBe(0);
    const files = [path.join(out, 'status-2024-03.md'), path.join(out, 'status-2024-03.html')];
    expect(result.stdout).toBe(files.map((f) => `${f}\n`).join(''));
    expect(readdirSync(out).sort()).toEqual(['status-2024-03.html', 'status-2024-03.md']);
    // The files are what stdout carries without --out (the same instant: the same bytes).
    const md = await txlakeWithEnv(['report', '--month', '2024-03', '--lake', lake], env);
    expect(readFileSync(files[0], 'utf8')).toBe(md.stdout);
    const html = await txlakeWithEnv(['report', '--month', '2024-03', '--lake', lake, '--format', 'html'], env);
    expect(readFileSync(files[1], 'utf8')).toBe(html.stdout);
    expect(md.stdout).toContain('made 2024-04-02T01:00:00.000Z');

    const only = path.join(tempDir(), 'only-html');
    const one = await txlake([
      'report',
      '--month',
      '2024-03',
      '--lake',
      lake,
      '--out',
      only,
      '--format',
      'html',
      '--json',
    ]);
    expect(JSON.parse(one.stdout)).toEqual({ files: [path.join(only, 'status-2024-03.html')] });
    expect(readdirSync(only)).toEqual(['status-2024-03.html']);
  });

  test('--json: the report figures as one document', async () => {
    const result = await txlake(['report', '--month', '2024-03', '--lake', lake, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.figures.rows).toEqual({
      read: march.read,
      silver: march.silver,
      quarantined: march.quarantined,
      condemned: march.condemned,
    });
    expect(report.figures.published).toBe(march.dates);
    expect(report.time_zone).toBe('UTC');
    expect(report.dates).toHaveLength(31);
  });

  test("--env prod: the schedule's time zone of that environment", async () => {
    const result = await txlake(['report', '--month', '2024-03', '--lake', lake, '--env', 'prod', '--json']);
    const report = JSON.parse(result.stdout);
    expect(report.time_zone).toBe('Europe/Zurich');
    expect(report.environment).toBe('local (prod)');
    expect(report.dates[0].scheduled_at).toBe('2024-03-02T01:00:00.000Z');
  });

  test('a month without records: a report that says so, exit 0', async () => {
    const result = await txlake(['report', '--month', '2023-07', '--lake', lake]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('Subject: [txlake local (dev)] July 2023 status — no run records');
    expect(result.stdout).toContain('No run records were found for July 2023: no date of the month was processed');
    expect(result.stdout).toContain('No run records for June 2023 to compare with.');
    const html = await txlake(['report', '--month', '2023-07', '--lake', lake, '--format', 'html']);
    expect(html.code).toBe(0);
    expect(html.stdout).toContain('No run records were found for July 2023');
  });

  test('a record file that is not one: a warning, the report without it, exit 0', async () => {
    const broken = tempDir();
    writeRunRecordFiles(broken, scenarioRecords({ ...MARCH, rowsPerDay: 100 }));
    const bad = path.join(broken, 'staging', 'run-records', 'sched-x', '2024-03-05.json');
    mkdirSync(path.dirname(bad), { recursive: true });
    writeFileSync(bad, '{"ingest_date": "2024-03-05"');
    writeFileSync(path.join(broken, 'staging', 'run-records', 'sched-x', 'notes.txt'), 'not a record');
    const result = await txlake(['report', '--month', '2024-03', '--lake', broken]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`txlake: warning: skipped ${bad} is not JSON\n`);
    expect(result.stdout).toContain('## Unreadable run records');
    expect(result.stdout).toContain(`- ${bad} is not JSON`);
  });
});

describe('txlake report usage errors: exit 2, one line', () => {
  const lake = tempDir();
  const cases: [string, string[], RegExp][] = [
    ['bad month', ['report', '--month', '2024-13', '--lake', lake], /"2024-13" is not a month YYYY-MM/],
    ['month without zero', ['report', '--month', '2024-3', '--lake', lake], /"2024-3" is not a month/],
    ['a date for a month', ['report', '--month', '2024-03-01', '--lake', lake], /is not a month/],
    ['missing --month', ['report', '--lake', lake], /required option '--month <month>' not specified/],
    ['bad format', ['report', '--month', '2024-03', '--format', 'pdf', '--lake', lake], /argument 'pdf' is invalid/],
    [
      '--json with --format',
      ['report', '--month', '2024-03', '--json', '--format', 'md', '--lake', lake],
      /--json prints the report as JSON/,
    ],
    ['no such lake', ['report', '--month', '2024-03', '--lake', path.join(lake, 'nope')], /lake .*nope does not exist/],
    ['unknown environment', ['report', '--month', '2024-03', '--env', 'nope'], /unknown environment "nope"/],
  ];
  test.each(cases)('%s', async (_name, args, message) => {
    expectUsageError(await txlake(args), message);
  });
});

/**
 * The example of the repository (docs/examples): a month of realistic records — the counts the
 * project's generator's files make a run report, tens of thousands of rows a day — in the prod
 * environment's zone (Europe/Zurich), made at a fixed instant. The committed files must be what the
 * CLI makes of them now; `TXLAKE_WRITE_EXAMPLES=1` writes them again.
 */
describe('the docs example', () => {
  const EXAMPLES = path.join(ROOT, 'docs', 'examples');
  const MONTH = '2024-03';
  const scenario: MonthScenario = {
    month: MONTH,
    timeZone: 'Europe/Zurich',
    rowsPerDay: 24_000,
    invalidRate: 0.0035,
    noData: ['2024-03-31'],
    failed: ['2024-03-14'],
    rerun: ['2024-03-06'],
    lateHours: { '2024-03-21': 31.5 },
    rejectedFile: ['2024-03-12'],
    // 2024-03-31 has no 02:00 in Zurich: the scheduler skipped the run of 2024-03-30, nobody ran it.
    missing: ['2024-03-30'],
  };

  test('docs/examples/status-2024-03.md and .html are what the CLI makes of the example records', async () => {
    const lake = tempDir();
    writeRunRecordFiles(lake, [
      ...scenarioRecords({
        month: '2024-02',
        timeZone: 'Europe/Zurich',
        seed: 11,
        rowsPerDay: 23_000,
        invalidRate: 0.003,
      }),
      ...scenarioRecords(scenario),
    ]);
    const out = process.env.TXLAKE_WRITE_EXAMPLES === '1' ? EXAMPLES : tempDir();
    const args = ['report', '--month', MONTH, '--env', 'prod', '--lake', lake, '--out', out];
    // 2024-04-02T06:00:00Z: the morning after the first run of April.
    const result = await txlakeWithEnv(args, { SOURCE_DATE_EPOCH: '1712037600' });
    expect(result.code).toBe(0);
    for (const ext of ['md', 'html']) {
      const name = `status-${MONTH}.${ext}`;
      expect(existsSync(path.join(EXAMPLES, name))).toBe(true);
      // Differs? The renderer changed: TXLAKE_WRITE_EXAMPLES=1 npx jest test/cli/report.test.ts -t 'docs example'
      expect(readFileSync(path.join(out, name), 'utf8')).toBe(readFileSync(path.join(EXAMPLES, name), 'utf8'));
    }
  });
});
