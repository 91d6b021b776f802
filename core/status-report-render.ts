import type { TopLevelSpec } from 'vega-lite';
import {
  type CodeFigure,
  type DateReport,
  type DayCount,
  localDateTime,
  type MonthFigures,
  type StatusReport,
} from './status-report';

/**
 * The status report's two documents, from the model of core/status-report (they format, they do
 * not compute): the stakeholders' e-mail in Markdown, and the one-page technical summary in HTML
 * with the chart of daily rows and quarantine rate inline as SVG. The chart is a Vega-Lite spec
 * rendered by Vega without a browser; both libraries load on first use only.
 */

// ---- formatting ----

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const formatInt = (n: number): string => INTEGER.format(n);

/** A share as a percentage with two decimals; `–` for none. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '–';
  if (rate === 0) return '0%';
  if (rate > 0 && rate < 0.00005) return '<0.01%';
  return `${(rate * 100).toFixed(2)}%`;
}

/** A duration: `14 min`, `3 h 05 min`, `2 d 03 h`; negative ones with a minus sign. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const sign = ms < 0 ? '−' : '';
  const minutes = Math.round(Math.abs(ms) / 60_000);
  if (minutes < 60) return `${sign}${minutes} min`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (minutes < 24 * 60) return `${sign}${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
  const hours = Math.round(minutes / 60);
  return `${sign}${Math.floor(hours / 24)} d ${pad(hours % 24)} h`;
}

/** `2024-03` → `March 2024`. */
export const monthName = (month: string): string =>
  new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(`${month}-01T00:00:00Z`),
  );

const signed = (n: number, text: string): string => (n > 0 ? `+${text}` : n < 0 ? `−${text.replace(/^-/, '')}` : '±0');

/** The change of a count: `+1,234 (+3.2%)`. */
function countDelta(before: number, now: number): string {
  const d = now - before;
  const pct = before > 0 ? ` (${signed(d, `${((Math.abs(d) / before) * 100).toFixed(1)}%`)})` : '';
  return `${signed(d, formatInt(Math.abs(d)))}${d === 0 ? '' : pct}`;
}

/** The change of a rate in percentage points. */
function rateDelta(before: number | null, now: number | null): string {
  if (before === null || now === null) return '–';
  const pp = (now - before) * 100;
  return Math.abs(pp) < 0.005 ? '±0 pp' : `${signed(pp, Math.abs(pp).toFixed(2))} pp`;
}

function durationDelta(before: number | null, now: number | null): string {
  if (before === null || now === null) return '–';
  const d = now - before;
  return Math.round(Math.abs(d) / 60_000) === 0 ? '±0 min' : signed(d, formatDuration(Math.abs(d)));
}

const STATE_LABEL: Record<DateReport['state'], string> = {
  SUCCEEDED: 'published',
  NO_DATA: 'no data',
  FAILED: 'failed',
  MISSING: 'missing',
  NOT_DUE: 'not due',
};

const KIND_LABEL: Record<CodeFigure['kind'], string> = {
  row: 'rows quarantined',
  condemned: 'rows condemned',
  file: 'files rejected',
  other: 'other codes',
};

const dayList = (days: readonly DayCount[]): string =>
  days.map((d) => `${d.ingest_date} (${formatInt(d.count)}, ${formatRate(d.rate)})`).join(', ');

/** `2 runs: QUALITY_GATE_FAILED → SUCCEEDED`. */
const attemptsText = (d: DateReport): string =>
  `${d.attempts.length} runs: ${d.attempts.map((a) => a.error ?? a.status).join(' → ')}`;

/** The e-mail's subject line. */
export function reportSubject(report: StatusReport): string {
  const f = report.figures;
  const env = report.environment ? ` ${report.environment}` : '';
  if (!report.has_records) return `[txlake${env}] ${monthName(report.month)} status — no run records`;
  return `[txlake${env}] ${monthName(report.month)} status — ${f.published} of ${f.days} dates published, ${f.failed} failed, ${f.late} late, ${f.missing} missing`;
}

