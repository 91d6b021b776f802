import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { IsExecutionRunning } from './lake-lease';

/**
 * The execution port in AWS: Step Functions' DescribeExecution. An execution runs while its status
 * is RUNNING, or PENDING_REDRIVE (a redrive resumes it). An id that names no execution (unknown,
 * or not an execution ARN at all) is no running execution; any other error is raised, never taken
 * for "not running".
 */
export function sfnIsExecutionRunning(client: SFNClient): IsExecutionRunning {
  return async (executionId) => {
    try {
      const out = await client.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return out.status === 'RUNNING' || out.status === 'PENDING_REDRIVE';
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return false;
      throw error;
    }
  };
}
