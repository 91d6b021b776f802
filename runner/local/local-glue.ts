import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The Python that runs the Glue script locally: the project's venv (PySpark pinned to Glue 5.0). */
export function localPython(root: string): string {
  const fromEnv = process.env.TXLAKE_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = path.join(root, '.venv', 'bin', 'python');
  if (existsSync(venv)) return venv;
  throw new Error(`no Python environment for the Glue job: run "npm run setup" (expected ${venv})`);
}

/** An error the state machine sees as a failed Glue job run. */
export class GlueJobRunFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'States.TaskFailed';
  }
}

/**
 * Runs the Glue script as Glue would: `--name value` arguments (job defaults overlaid with the
 * run's own), on PySpark `local[*]`, with the job's package directory on PYTHONPATH where Glue has
 * its `--extra-py-files`. Spark's chatter is kept and shown only if the job fails.
 */
export async function runGlueScript(options: {
  root: string;
  script: string;
  /** The directory of the job's Python package, relative to `root` (the job's `--extra-py-files`). */
  packagePath?: string;
  arguments: Record<string, string>;
  onLine?: (line: string) => void;
}): Promise<{ durationMs: number }> {
  const started = Date.now();
  const args = [path.join(options.root, options.script)];
  for (const [name, value] of Object.entries(options.arguments)) args.push(name, value);
  const python = localPython(options.root);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYSPARK_PYTHON: python,
    PYSPARK_DRIVER_PYTHON: python,
    PYTHONUNBUFFERED: '1',
  };
  if (options.packagePath) {
    // Spark's Python workers inherit the environment, so they import the package too.
    env.PYTHONPATH = [path.join(options.root, options.packagePath), process.env.PYTHONPATH]
      .filter((p): p is string => Boolean(p))
      .join(path.delimiter);
  }
  const child = spawn(python, args, {
    cwd: options.root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      options.onLine?.(line);
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new GlueJobRunFailed(`Glue job ${options.script} exited with ${code}:\n${tail.slice(-15).join('\n')}`);
  }
  return { durationMs: Date.now() - started };
}
