import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import * as path from 'node:path';
import { icebergJars } from './local-iceberg';

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

/** The local Spark JVM's profiles (glue/src/txlake_glue/session.py reads `TXLAKE_SPARK_JVM`). */
export type SparkJvmProfile = 'default' | 'small-runs';
export const SPARK_JVM_ENV = 'TXLAKE_SPARK_JVM';
/** What an execution has to read: its dates' landed files. */
export interface LandedFiles {
  readonly bytes: number;
  /** Dates with at least one landed file. */
  readonly dates: number;
}

/**
 * An execution whose dates' landed files come to at most this many bytes, on at most
 * {@link SMALL_RUNS_MAX_DATES} dates, runs on the small-runs JVM (client compiler only, serial
 * collector): 40 % less CPU for files of thousands of rows, the same time at 1 M rows a day
 * (61 MB); at 5 M rows it takes twice as long.
 */
export const SMALL_RUNS_MAX_LANDED_BYTES = 64 * 1024 * 1024;
/**
 * A JVM serving more dates runs long enough for Java's optimizing compiler to pay off: a 90-date
 * backfill of 1,000-row files spent about 10 % more time in its Spark jobs on the small-runs JVM.
 */
export const SMALL_RUNS_MAX_DATES = 10;

/** The JVM profile for an execution with `landed` to read (undefined: not known). */
export const sparkJvmProfile = (landed: LandedFiles | undefined): SparkJvmProfile =>
  landed !== undefined && landed.bytes <= SMALL_RUNS_MAX_LANDED_BYTES && landed.dates <= SMALL_RUNS_MAX_DATES
    ? 'small-runs'
    : 'default';

/**
 * The environment of the local Glue Python: the job's package where Glue has `--extra-py-files`,
 * and the Iceberg runtime Glue adds for `--datalake-formats iceberg` (Spark reads the jars when it
 * starts; the job's session helper picks them up from here).
 */
function glueEnvironment(
  root: string,
  python: string,
  packagePath?: string,
  jvmProfile?: SparkJvmProfile,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYSPARK_PYTHON: python,
    PYSPARK_DRIVER_PYTHON: python,
    PYTHONUNBUFFERED: '1',
    TXLAKE_SPARK_JARS: icebergJars(root),
  };
  // a profile the user's environment names wins over the execution's choice
  if (jvmProfile && !process.env[SPARK_JVM_ENV]) env[SPARK_JVM_ENV] = jvmProfile;
  if (packagePath) {
    // Spark's Python workers inherit the environment, so they import the package too.
    env.PYTHONPATH = [path.join(root, packagePath), process.env.PYTHONPATH]
      .filter((p): p is string => Boolean(p))
      .join(path.delimiter);
  }
  return env;
}

/** Keeps the last lines a process wrote, for the error of a failed run. */
class OutputTail {
  private lines: string[] = [];

  constructor(private onLine?: (line: string) => void) {}

