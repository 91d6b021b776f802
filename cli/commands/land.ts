import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { landingPrefix } from '../../core/lake-layout';
import { localPath } from '../../runner/local/lake-paths';
import {
  type CliIo,
  type CommonOptions,
  lakeDir,
  parseDate,
  requireLocal,
  type SetExitCode,
  UsageError,
  withCommonOptions,
} from '../usage';

/** `txlake land FILE --date D`: copies FILE byte-identical into bronze; bronze is never overwritten. */
export function addLandCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(program.command('land').description('copy FILE byte-identical into bronze for an ingest date'))
    .argument('<file>', 'the transaction file to land')
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .action((file: string, options: CommonOptions & { date: string }) => {
      requireLocal(options, 'land');
      const source = path.resolve(io.cwd, file);
      if (!existsSync(source) || !statSync(source).isFile()) throw new UsageError(`no such file: ${file}`);
      const lake = lakeDir(options, io, true);
      const name = path.basename(source);
      const target = localPath(lake, `s3://bronze/${landingPrefix(options.date)}${name}`);
      if (existsSync(target)) {
        if (!readFileSync(target).equals(readFileSync(source))) {
          throw new UsageError(`bronze already holds a different ${name} for ${options.date}; bronze is immutable`);
        }
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(source, target);
      }
      const key = `bronze/${landingPrefix(options.date)}${name}`;
      io.stdout(options.json ? `${JSON.stringify({ landed: key, bytes: statSync(target).size })}\n` : `${key}\n`);
      setExitCode(0);
    });
}
