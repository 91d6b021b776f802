import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { txlake } from '../helpers/cli';
import { tempDirs } from '../helpers/lake';
import { scenarioRecords, writeRunRecordFiles } from '../helpers/status-records';

/**
 * The HTML summary as a browser shows it: Debian's chromium, headless, takes a screenshot of the
 * page `txlake report --format html --out` wrote, and the chart must be there — the bars in their
 * colours over a wide area, and the many colours of a drawn chart (not a blank or broken image).
 */

const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);
const tempDir = tempDirs('txlake-report-chromium-');

/** The bars' colours (core/status-report-render): silver, quarantined, the failed date's rule. */
const SILVER = [0x4c, 0x78, 0xa8];
const QUARANTINED = [0xf5, 0x85, 0x18];
const FAILED = [0xd6, 0x27, 0x28];

function near(png: PNG, i: number, [r, g, b]: number[], tolerance = 12): boolean {
  return (
    Math.abs(png.data[i] - r) <= tolerance &&
    Math.abs(png.data[i + 1] - g) <= tolerance &&
    Math.abs(png.data[i + 2] - b) <= tolerance
  );
}

test('headless chromium renders the chart of the HTML summary', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: this test opens the report in Debian's chromium (as root: apt-get install -y chromium)`,
    );
  }
  const lake = tempDir();
  writeRunRecordFiles(
    lake,
    scenarioRecords({
      month: '2024-03',
      timeZone: 'UTC',
      rowsPerDay: 3000,
      invalidRate: 0.02,
      failed: ['2024-03-14'],
      noData: ['2024-03-03'],
    }),
  );
  const out = tempDir();
  const result = await txlake(['report', '--month', '2024-03', '--lake', lake, '--format', 'html', '--out', out]);
  expect(result.code).toBe(0);
  const page = path.join(out, 'status-2024-03.html');
  expect(result.stdout).toBe(`${page}\n`);

  const screenshot = path.join(out, 'status.png');
  await run(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${path.join(out, 'profile')}`,
      `--screenshot=${screenshot}`,
      '--window-size=1200,1600',
      pathToFileURL(page).href,
    ],
    { timeout: 120_000 },
  );
  const png = PNG.sync.read(readFileSync(screenshot));
  expect([png.width, png.height]).toEqual([1200, 1600]);

  // Where the silver bars are: a wide, tall box (the chart spans most of the page's width).
  let [left, top, right, bottom, silver, quarantined, failed] = [png.width, png.height, 0, 0, 0, 0, 0];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (near(png, i, SILVER)) {
        silver++;
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      } else if (near(png, i, QUARANTINED)) quarantined++;
      else if (near(png, i, FAILED)) failed++;
    }
  }
  expect(silver).toBeGreaterThan(20_000);
  expect(right - left).toBeGreaterThan(600);
  expect(bottom - top).toBeGreaterThan(150);
  expect(quarantined).toBeGreaterThan(100);
  expect(failed).toBeGreaterThan(100);

  // The chart area is drawn, not blank: many non-white pixels and many distinct colours.
  let nonWhite = 0;
  const colours = new Set<number>();
  for (let y = top; y <= bottom; y++) {
    for (let x = left; x <= right; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r < 245 || g < 245 || b < 245) nonWhite++;
      colours.add((r << 16) | (g << 8) | b);
    }
  }
  const area = (right - left + 1) * (bottom - top + 1);
  expect(nonWhite / area).toBeGreaterThan(0.3);
  expect(colours.size).toBeGreaterThan(50);
});
