import type { RunRecord } from '../lambdas/record-run/core';

/** Starts the deployed state machine and follows it to the end (SPEC §5, `--target aws`). */
export async function runOnAws(_options: {
  input: Record<string, string>;
  envName?: string;
  root: string;
  progress: (line: string) => void;
}): Promise<RunRecord[]> {
  throw new Error('the aws target is not available yet');
}
