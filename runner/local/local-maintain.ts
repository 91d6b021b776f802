import { randomUUID } from 'node:crypto';
import { MAINTENANCE_RESULT_KEY } from '../../core/lake-layout';
import { JOB_MODE_ARGUMENT } from '../../lib/constructs/ingestion-job';
import { acquireLakeLease, releaseLakeLease } from '../../lambdas/shared/lake-lease';
import { FsObjectStore } from './fs-object-store';
import { createLocalTables, icebergJob, localJobRun } from './local-catalog';
import { isLocalExecutionRunning, registerExecution } from './local-executions';
import { LocalGlue } from './local-glue';
import { resolvePipeline, synthesizeTemplates } from './template-resolver';

/** The staging bucket of the local lake (the app's own name for it resolves to this folder). */
const STAGING = 'staging';

/**
 * `txlake maintain` on a local lake (SPEC §1, §5): the Glue job's maintain mode — the same job
 * and arguments as the deployment's scheduled maintenance — run under the lake's lease like any
 * execution that changes the lake, so it never interleaves with a run's publish.
 */
export async function maintainLocal(options: {
  readonly root: string;
  readonly lake: string;
  readonly envName?: string;
  readonly glue?: LocalGlue;
  /** the instant maintenance counts retention from @default now */
  readonly now?: Date;
}): Promise<Record<string, unknown>> {
  const pipeline = resolvePipeline(synthesizeTemplates({ root: options.root, envName: options.envName }));
  const job = icebergJob(pipeline);
  const store = new FsObjectStore(options.lake);
  const executionId = `arn:aws:states:us-east-1:000000000000:execution:txlake-local-maintain:maintain-${randomUUID().slice(0, 8)}`;
  const ended = registerExecution(options.lake, executionId);
  const glue = options.glue ?? new LocalGlue(options.root);
  try {
    await acquireLakeLease(executionId, {
      store,
      stagingBucket: STAGING,
      isExecutionRunning: async (id) => isLocalExecutionRunning(options.lake, id),
    });
    try {
      await createLocalTables(pipeline, options.lake, glue);
      const runId = `maintain-${(options.now ?? new Date())
        .toISOString()
        .replace(/[-:.TZ]/g, '')
        .slice(0, 14)}`;
      await glue.run(
        localJobRun(job, options.lake, {
          [JOB_MODE_ARGUMENT]: 'maintain',
          '--run_id': runId,
          '--ingest_date': (options.now ?? new Date()).toISOString().slice(0, 10),
        }),
      );
      return JSON.parse((await store.getText(STAGING, MAINTENANCE_RESULT_KEY)) ?? '{}') as Record<string, unknown>;
    } finally {
      await releaseLakeLease(executionId, { store, stagingBucket: STAGING });
    }
  } finally {
    if (!options.glue) glue.close();
    ended();
  }
}
