import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import * as path from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { AWS_ENDPOINT_VARIABLE, type AwsClientConfig, awsClientConfig } from '../../runner/aws/client-config';

const ROOT = path.join(__dirname, '..', '..');
/** moto's server, installed by scripts/setup.sh into its own environment (tools/requirements-moto.txt). */
export const MOTO_SERVER = path.join(ROOT, '.venv', 'moto', 'bin', 'moto_server');
/** The account moto puts every resource in. */
export const MOTO_ACCOUNT = '123456789012';
export const MOTO_REGION = 'us-east-1';

/** A running moto server: where it listens and how the CLI and the SDK clients reach it. */
export interface Moto {
  readonly endpoint: string;
  /** The CLI's environment: TXLAKE_AWS_ENDPOINT and the region. */
  readonly env: Readonly<Record<string, string>>;
  /** Client configuration for the tests' own SDK clients (as the CLI makes it). */
  readonly config: AwsClientConfig;
  /** POSTs JSON to one of moto's own APIs (`/moto-api/...`). */
  api(route: string, body: unknown): Promise<void>;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function post(endpoint: string, route: string, body: unknown): Promise<void> {
  const response = await fetch(`${endpoint}${route}`, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`moto ${route}: ${response.status} ${await response.text()}`);
}

/** A port of 127.0.0.1 free right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Spawns `moto_server` on `port` (0: any free one); resolves once it says where it listens. */
async function startServer(
  port: number,
  spawned: (child: ChildProcess) => void,
): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MOTO_PORT: String(port) },
  });
  spawned(child);
  let output = '';
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto_server did not start in 30 s:\n${output}`)), 30_000);
    const read = (data: Buffer): void => {
      output += data.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited (${code}) before it listened:\n${output}`));
    });
  });
  let endpoint: string;
  try {
    endpoint = await listening;
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  // Keep draining its request log, or the server blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, endpoint };
}

/** What the server of {@link useMoto} does beyond moto's defaults. */
export interface MotoOptions {
  /**
   * Step Functions executions run their definitions (moto's `execute_state_machine` parser) instead
   * of staying RUNNING until stopped; their service tasks (`aws-sdk:s3:putObject`…) call this
   * server back on the port the helper chose up front.
   */
  readonly executeStateMachines?: boolean;
}

/**
 * Starts `moto_server` on a free port of 127.0.0.1 before the tests of the calling file (or
 * `describe` block) and stops it after them; returns a getter of the running server. A missing
 * `.venv/moto` fails the tests (run scripts/setup.sh), it does not skip them.
 */
export function useMoto(options: MotoOptions = {}): () => Moto {
  let child: ChildProcess | undefined;
  let moto: Moto | undefined;

  beforeAll(async () => {
    if (!existsSync(MOTO_SERVER)) {
      throw new Error(`${MOTO_SERVER} is missing: run scripts/setup.sh to install moto's server (.venv/moto)`);
    }
    let started: { child: ChildProcess; endpoint: string } | undefined;
    for (let attempt = 1; !started; attempt++) {
      // Port 0: the server takes a free port and says which in its "Running on" line. A server whose
      // state machines call it back needs its port up front (MOTO_PORT): a free one, tried again
      // if another process took it meanwhile.
      const port = options.executeStateMachines ? await freePort() : 0;
      try {
        started = await startServer(port, (running) => (child = running));
      } catch (error) {
        if (port === 0 || attempt === 3) throw error;
      }
    }
    const { endpoint } = started;
    const deadline = Date.now() + 30_000;
    while (!(await answers(endpoint))) {
      if (Date.now() > deadline) throw new Error(`moto_server at ${endpoint} does not answer`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (options.executeStateMachines)
      await post(endpoint, '/moto-api/config', { stepfunctions: { execute_state_machine: true } });
    const env = { [AWS_ENDPOINT_VARIABLE]: endpoint, AWS_REGION: MOTO_REGION };
    moto = {
      endpoint,
      env,
      config: awsClientConfig(env),
      api: (route, body) => post(endpoint, route, body),
    };
  }, 60_000);

  afterAll(async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });

  return () => {
    if (!moto) throw new Error('moto_server is not running (useMoto() registers beforeAll: call it at file level)');
    return moto;
  };
}

/** A pipeline stack `Txlake-<env>-Pipeline` with the given outputs (a stand-in resource, the real output keys). */
export async function createPipelineStack(m: Moto, envName: string, outputs: Record<string, string>): Promise<void> {
  const template = {
    Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
  };
  await new CloudFormationClient(m.config).send(
    new CreateStackCommand({ StackName: `Txlake-${envName}-Pipeline`, TemplateBody: JSON.stringify(template) }),
  );
}
