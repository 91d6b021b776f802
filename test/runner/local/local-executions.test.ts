import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { sanitizeId } from '../../../core/run-plan';
import { isLocalExecutionRunning, registerExecution } from '../../../runner/local/local-executions';
import { tempDirs } from '../../helpers/lake';

const lakes = tempDirs('txlake-executions-');
const ARN = 'arn:aws:states:us-east-1:000000000000:execution:txlake-local:local-1';

/** Writes the registration another process would have left. */
function registered(lake: string, owner: Record<string, unknown>): void {
  const dir = path.join(lake, '_local', 'executions');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${sanitizeId(ARN)}.pid`), JSON.stringify(owner));
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
});
