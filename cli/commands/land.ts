import { constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { landingPrefix } from '../../core/lake-layout';
import { localPath } from '../../runner/local/lake-paths';
import {
  checkEnvironment,
  type CliIo,
  type CommonOptions,
  lakeDir,
  parseDate,
  type SetExitCode,
  UsageError,
  withCommonOptions,
} from '../usage';

/** A file to land: where it is, the name it gets in bronze. */
interface Source {
  readonly path: string;
  readonly name: string;
}

/**
 * The files the arguments name: each file, and each regular file of a directory (not its
 * subdirectories), in name order. Usage errors for a missing file, an empty directory and two files
 * of one name (bronze keys are by name).
 */
export function landingSources(args: readonly string[], cwd: string): Source[] {
  const sources: Source[] = [];
  for (const arg of args) {
    const resolved = path.resolve(cwd, arg);
    const stat = existsSync(resolved) ? statSync(resolved) : undefined;
    if (stat?.isDirectory()) {
      const files = readdirSync(resolved)
        .sort()
        .map((name) => path.join(resolved, name))
        .filter((file) => statSync(file).isFile());
      if (files.length === 0) throw new UsageError(`no files in directory ${arg}`);
      sources.push(...files.map((file) => ({ path: file, name: path.basename(file) })));
    } else if (stat?.isFile()) {
      sources.push({ path: resolved, name: path.basename(resolved) });
    } else {
      throw new UsageError(`no such file: ${arg}`);
    }
  }
  const byName = new Map<string, string>();
  for (const source of sources) {
    const other = byName.get(source.name);
    if (other !== undefined && other !== source.path) {
      throw new UsageError(`two files named ${source.name} (${other}, ${source.path}): bronze keeps one per name`);
    }
    byName.set(source.name, source.path);
  }
  return sources.filter((s, i) => sources.findIndex((o) => o.path === s.path) === i);
}

/** Lands the files in the local lake's bronze: every name checked first, then byte-identical copies. */
function landLocally(sources: readonly Source[], date: string, lake: string): { key: string; bytes: number }[] {
  const target = (name: string): string => localPath(lake, `s3://bronze/${landingPrefix(date)}${name}`);
  const differs = (source: Source): boolean =>
    existsSync(target(source.name)) && !readFileSync(target(source.name)).equals(readFileSync(source.path));
  const conflict = (name: string): UsageError =>
    new UsageError(`bronze already holds a different ${name} for ${date}; bronze is immutable`);
  for (const source of sources) if (differs(source)) throw conflict(source.name);
  return sources.map((source) => {
    const file = target(source.name);
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true });
      try {
        // Never over a file another lander created meanwhile: then it is compared like any other.
        copyFileSync(source.path, file, constants.COPYFILE_EXCL);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (differs(source)) throw conflict(source.name);
      }
    }
    return { key: `bronze/${landingPrefix(date)}${source.name}`, bytes: statSync(file).size };
  });
}

/**
 * `txlake land FILE|DIR... --date D`: copies the files byte-identical into bronze (the local lake,
 * or the deployed bronze bucket with `--target aws`); bronze is never overwritten: a name holding
 * other bytes refuses the landing before any file is landed, the same bytes are already landed.
 */
export function addLandCommand(program: Command, io: CliIo, setExitCode: SetExitCode): void {
  withCommonOptions(
    program
      .command('land')
      .description('copy files byte-identical into bronze for an ingest date (a directory: each of its files)'),
  )
    .argument('<file...>', 'transaction files, or directories whose files to land')
    .requiredOption('--date <date>', 'ingest date YYYY-MM-DD', parseDate)
    .action(async (files: string[], options: CommonOptions & { date: string }) => {
      checkEnvironment(options, io);
      const sources = landingSources(files, io.cwd);
      let landed: { key: string; bytes: number }[];
      if (options.target === 'aws') {
        const { openDeployment } = await import('../../runner/aws/deployment');
        const { landOnAws, LandingConflictError } = await import('../../runner/aws/aws-land');
        const { S3Client } = await import('@aws-sdk/client-s3');
        const { config, deployment } = await openDeployment({ root: io.root, envName: options.env, env: io.env }, [
          'bronzeBucket',
        ]);
        try {
          const objects = await landOnAws({
            s3: new S3Client(config),
            bucket: deployment.bronzeBucket,
            ingestDate: options.date,
            files: sources,
            progress: (line) => io.stderr(`[txlake] ${line}\n`),
          });
          landed = objects.map((o) => ({ key: `bronze/${o.key}`, bytes: o.bytes }));
        } catch (error) {
          if (error instanceof LandingConflictError) throw new UsageError(error.message);
          throw error;
        }
      } else {
        landed = landLocally(sources, options.date, lakeDir(options, io, true));
      }
      io.stdout(options.json ? `${JSON.stringify({ landed })}\n` : landed.map((l) => `${l.key}\n`).join(''));
      setExitCode(0);
    });
}
