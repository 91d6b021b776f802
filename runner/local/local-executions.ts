import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { sanitizeId } from '../../core/run-plan';

/**
 * Which local executions are running on a lake, across processes: Step Functions' DescribeExecution
 * for the lake's lease (a lease whose execution no longer runs — a killed process — is taken over).
 * Each running execution leaves a file naming its process; a file whose process is gone is stale.
 */
const executionsDir = (lake: string): string => path.join(lake, '_local', 'executions');
const executionFile = (lake: string, executionArn: string): string =>
  path.join(executionsDir(lake), `${sanitizeId(executionArn)}.pid`);

function isAlive(pid: number): boolean {
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
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

/** Whether a local execution on the lake is still running (its process alive, not yet ended). */
export function isLocalExecutionRunning(lake: string, executionArn: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(executionFile(lake, executionArn), 'utf8').trim());
  } catch {
    return false;
  }
  return Number.isInteger(pid) && pid > 0 && isAlive(pid);
}
