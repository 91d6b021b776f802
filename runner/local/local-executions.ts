import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { sanitizeId } from '../../core/run-plan';

/**
 * Which local executions are running on a lake, across processes: Step Functions' DescribeExecution
 * for the lake's lease (a lease whose execution no longer runs — a killed process — is taken over).
 * Each running execution leaves a file naming its process; a file whose process is gone is stale.
 */
const executionsDir = (lake: string): string => path.join(lake, '_local', 'executions');
/**
 * The registration of one execution: named by the execution's name (readable) and a digest of its
 * whole ARN, since a name cut to a file-name length is not unique (executions started in the same
 * ten seconds shared one file, and a new run took a killed run's lease for its own).
 */
export const executionFile = (lake: string, executionArn: string): string =>
  path.join(
    executionsDir(lake),
    `${sanitizeId(executionArn.slice(executionArn.lastIndexOf(':') + 1))}-${createHash('sha256').update(executionArn).digest('hex').slice(0, 16)}.pid`,
  );

/**
 * When a process started (Linux: field 22 of /proc/<pid>/stat), so that a pid reused after the
 * process died — pids and thread ids share one space that a busy machine cycles through in
 * seconds — is not taken for it. Undefined where /proc does not exist.
 */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether a process (or thread) with this id exists. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Marks an execution of this process as running; the returned function marks it ended. */
export function registerExecution(lake: string, executionArn: string): () => void {
  mkdirSync(executionsDir(lake), { recursive: true });
  const file = executionFile(lake, executionArn);
  writeFileSync(file, JSON.stringify({ pid: process.pid, started: startTimeOf(process.pid) ?? null }));
  return () => rmSync(file, { force: true });
}

/** Whether a local execution on the lake is still running (its process alive, not yet ended). */
export function isLocalExecutionRunning(lake: string, executionArn: string): boolean {
  let owner: { pid?: unknown; started?: unknown };
  try {
    owner = JSON.parse(readFileSync(executionFile(lake, executionArn), 'utf8')) as typeof owner;
  } catch {
    return false;
  }
  const pid = Number(owner.pid);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return false;
  // The same pid, but another process (or thread) since: the execution's process is gone.
  return typeof owner.started !== 'string' || startTimeOf(pid) === owner.started;
}

/** The process recorded for a local execution (for tests that check who holds the lake). */
export function executionProcess(lake: string, executionArn: string): number | undefined {
  try {
    const pid = Number((JSON.parse(readFileSync(executionFile(lake, executionArn), 'utf8')) as { pid: unknown }).pid);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
