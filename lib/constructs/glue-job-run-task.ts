import type { Duration } from 'aws-cdk-lib';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/**
 * GlueStartJobRun turns `taskTimeout` into the job run's own Timeout and leaves the state without
 * `TimeoutSeconds`; this adds a state-level timeout too, so a run stuck before it even starts
 * (queued, capacity) fails the date instead of waiting indefinitely.
 */
export interface GlueJobRunTaskProps extends tasks.GlueStartJobRunProps {
  /** How long the state may take in all, starting the job run included. */
  readonly stateTimeout: Duration;
}

export class GlueJobRunTask extends tasks.GlueStartJobRun {
  private readonly stateTimeout: Duration;

  constructor(scope: Construct, id: string, props: GlueJobRunTaskProps) {
    super(scope, id, props);
    this.stateTimeout = props.stateTimeout;
  }

  protected override _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): unknown {
    const rendered = super._renderTask(topLevelQueryLanguage) as Record<string, unknown>;
    return { ...rendered, TimeoutSeconds: this.stateTimeout.toSeconds() };
  }
}
