import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** The repository this code runs from: the CDK app that is synthesized is this one's. */
const CODE_ROOT = path.join(__dirname, '..', '..');

/** Everything a synthesized template is made of, relative to the code root. */
const APP_SOURCES = [
  'bin',
  'core',
  'lib',
  'lambdas',
  'glue/src',
  'glue/txlake_job.py',
  'sql',
  'contract',
  'package-lock.json',
];

/** How many cached syntheses are kept (different environments or source versions). */
const KEEP = 8;

function* filesOf(entry: string): Generator<string> {
  if (!existsSync(entry)) return;
  if (!statSync(entry).isDirectory()) {
    yield entry;
    return;
  }
  for (const name of readdirSync(entry).sort()) {
    if (name === '__pycache__' || name.startsWith('.')) continue;
    yield* filesOf(path.join(entry, name));
  }
}

/**
 * A key that changes whenever anything the synthesis reads changes: the app's sources (every
 * file's path and bytes), the project's cdk.json context and the environment named.
 */
export function templateCacheKey(root: string, envName: string | undefined): string {
  const hash = createHash('sha256');
  hash.update(`env\0${envName ?? ''}\0`);
  hash.update(`cdk.json\0${readFileSync(path.join(root, 'cdk.json'))}\0`);
  for (const source of APP_SOURCES) {
    for (const file of filesOf(path.join(CODE_ROOT, source))) {
      hash.update(`${path.relative(CODE_ROOT, file)}\0`);
      hash.update(readFileSync(file));
      hash.update('\0');
    }
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * Templates of the app, synthesized once per version of its sources: the CLI does not pay a CDK
 * synthesis on every run when nothing changed. Entries are written whole (rename into place) and
 * only read when their key matches, so a stale or half-written entry is never used.
 */
export function cachedSynthesis<T>(
  options: { root: string; envName?: string; cacheDir?: string },
  synthesize: () => T,
): T {
  const dir = options.cacheDir ?? path.join(CODE_ROOT, 'node_modules', '.cache', 'txlake');
  const file = path.join(dir, `templates-${templateCacheKey(options.root, options.envName)}.json`);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      // An unreadable entry is synthesized again and replaced.
    }
  }
  const templates = synthesize();
  try {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(templates));
    renameSync(partial, file);
    const entries = readdirSync(dir)
      .filter((n) => n.startsWith('templates-') && n.endsWith('.json'))
      .map((n) => ({ n, at: statSync(path.join(dir, n)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const old of entries.slice(KEEP)) rmSync(path.join(dir, old.n), { force: true });
  } catch {
    // A read-only install still works; it synthesizes every time.
  }
  return templates;
}
