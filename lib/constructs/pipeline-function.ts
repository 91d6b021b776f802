import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Template metadata naming the handler module a function runs, for local mode. */
export const HANDLER_METADATA_KEY = 'txlake:handler';

export interface PipelineFunctionProps {
  /** Folder under `lambdas/` holding `handler.ts` (e.g. `validate-landing`). */
  readonly handlerName: string;
  readonly description: string;
  /** Environment variables (bucket names, settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Encrypts the function's environment variables at rest and its log group (the lake key). */
  readonly encryptionKey: kms.IKey;
  /**
   * Concurrent executions reserved for (and limiting) the step. The pipeline runs one execution
   * at a time and a step once per date, so a small number is enough; it also keeps a runaway
   * caller from starving the account's other functions.
   * @default 2
   */
  readonly reservedConcurrency?: number;
  /**
   * A step taking longer fails instead of hanging.
   * @default 5
   */
  readonly timeoutMinutes?: number;
  /**
   * @default 1024
   */
  readonly memorySizeMb?: number;
  /**
   * CloudWatch namespace of the step's business metrics.
   * @default 'txlake'
   */
  readonly metricsNamespace?: string;
  /**
   * How long the function's logs are kept.
   * @default 30
   */
  readonly logRetentionDays?: number;
}

/**
 * One step of the pipeline as a Node.js Lambda: bundled by the local esbuild, traced with X-Ray,
 * Powertools logging/metrics. Local mode calls the same handler module in-process.
 */
export class PipelineFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly handlerName: string;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.handlerName = props.handlerName;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: (props.logRetentionDays ?? 30) as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', '..', 'lambdas', props.handlerName, 'handler.ts'),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySizeMb ?? 1024,
      timeout: Duration.minutes(props.timeoutMinutes ?? 5),
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrency ?? 2,
      environmentEncryption: props.encryptionKey,
      logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: 'txlake',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'txlake',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: { minify: true, sourceMap: true, target: 'node24', forceDockerBundling: false },
      projectRoot: path.join(__dirname, '..', '..'),
      depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
    });
    // The function reads its environment through the key it is encrypted with.
    props.encryptionKey.grant(this.function, 'kms:Decrypt');
    const cfn = this.function.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(HANDLER_METADATA_KEY, props.handlerName);
    // Checks of checkov (scripts/test.sh, .checkov.yaml) that do not apply, each with its reason.
    cfn.addMetadata('checkov', {
      skip: [
        {
          id: 'CKV_AWS_116',
          comment:
            'Step Functions invokes the step synchronously (RequestResponse): a DLQ only applies to asynchronous invocations; failures go to the state machine Catch (RecordFailed).',
        },
        {
          id: 'CKV_AWS_117',
          comment:
            'The step only calls S3, CloudWatch and X-Ray over their public TLS endpoints and reaches no VPC resource; a VPC would add NAT or endpoints and no isolation.',
        },
      ],
    });
  }
}
