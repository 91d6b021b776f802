import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runRecordKey } from '../../core/lake-layout';
import type { RunRecord } from '../../core/run-record';
import { txlake } from '../helpers/cli';
import { tempDirs } from '../helpers/lake';

const dirs = tempDirs('txlake-runs-');

const record = (executionId: string, date: string, status: RunRecord['status'], error?: string): RunRecord => ({
  ingest_date: date,
  run_id: `${date}_${executionId}`,
  status,
  ...(error ? { error, error_detail: 'why' } : {}),
  files: { accepted: 1, rejected: 1 },
  rows: { read: 5, silver: 3, quarantined: 1, condemned: 1 },
  reasons: { DUPLICATE_ROW: 1 },
});

/** Writes a run record into the lake's staging, written (mtime) at `when`. */
function writeRecord(lake: string, executionId: string, r: RunRecord, when: Date): void {
  const file = path.join(lake, 'staging', runRecordKey(executionId, r.ingest_date));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(r));
  utimesSync(file, when, when);
}

describe('runs on a local lake', () => {
  const lake = dirs();
  const now = new Date();
  const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
  writeRecord(lake, 'cli-old', record('cli-old', '2024-01-01', 'SUCCEEDED'), daysAgo(60));
  writeRecord(lake, 'cli-a', record('cli-a', '2024-01-17', 'FAILED', 'QUALITY_GATE_FAILED'), daysAgo(2));
  writeRecord(lake, 'cli-a', record('cli-a', '2024-01-16', 'SUCCEEDED'), daysAgo(2));
  writeRecord(lake, 'cli-b', record('cli-b', '2024-01-18', 'NO_DATA'), daysAgo(1));

  test('the last 30 days by default: newest execution first, its dates ascending', async () => {
    const result = await txlake(['runs', '--lake', lake, '--json']);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as {
      target: string;
      executions: { execution_id: string; runs: { ingest_date: string; status: string; error?: string }[] }[];
    };
    expect(document.target).toBe('local');
    expect(
      document.executions.map((e) => [e.execution_id, e.runs.map((r) => [r.ingest_date, r.status, r.error])]),
    ).toEqual([
      ['cli-b', [['2024-01-18', 'NO_DATA', undefined]]],
      [
        'cli-a',
        [
          ['2024-01-16', 'SUCCEEDED', undefined],
          ['2024-01-17', 'FAILED', 'QUALITY_GATE_FAILED'],
        ],
      ],
    ]);
  });

  test('--since: records written on or after that date; a text table', async () => {
    const since = daysAgo(90).toISOString().slice(0, 10);
    const result = await txlake(['runs', '--lake', lake, '--since', since]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^EXECUTION\s+STATUS\s+STARTED\s+DATE\s+RESULT\s+FILES\s+READ\s+SILVER\s+QUARANTINED\s+CONDEMNED\s+ERROR$/,
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^cli-b\s+-\s+-\s+2024-01-18\s+NO_DATA\s+1\+1\s+5\s+3\s+1\s+1$/),
      expect.stringMatching(/^cli-a\s+-\s+-\s+2024-01-16\s+SUCCEEDED\s/),
      expect.stringMatching(/^cli-a\s+-\s+-\s+2024-01-17\s+FAILED\s+1\+1\s+5\s+3\s+1\s+1\s+QUALITY_GATE_FAILED$/),
      expect.stringMatching(/^cli-old\s+-\s+-\s+2024-01-01\s+SUCCEEDED\s/),
    ]);
  });

  test('nothing since: an empty table, said on stderr', async () => {
    const result = await txlake(['runs', '--lake', dirs(), '--since', '2024-01-01']);
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'txlake: no runs since 2024-01-01\n' });
  });
});