/** The summary bullets, shared by both documents (plain text with `**` for emphasis). */
function summaryLines(report: StatusReport): string[] {
  const f = report.figures;
  const month = monthName(report.month);
  if (!report.has_records) {
    return [
      `No run records were found for ${month}: no date of the month was processed${f.missing > 0 ? ` (${f.missing} dates missing${f.not_due > 0 ? `, ${f.not_due} not due yet` : ''})` : ''}.`,
    ];
  }
  const lines = [
    `**Dates:** ${f.published} published, ${f.no_data} without data, ${f.failed} failed, ${f.missing} missing${f.not_due > 0 ? `, ${f.not_due} not due yet` : ''} (${f.days} days; ${f.attempts} runs recorded).`,
    `**Rows:** ${formatInt(f.rows.read)} read → ${formatInt(f.rows.silver)} silver (${formatRate(f.silver_rate)}), ${formatInt(f.rows.quarantined)} quarantined (${formatRate(f.quarantine_rate)}), ${formatInt(f.rows.condemned)} condemned (${formatRate(f.condemned_rate)}).`,
  ];
  if (f.freshness) {
    lines.push(
      `**Freshness:** median ${formatDuration(f.freshness.median_ms)} after the ${report.schedule_local_time} schedule, worst ${formatDuration(f.freshness.max_ms)} (${f.freshness.max_date}); ${f.on_time} on time, ${f.late} late.`,
    );
  }
  if (report.failures.length > 0) {
    lines.push(
      `**Failed:** ${report.failures.map((d) => `${d.ingest_date} ${d.error ?? 'FAILED'}${d.published ? ' (an earlier run’s data stays published)' : ''}`).join('; ')}.`,
    );
  }
  const top = report.codes.find((c) => c.kind === 'row');
  if (top) {
    lines.push(
      `**Top quarantine code:** ${top.code}, ${formatInt(top.count)} rows (${formatRate(top.rate)})${top.worst_days[0] ? `, most on ${top.worst_days[0].ingest_date}` : ''}.`,
    );
  }
  const p = report.previous;
  if (p) {
    lines.push(
      `**Since ${monthName(p.month)}:** rows read ${countDelta(p.rows.read, f.rows.read)}, quarantine rate ${rateDelta(p.quarantine_rate, f.quarantine_rate)}, failed dates ${signed(f.failed - p.failed, String(Math.abs(f.failed - p.failed)))}, late dates ${signed(f.late - p.late, String(Math.abs(f.late - p.late)))}.`,
    );
  }
  if (report.unreadable.length > 0) {
    lines.push(
      `**Unreadable run records:** ${report.unreadable.length}, left out of every figure (listed at the end).`,
    );
  }
  return lines;
}

interface Table {
  readonly head: readonly string[];
  /** `r` right-aligns a column. */
  readonly align: readonly ('l' | 'r')[];
  readonly rows: readonly (readonly string[])[];
}

function datesTable(report: StatusReport): Table {
  const f = report.figures;
  const list = (dates: readonly DateReport[], text: (d: DateReport) => string = (d) => d.ingest_date): string =>
    dates.map(text).join(', ');
  const of = (state: DateReport['state']): DateReport[] => report.dates.filter((d) => d.state === state);
  const late = report.dates.filter((d) => d.late === true);
  const reruns = report.dates.filter((d) => d.attempts.length > 1);
  const skipped = report.dates.filter((d) => d.schedule_skipped);
  const rows: string[][] = [
    ['published', String(f.published), f.published === f.days ? 'every date' : ''],
    ['no data', String(f.no_data), list(of('NO_DATA'))],
    ['failed', String(f.failed), list(of('FAILED'), (d) => `${d.ingest_date} (${d.error ?? 'FAILED'})`)],
    ['late', String(f.late), list(late, (d) => `${d.ingest_date} (${formatDuration(d.freshness_ms)})`)],
    ['missing', String(f.missing), list(of('MISSING'))],
  ];
  if (f.not_due > 0) rows.push(['not due yet', String(f.not_due), list(of('NOT_DUE'))]);
  rows.push(['rerun', String(f.rerun_dates), list(reruns, (d) => `${d.ingest_date} (${attemptsText(d)})`)]);
  if (report.recovered.length > 0) {
    rows.push(['recovered', String(report.recovered.length), list(report.recovered, (d) => `${d.ingest_date}`)]);
  }
  if (skipped.length > 0) {
    rows.push([
      'no 02:00 run',
      String(skipped.length),
      list(skipped, (d) => `${d.ingest_date} (clocks skip ${report.schedule_local_time} on the next day)`),
    ]);
  }
  return { head: ['dates', 'count', 'which'], align: ['l', 'r', 'l'], rows };
}

