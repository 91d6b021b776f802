import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { sfnIsExecutionRunning } from './execution-status';
import type { IsExecutionRunning } from './lake-lease';
import { S3ObjectStore } from './object-store';
import type { HandlerCore, HandlerRuntime } from './runtime';

export { MetricUnit };

/**
 * The thin AWS shell around a handler core: Powertools logging, metrics and tracing, the S3
 * binding of the object store and the Step Functions binding of the execution port. Local mode
 * calls the core directly with the lake binding and its own execution port.
 */
export function makeHandler(name: string, core: HandlerCore): (event: unknown) => Promise<unknown> {
  const logger = new Logger({ serviceName: 'txlake', persistentLogAttributes: { step: name } });
  // Namespace from POWERTOOLS_METRICS_NAMESPACE (per environment), service dimension 'txlake'.
  const metrics = new Metrics({ serviceName: 'txlake' });
  const tracer = new Tracer({ serviceName: 'txlake' });
  // The Step Functions client is made on first use: only ResolveRun asks about executions.
  let isRunning: IsExecutionRunning | undefined;
  const runtime: HandlerRuntime = {
    store: new S3ObjectStore(tracer.captureAWSv3Client(new S3Client({}))),
    env: process.env,
    metric: (metricName, unit, value) =>
      metrics.addMetric(metricName, unit === 'Percent' ? MetricUnit.Percent : MetricUnit.Count, value),
    isExecutionRunning: (executionId) => {
      isRunning ??= sfnIsExecutionRunning(tracer.captureAWSv3Client(new SFNClient({})));
      return isRunning(executionId);
    },
  };
  return async (event: unknown) => {
    logger.info('step started', { event });
    try {
      const result = await core(event, runtime);
      logger.info('step finished', { result });
      metrics.addMetric(`${name}.succeeded`, MetricUnit.Count, 1);
      return result;
    } catch (error) {
      logger.error('step failed', error as Error);
      metrics.addMetric(`${name}.failed`, MetricUnit.Count, 1);
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