  add(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      this.onLine?.(line);
      this.lines.push(line);
      if (this.lines.length > 40) this.lines.shift();
    }
  }

  last(n: number): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Starts over, passing further lines to `onLine`. */
  clear(onLine?: (line: string) => void): void {
    this.lines = [];
    this.onLine = onLine;
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
  /** The run's Spark SQL settings (the job's catalog on the local lake, see ./local-iceberg). */
  sparkConf?: Record<string, string>;
  onLine?: (line: string) => void;
}): Promise<{ durationMs: number }> {
  const started = Date.now();
  const python = localPython(options.root);
  const child = spawn(python, [path.join(options.root, options.script), ...jobArguments(options.arguments)], {
    cwd: options.root,
    env: { ...glueEnvironment(options.root, python, options.packagePath), ...runEnvironment(options.sparkConf) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail(options.onLine);
  child.stdout.on('data', (chunk: Buffer) => tail.add(chunk));
  child.stderr.on('data', (chunk: Buffer) => tail.add(chunk));
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new GlueJobRunFailed(`Glue job ${options.script} exited with ${code}:\n${tail.last(15)}`);
  }
  return { durationMs: Date.now() - started };
}

/** What a run adds to the Glue Python's environment: its Spark SQL settings. */
const runEnvironment = (sparkConf: Record<string, string> | undefined): Record<string, string> =>
  sparkConf ? { TXLAKE_SPARK_CONF: JSON.stringify(sparkConf) } : {};

/** Glue's `--name value` job arguments. */
const jobArguments = (args: Record<string, string>): string[] =>
  Object.entries(args).flatMap(([name, value]) => [name, value]);

/** The Python host that serves the job runs of one execution (runner/local/glue_job_host.py). */
const HOST_SCRIPT = path.join(__dirname, 'glue_job_host.py');

/**
 * Glue job runs of one execution, served by one long-lived Python process and so one Spark
 * session (a JVM start is most of a small run's time). Each run still goes through the entry
 * script's `main(argv)` with the same arguments as a run of its own; runs are served one at a
 * time, in order. In AWS each run is its own Glue job run.
 */
export class GlueJobHost {
  private child?: ChildProcess;
  private socket?: Socket;
  private requests?: Writable;
  private replies?: AsyncIterator<string>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly tail = new OutputTail();
  private exited?: string;

  constructor(
    private readonly root: string,
    /** The directory of the job's Python package, relative to `root`. */
    private readonly packagePath?: string,
    /**
     * A Unix socket where a long-lived host serves the runs (started there, detached, when none
     * answers; its output goes to `<socket>.log`): the test suite's way of keeping one warm Spark
     * session across test files. Without it the host is a child of this process.
     */
    private readonly socketPath?: string,
    /** The JVM profile of a host this starts (default: the environment's, else Java's own). */
    private readonly jvmProfile?: SparkJvmProfile,
  ) {}

  /** Runs the Glue script once with `arguments`; a failed run rejects with {@link GlueJobRunFailed}. */
  run(options: {
    script: string;
    arguments: Record<string, string>;
    sparkConf?: Record<string, string>;
    onLine?: (line: string) => void;
  }): Promise<{ durationMs: number }> {
    const result = this.queue.then(() => this.serve(options));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Stops the host (and its Spark session); a socket host is only disconnected from. */
  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.child?.stdin?.end();
    this.child?.kill('SIGTERM');
    this.child = undefined;
    this.requests = undefined;
  }

  private async connectSocket(socketPath: string): Promise<void> {
    /** A connection to a live host (it answers a ping), or undefined. */
    const attempt = async (): Promise<{ socket: Socket; replies: AsyncIterator<string> } | undefined> => {
      const socket = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(socketPath);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!socket) return undefined;
      socket.on('error', () => undefined); // a lost host is seen as the end of the replies
      const replies = createInterface({ input: socket })[Symbol.asyncIterator]();
      socket.write(`${JSON.stringify({ ping: true })}\n`);
      // a host that is exiting may still accept a connection: only its answer counts
      const pong = await replies.next().catch(() => undefined);
      if (!pong || pong.done) {
        socket.destroy();
        return undefined;
      }
      return { socket, replies };
    };
    let connection = await attempt();
    if (!connection) {
      const python = localPython(this.root);
      const log = openSync(`${socketPath}.log`, 'a');
      try {
        const daemon = spawn(python, [HOST_SCRIPT, '--socket', socketPath], {
          cwd: this.root,
          env: glueEnvironment(this.root, python, this.packagePath, this.jvmProfile),
          stdio: ['ignore', log, log],
          detached: true,
        });
        daemon.unref();
        // whoever made the directory stops the host's process group (it is detached) from this
        if (daemon.pid !== undefined) writeFileSync(`${socketPath}.pid`, String(daemon.pid));
      } finally {
        closeSync(log);
      }
      const deadline = Date.now() + 60_000;
      while (!connection) {
        if (Date.now() > deadline) throw new GlueJobRunFailed(`the local Glue host at ${socketPath} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        connection = await attempt();
      }
    }
    const { socket, replies } = connection;
    socket.on('close', () => {
      if (this.socket === socket) this.exited = 'the local Glue host closed the connection';
    });
    this.socket = socket;
    this.requests = socket;
    this.replies = replies;
  }

  private start(): void {
    const python = localPython(this.root);
    const child = spawn(python, [HOST_SCRIPT], {
      cwd: this.root,
      env: glueEnvironment(this.root, python, this.packagePath, this.jvmProfile),
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => this.tail.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.tail.add(chunk));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.exited = `the local Glue host exited (${signal ?? code})`;
    });
    child.on('error', (error) => {
      if (this.child === child) this.exited = `the local Glue host failed to start: ${error.message}`;
    });
    this.child = child;
    this.requests = child.stdin as Writable;
    this.replies = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
  }

  private async serve(options: {
    script: string;
    arguments: Record<string, string>;
    sparkConf?: Record<string, string>;
    onLine?: (line: string) => void;
  }): Promise<{ durationMs: number }> {
    if (!this.requests || this.exited) {
      this.exited = undefined;
      if (this.socketPath) await this.connectSocket(this.socketPath);
      else this.start();
    }
    const started = Date.now();
    this.tail.clear(options.onLine);
    const request = {
      script: path.join(this.root, options.script),
      args: jobArguments(options.arguments),
      env: runEnvironment(options.sparkConf),
    };
    this.requests!.write(`${JSON.stringify(request)}\n`);
    // a lost connection (ECONNRESET) ends the replies like a host that exited
    const next = await this.replies!.next().catch((): IteratorResult<string> => ({ done: true, value: undefined }));
    const output = this.socketPath ? logTail(`${this.socketPath}.log`, 15) : this.tail.last(15);
    this.tail.clear();
    if (next.done) {
      this.child = undefined;
      this.socket = undefined;
      this.requests = undefined;
      throw new GlueJobRunFailed(
        `Glue job ${options.script}: ${this.exited ?? 'the local Glue host ended'}:\n${output}`,
      );
    }
    const reply = JSON.parse(next.value) as { ok: boolean; error?: string };
    if (!reply.ok) {
      const lines = (reply.error ?? '').trimEnd().split('\n');
      // the first line says why (the exception's own line ends a Python traceback); then its tail
      // (a Java cause ends the text with its indented stack: the last unindented line names it)
      const why =
        [...lines]
          .reverse()
          .find((l) => /^\S/.test(l) && !l.startsWith('...'))
          ?.trim() ?? 'no error text';
      throw new GlueJobRunFailed(`Glue job ${options.script} failed: ${why}\n${lines.slice(-15).join('\n')}`);
    }
    return { durationMs: Date.now() - started };
  }
}

/** The last `n` lines of a host's log file. */
function logTail(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** The local Glue service of one execution (or of several, when shared): one host per job package. */
export class LocalGlue {
  private readonly hosts = new Map<string, GlueJobHost>();

  constructor(
    private readonly root: string,
    /**
     * Serve runs from long-lived hosts listening in this directory, one per job package and
     * `socketKey` (see {@link GlueJobHost}); by default each host is a child of this process.
     */
    private readonly sockets?: { readonly dir: string; readonly key: string },
    /** The JVM profile of the hosts this starts (see {@link sparkJvmProfile}). */
    private readonly jvmProfile?: SparkJvmProfile,
  ) {}

  /** Runs a Glue job's script once, as a job run of the job would. */
  run(options: {
    script: string;
    packagePath?: string;
    arguments: Record<string, string>;
    sparkConf?: Record<string, string>;
    onLine?: (line: string) => void;
  }): Promise<{ durationMs: number }> {
    const key = options.packagePath ?? '';
    let host = this.hosts.get(key);
    if (!host) {
      const socketPath = this.sockets
        ? path.join(
            this.sockets.dir,
            `glue-${this.sockets.key}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}.sock`,
          )
        : undefined;
      host = new GlueJobHost(this.root, options.packagePath, socketPath, this.jvmProfile);
      this.hosts.set(key, host);
    }
    return host.run(options);
  }

  close(): void {
    for (const host of this.hosts.values()) host.close();
    this.hosts.clear();
  }
}