function rowsTable(report: StatusReport): Table {
  const f = report.figures;
  return {
    head: ['destination', 'rows', 'share of rows read'],
    align: ['l', 'r', 'r'],
    rows: [
      ['read', formatInt(f.rows.read), f.rows.read > 0 ? '100%' : '–'],
      ['silver', formatInt(f.rows.silver), formatRate(f.silver_rate)],
      ['quarantine', formatInt(f.rows.quarantined), formatRate(f.quarantine_rate)],
      ['condemned', formatInt(f.rows.condemned), formatRate(f.condemned_rate)],
    ],
  };
}

function codesTable(codes: readonly CodeFigure[]): Table {
  return {
    head: ['code', 'counts', 'count', 'rate', `worst days (count, rate)`],
    align: ['l', 'l', 'r', 'r', 'l'],
    rows: codes.map((c) => [c.code, KIND_LABEL[c.kind], formatInt(c.count), formatRate(c.rate), dayList(c.worst_days)]),
  };
}

function changesTable(report: StatusReport): Table | undefined {
  const p = report.previous;
  if (!p) return undefined;
  const f = report.figures;
  const count = (label: string, get: (m: MonthFigures) => number): string[] => [
    label,
    formatInt(get(p)),
    formatInt(get(f)),
    countDelta(get(p), get(f)),
  ];
  const rate = (label: string, get: (m: MonthFigures) => number | null): string[] => [
    label,
    formatRate(get(p)),
    formatRate(get(f)),
    rateDelta(get(p), get(f)),
  ];
  const median = (m: MonthFigures): number | null => m.freshness?.median_ms ?? null;
  return {
    head: ['figure', monthName(p.month), monthName(f.month), 'change'],
    align: ['l', 'r', 'r', 'r'],
    rows: [
      count('dates published', (m) => m.published),
      count('dates failed', (m) => m.failed),
      count('dates late', (m) => m.late),
      count('dates missing', (m) => m.missing),
      count('runs recorded', (m) => m.attempts),
      count('rows read', (m) => m.rows.read),
      count('rows to silver', (m) => m.rows.silver),
      count('rows quarantined', (m) => m.rows.quarantined),
      count('rows condemned', (m) => m.rows.condemned),
      count('files rejected', (m) => m.files.rejected),
      rate('quarantine rate', (m) => m.quarantine_rate),
      rate('condemned rate', (m) => m.condemned_rate),
      ['median freshness', formatDuration(median(p)), formatDuration(median(f)), durationDelta(median(p), median(f))],
    ],
  };
}

function dailyTable(report: StatusReport): Table {
  return {
    head: [
      'date',
      'state',
      'runs',
      'read',
      'silver',
      'quarantined',
      'condemned',
      'quarantine rate',
      `published (${report.time_zone})`,
      'freshness',
    ],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
    rows: report.dates.map((d) => [
      d.ingest_date,
      `${STATE_LABEL[d.state]}${d.state === 'FAILED' && d.error ? ` ${d.error}` : ''}${d.late ? ' (late)' : ''}`,
      String(d.attempts.length),
      d.published ? formatInt(d.rows.read) : '–',
      d.published ? formatInt(d.rows.silver) : '–',
      d.published ? formatInt(d.rows.quarantined) : '–',
      d.published ? formatInt(d.rows.condemned) : '–',
      d.published ? formatRate(d.quarantine_rate) : '–',
      d.published_at ? localDateTime(new Date(d.published_at), report.time_zone) : '–',
      formatDuration(d.freshness_ms),
    ]),
  };
}

function freshnessLines(report: StatusReport): string[] {
  const f = report.figures;
  if (!f.freshness) {
    return [
      f.published > 0
        ? 'No publish time is known for this month’s published dates (their run records predate `recorded_at`).'
        : 'No date was published this month.',
    ];
  }
  const lines = [
    `Median ${formatDuration(f.freshness.median_ms)}, worst ${formatDuration(f.freshness.max_ms)} (${f.freshness.max_date}), measured on ${f.freshness.measured} published dates: ${f.on_time} on time, ${f.late} late.`,
  ];
  if (f.unmeasured > 0) lines.push(`${f.unmeasured} published dates have no known publish time.`);
  return lines;
}

