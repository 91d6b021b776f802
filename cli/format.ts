import type { RunRecord } from '../core/run-record';

/** Renders run records for people (one line per date) or as SPEC §5's JSON document. */
export function formatRuns(records: readonly RunRecord[], json: boolean): string {
  const runs = records.map((r) => ({
    ingest_date: r.ingest_date,
    run_id: r.run_id,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    files: r.files,
    rows: r.rows,
    reasons: r.reasons,
  }));
  if (json) return `${JSON.stringify({ runs })}\n`;
  return runs
    .map(
      (r) =>
        `${r.ingest_date} ${r.status}${'error' in r ? ` ${r.error}` : ''} files=${r.files.accepted}+${r.files.rejected}rejected read=${r.rows.read} silver=${r.rows.silver} quarantined=${r.rows.quarantined} condemned=${r.rows.condemned}\n`,
    )
    .join('');
}

/** Balance-history rows as CSV with a header (NULL as an empty field) or as a JSON array. */
export function formatRows(columns: readonly string[], rows: readonly (string | null)[][], json: boolean): string {
  if (json) {
    return `${JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))))}\n`;
  }
  const field = (v: string | null): string => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [columns.join(','), ...rows.map((r) => r.map(field).join(','))].join('\n') + '\n';
}
