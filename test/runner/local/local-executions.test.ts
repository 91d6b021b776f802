import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { executionFile, isLocalExecutionRunning, registerExecution } from '../../../runner/local/local-executions';
import { tempDirs } from '../../helpers/lake';

const lakes = tempDirs('txlake-executions-');
const ARN = 'arn:aws:states:us-east-1:000000000000:execution:txlake-local:local-1';

/** Writes the registration another process would have left. */
function registered(lake: string, owner: Record<string, unknown>, arn = ARN): void {
  const file = executionFile(lake, arn);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(owner));
}

describe('which local executions are running (the lease holder check)', () => {
  test('an execution of this process runs until it ends', () => {
    const lake = lakes();
    const ended = registerExecution(lake, ARN);
    expect(isLocalExecutionRunning(lake, ARN)).toBe(true);
    ended();
    expect(isLocalExecutionRunning(lake, ARN)).toBe(false);
  });

  test('an execution never registered, or whose process is gone, does not run', () => {
    const lake = lakes();
    expect(isLocalExecutionRunning(lake, ARN)).toBe(false);
    registered(lake, { pid: 2 ** 22 + 12345, started: '1' }); // above any pid_max: no such process
    expect(isLocalExecutionRunning(lake, ARN)).toBe(false);
  });

  test('a reused pid (a live process, but another start time) is not the execution’s process', () => {
    const lake = lakes();
    registered(lake, { pid: process.pid, started: 'started-long-ago' });
    expect(isLocalExecutionRunning(lake, ARN)).toBe(false);
  });

  test('executions whose ARNs differ only after 80 characters are told apart', () => {
    // Local execution names carry their start second: two runs within ten seconds share the first
    // 80 characters of their ARNs. The end of one must not end the other, nor be taken for it.
    const lake = lakes();
    const prefix = 'arn:aws:states:us-east-1:000000000000:execution:txlake-local:local-20261205093031';
    const killedRun = `${prefix}-b34edff0`;
    const nextRun = `${prefix.slice(0, -1)}9-48c5aabf`;
    expect(killedRun.slice(0, 80)).toBe(nextRun.slice(0, 80));
    registered(lake, { pid: 2 ** 22 + 12345, started: '1' }, killedRun); // killed: its process is gone
    const ended = registerExecution(lake, nextRun);
    expect({ killed: isLocalExecutionRunning(lake, killedRun), next: isLocalExecutionRunning(lake, nextRun) }).toEqual({
      killed: false,
      next: true,
    });
    ended();
    expect(isLocalExecutionRunning(lake, nextRun)).toBe(false);
  });
});