/** The failed dates (why, what the failed run counted) and the dates a rerun recovered. */
function failureLines(report: StatusReport): string[] {
  const lines: string[] = [];
  for (const d of report.failures) {
    const c = d.failed_counts;
    const counted = c
      ? ` The failed run read ${formatInt(c.rows.read)} rows, ${formatInt(c.rows.quarantined)} quarantined (${formatRate(c.rows.read > 0 ? c.rows.quarantined / c.rows.read : null)}).`
      : '';
    const stays = d.published ? ' An earlier run’s data stays published.' : ' Nothing of it is published.';
    lines.push(
      `**${d.ingest_date}** failed with ${d.error ?? 'FAILED'}${d.error_detail ? `: ${d.error_detail}` : ''} (${d.attempts.length} ${d.attempts.length === 1 ? 'run' : 'runs'}).${counted}${stays}`,
    );
  }
  for (const d of report.recovered) {
    lines.push(
      `**${d.ingest_date}** recovered: ${attemptsText(d)}, published ${formatDuration(d.freshness_ms)} after its schedule.`,
    );
  }
  return lines;
}

/** The definitions the figures rest on (the documents' footer). */
export function definitions(report: StatusReport): string[] {
  const at = report.schedule_local_time;
  const tz = report.time_zone;
  return [
    `A date's runs are its run records over all executions; the latest (by \`recorded_at\`; records without it first, then by write time and execution) gives its state. Its rows are those of its latest successful run: a failed rerun publishes nothing, so an earlier success stays published.`,
    `Scheduled at: ${at} ${tz} on the day after the ingest date, the nightly run that processes it. On a day without ${at} (clocks jump over it) it is ${at} read with the offset before the jump, and the scheduler does not start that run; on a day with ${at} twice, the first.`,
    `Freshness: when the date's first successful run was recorded minus its scheduled time. Late: published after the next day's ${at} run (the scheduled time of the following date): a freshness of more than a day (23 or 25 hours across a clock change).`,
    `Missing: a date without a run record whose scheduled time has passed when the report was made (${report.generated_at}); not due: one whose scheduled time has not come.`,
    `Quarantine rate: rows quarantined / rows read of the published runs; a code's rate: its rows / rows read (a row with two codes counts under both); file codes count rejected files (rate: / files landed).`,
  ];
}

// ---- Markdown ----

const mdCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function markdownTable(table: Table): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [
    line(table.head),
    `|${table.align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`,
    ...table.rows.map(line),
  ].join('\n');
}

/** The stakeholders' status e-mail, in Markdown (the first line is its subject). */
export function renderStatusMarkdown(report: StatusReport): string {
  const month = monthName(report.month);
  const out: string[] = [
    `Subject: ${reportSubject(report)}`,
    '',
    `# txlake status report — ${month}`,
    '',
    `${report.environment ? `Environment \`${report.environment}\` · ` : ''}schedule ${report.schedule_local_time} ${report.time_zone} · made ${report.generated_at}`,
    '',
    '## Summary',
    '',
    ...summaryLines(report).map((l) => `- ${l}`),
    '',
    '## Dates',
    '',
    markdownTable(datesTable(report)),
    '',
  ];
  const failures = failureLines(report);
  if (failures.length > 0) out.push('## Failures and reruns', '', ...failures.map((l) => `- ${l}`), '');
  if (report.has_records) {
    out.push('## Rows by destination', '', markdownTable(rowsTable(report)), '');
    out.push(
      `Files: ${formatInt(report.figures.files.accepted)} accepted, ${formatInt(report.figures.files.rejected)} rejected.`,
      '',
    );
    const rowCodes = report.codes.filter((c) => c.kind === 'row' || c.kind === 'other');
    out.push('## Quarantine by code', '');
    out.push(rowCodes.length > 0 ? markdownTable(codesTable(rowCodes)) : 'No row was quarantined.', '');
    if (report.worst_days.length > 0) {
      out.push(
        `Worst days by quarantine rate: ${report.worst_days.map((d) => `${d.ingest_date} ${formatRate(d.rate)} (${formatInt(d.count)} rows)`).join(', ')}.`,
        '',
      );
    }
    const other = report.codes.filter((c) => c.kind === 'condemned' || c.kind === 'file');
    if (other.length > 0) out.push('## Condemned rows and rejected files', '', markdownTable(codesTable(other)), '');
    out.push('## Freshness', '', ...freshnessLines(report).map((l) => `- ${l}`), '');
  }
  out.push(...changesMarkdown(report));
  if (report.has_records) out.push('## Daily detail', '', markdownTable(dailyTable(report)), '');
  if (report.unreadable.length > 0) {
    out.push('## Unreadable run records', '', ...report.unreadable.map((u) => `- ${u}`), '');
  }
  out.push('---', '', '**How the figures are defined**', '', ...definitions(report).map((l) => `- ${l}`), '');
  return out.join('\n');
}

function changesMarkdown(report: StatusReport): string[] {
  const title = `## What changed since ${monthName(report.previous_month)}`;
  const table = changesTable(report);
  if (!table) return [title, '', `No run records for ${monthName(report.previous_month)} to compare with.`, ''];
  return [title, '', markdownTable(table), '', ...codeChanges(report).map((l) => `- ${l}`), ''];
}

