import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { environmentSettings, readProjectContext } from '../../core/environments';
import { buildStatusReport, isMonth, reportDateRange, type StoredRunRecord } from '../../core/status-report';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  type SetExitCode,
  UsageError,
  withCommonOptions,
} from '../usage';

type ReportFormat = 'md' | 'html';
type ReportOptions = CommonOptions & { month: string; format?: ReportFormat; out?: string };

export const parseMonthArg = (value: string): string => {
  if (!isMonth(value)) throw new InvalidArgumentError(`"${value}" is not a month YYYY-MM, e.g. 2024-03`);
  return value;
};

/**
 * The report's instant: now, or `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds
 * convention) when set, so that a document can be made again byte for byte (docs/examples).
 */
function reportInstant(io: CliIo): Date {
  const epoch = io.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date();
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH="${epoch}" is not a number of seconds`);
  return new Date(Number(epoch) * 1000);
}

/**
 * `txlake report --month YYYY-MM`: the stakeholders' monthly status report from the run records
 * (SPEC §5) — the e-mail in Markdown (default) or the one-page summary in HTML with its chart; with
 * `--out DIR` the files `status-YYYY-MM.md` and `.html` (both, unless `--format` names one), their
 * paths printed; with `--json` the report's figures as one JSON document.
 */
export function addReportCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(
    program
      .command('report')
      .description("the stakeholders' monthly status report from the run records (Markdown e-mail, HTML summary)"),
  )
    .requiredOption('--month <month>', 'the month YYYY-MM, e.g. 2024-03', parseMonthArg)
    .addOption(
      new Option(
        '--format <format>',
        'md: the status e-mail (default); html: the one-page summary with its chart',
      ).choices(['md', 'html']),
    )
    .option('--out <dir>', 'write status-YYYY-MM.md and .html (or the --format one) into DIR; print their paths')
    .action(async (options: ReportOptions) => {
      checkEnvironment(options, io);
      if (options.json && options.format && !options.out) {
        throw new UsageError('--json prints the report as JSON: leave out --format, or write the files with --out');
      }
      const settings = environmentSettings(readProjectContext(io.root), options.env);
      const range = reportDateRange(options.month);
      const generatedAt = reportInstant(io);
      let records: StoredRunRecord[];
      let unreadable: string[];
      let environment: string;
      if (options.target === 'aws') {
        const { readDeployedRunRecords } = await import('../../runner/aws/status-report-records');
        const read = await readDeployedRunRecords({ root: io.root, envName: options.env, env: io.env, range });
        ({ records, unreadable } = read);
        environment = read.envName;
        io.stderr(
          `[txlake] read ${records.length} run records of ${range.from}..${range.to} from s3://${read.stagingBucket}\n`,
        );
      } else {
        const lake = lakeDir(options, io, false);
        if (!existsSync(lake)) throw new UsageError(`lake ${lake} does not exist`);
        const { readLocalRunRecords } = await import('../report/local-records');
        ({ records, unreadable } = await readLocalRunRecords(lake, range));
        environment = `local (${settings.envName})`;
        io.stderr(`[txlake] read ${records.length} run records of ${range.from}..${range.to} from ${lake}\n`);
      }
      for (const line of unreadable) io.stderr(`txlake: warning: skipped ${line}\n`);
      const report = buildStatusReport({
        month: options.month,
        timeZone: settings.scheduleTimeZone,
        records,
        generatedAt,
        environment,
        unreadable,
      });
      const render = await import('../../core/status-report-render');
      const documents: Record<ReportFormat, () => Promise<string>> = {
        md: async () => render.renderStatusMarkdown(report),
        html: () => render.renderStatusHtml(report),
      };
      if (options.out) {
        const dir = path.resolve(io.cwd, options.out);
        try {
          mkdirSync(dir, { recursive: true });
        } catch {
          throw new UsageError(`cannot create the output directory ${dir}`);
        }
        const files: string[] = [];
        for (const format of options.format ? [options.format] : (['md', 'html'] as const)) {
          const file = path.join(dir, `status-${options.month}.${format}`);
          writeFileSync(file, await documents[format]());
          files.push(file);
        }
        io.stdout(options.json ? `${JSON.stringify({ files })}\n` : files.map((f) => `${f}\n`).join(''));
      } else if (options.json) {
        io.stdout(`${JSON.stringify(report)}\n`);
      } else {
        io.stdout(await documents[options.format ?? 'md']());
      }
      setExitCode(0);
    });
}