function codeChanges(report: StatusReport): string[] {
  const lines: string[] = [];
  if (report.codes_new.length > 0) lines.push(`New codes: ${report.codes_new.join(', ')}.`);
  if (report.codes_gone.length > 0) lines.push(`Codes no longer seen: ${report.codes_gone.join(', ')}.`);
  if (lines.length === 0 && report.previous) lines.push('The same codes as the month before.');
  return lines;
}

// ---- the chart ----

const DESTINATIONS = ['silver', 'quarantined', 'condemned'] as const;
const LEGEND_DOMAIN = [...DESTINATIONS, 'quarantine rate', 'failed date', 'missing date'];
const LEGEND_RANGE = ['#4c78a8', '#f58518', '#b279a2', '#222222', '#d62728', '#9e9e9e'];

/** The Vega-Lite spec of the chart: daily rows by destination (bars), quarantine rate (line), failed and missing dates. */
export function statusChartSpec(report: StatusReport): TopLevelSpec {
  const domain = report.dates.map((d) => d.ingest_date);
  const x = {
    field: 'date',
    type: 'ordinal' as const,
    scale: { domain },
    axis: { title: `ingest date (${monthName(report.month)})`, labelExpr: 'slice(datum.value, 8)', labelAngle: 0 },
  };
  const color = (datum: string) => ({ datum, type: 'nominal' as const });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 900,
    height: 300,
    background: 'white',
    padding: 8,
    title: { text: `Daily rows and quarantine rate, ${monthName(report.month)}`, anchor: 'start' },
    layer: [
      {
        data: {
          values: report.dates.flatMap((d) =>
            DESTINATIONS.map((destination, order) => ({
              date: d.ingest_date,
              destination,
              order,
              rows: d.rows[destination],
            })),
          ),
        },
        mark: { type: 'bar' },
        encoding: {
          x,
          y: { field: 'rows', type: 'quantitative', stack: 'zero', axis: { title: 'rows', format: '~s' } },
          color: {
            field: 'destination',
            type: 'nominal',
            scale: { domain: LEGEND_DOMAIN, range: LEGEND_RANGE },
            legend: { title: null, orient: 'top' },
          },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: {
          values: report.dates
            .filter((d) => d.published && d.quarantine_rate !== null)
            .map((d) => ({ date: d.ingest_date, rate: d.quarantine_rate })),
        },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: {
            field: 'rate',
            type: 'quantitative',
            axis: { title: 'quarantine rate', format: '.2%', orient: 'right' },
          },
          color: color('quarantine rate'),
        },
      },
      {
        data: { values: report.dates.filter((d) => d.state === 'FAILED').map((d) => ({ date: d.ingest_date })) },
        mark: { type: 'rule', strokeWidth: 3 },
        encoding: { x, color: color('failed date') },
      },
      {
        data: { values: report.dates.filter((d) => d.state === 'MISSING').map((d) => ({ date: d.ingest_date })) },
        mark: { type: 'rule', strokeWidth: 2, strokeDash: [4, 3] },
        encoding: { x, color: color('missing date') },
      },
    ],
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } },
  } as TopLevelSpec;
}

/** The chart as SVG text (Vega renders it headless; Vega and Vega-Lite load on the first call). */
export async function renderStatusChartSvg(report: StatusReport): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(statusChartSpec(report)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// ---- HTML ----

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Escapes, then turns `**x**` into <strong> and `` `x` `` into <code>. */
const inline = (text: string): string =>
  escapeHtml(text)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`(.+?)`/g, '<code>$1</code>');

function htmlTable(table: Table, className = ''): string {
  const cell = (tag: 'th' | 'td', text: string, i: number): string =>
    `<${tag}${table.align[i] === 'r' ? ' class="r"' : ''}>${escapeHtml(text)}</${tag}>`;
  return [
    `<table${className ? ` class="${className}"` : ''}>`,
    `<thead><tr>${table.head.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...table.rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: #1d1d1f; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 2px; }
.meta { color: #666; margin: 0 0 12px; } ul { margin: 4px 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; } th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f7; } .r { text-align: right; font-variant-numeric: tabular-nums; }
.daily td, .daily th { padding: 2px 6px; font-size: 12px; } .chart svg { max-width: 100%; height: auto; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; } .cols > div { flex: 1 1 420px; }
footer { color: #555; font-size: 12px; margin-top: 24px; border-top: 1px solid #ddd; } code { font-size: 12px; }
`;

/** The one-page technical summary: self-contained HTML (no external resource) with the chart inline as SVG. */
export async function renderStatusHtml(report: StatusReport, chartSvg?: string): Promise<string> {
  const svg = chartSvg ?? (await renderStatusChartSvg(report));
  const month = monthName(report.month);
  const title = `txlake status report — ${month}`;
  const section = (heading: string, body: string): string => `<h2>${escapeHtml(heading)}</h2>\n${body}`;
  const list = (lines: readonly string[]): string =>
    `<ul>\n${lines.map((l) => `<li>${inline(l)}</li>`).join('\n')}\n</ul>`;
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${report.environment ? `Environment <code>${escapeHtml(report.environment)}</code> · ` : ''}schedule ${escapeHtml(report.schedule_local_time)} ${escapeHtml(report.time_zone)} · made ${escapeHtml(report.generated_at)}</p>`,
    list(summaryLines(report)),
    `<div class="chart" id="chart">${svg}</div>`,
  ];
  const left = [section('Dates', htmlTable(datesTable(report)))];
  const failures = failureLines(report);
  if (failures.length > 0) left.push(section('Failures and reruns', list(failures)));
  const right: string[] = [];
  if (report.has_records) {
    left.push(
      section(
        'Rows by destination',
        `${htmlTable(rowsTable(report))}\n<p>Files: ${formatInt(report.figures.files.accepted)} accepted, ${formatInt(report.figures.files.rejected)} rejected.</p>`,
      ),
    );
    right.push(section('Freshness', list(freshnessLines(report))));
  }
  const changes = changesTable(report);
  right.push(
    section(
      `What changed since ${monthName(report.previous_month)}`,
      changes
        ? `${htmlTable(changes)}\n${list(codeChanges(report))}`
        : `<p>No run records for ${escapeHtml(monthName(report.previous_month))} to compare with.</p>`,
    ),
  );
  parts.push(`<div class="cols"><div>\n${left.join('\n')}\n</div><div>\n${right.join('\n')}\n</div></div>`);
  if (report.has_records) {
    const rowCodes = report.codes.filter((c) => c.kind === 'row' || c.kind === 'other');
    parts.push(
      section(
        'Quarantine by code',
        rowCodes.length > 0 ? htmlTable(codesTable(rowCodes)) : '<p>No row was quarantined.</p>',
      ),
    );
    if (report.worst_days.length > 0) {
      parts.push(
        `<p>Worst days by quarantine rate: ${escapeHtml(report.worst_days.map((d) => `${d.ingest_date} ${formatRate(d.rate)} (${formatInt(d.count)} rows)`).join(', '))}.</p>`,
      );
    }
    const other = report.codes.filter((c) => c.kind === 'condemned' || c.kind === 'file');
    if (other.length > 0) parts.push(section('Condemned rows and rejected files', htmlTable(codesTable(other))));
    parts.push(section('Daily detail', htmlTable(dailyTable(report), 'daily')));
  }
  if (report.unreadable.length > 0) parts.push(section('Unreadable run records', list(report.unreadable)));
  parts.push(
    `<footer><p><strong>How the figures are defined</strong></p>\n${list(definitions(report))}\n</footer>`,
    '</body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}
