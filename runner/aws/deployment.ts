import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { readProjectContext, selectEnvironment } from '../../core/environments';
import { type AwsClientConfig, awsClientConfig } from './client-config';

/** CloudFormation output keys of the `Txlake-<env>-Pipeline` stack that the aws target reads. */
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';
export const STAGING_BUCKET_OUTPUT = 'StagingBucketName';

/** Each resource of a deployment the CLI uses, by the pipeline stack's output that names it. */
export const DEPLOYMENT_OUTPUTS = {
  stateMachineArn: STATE_MACHINE_OUTPUT,
  stagingBucket: STAGING_BUCKET_OUTPUT,
  bronzeBucket: 'BronzeBucketName',
  workGroup: 'WorkGroupName',
  database: 'DatabaseName',
  glueJob: 'GlueJobName',
} as const;

/** The deployed resources of an environment, as its pipeline stack's outputs name them. */
export type Deployment = { readonly [K in keyof typeof DEPLOYMENT_OUTPUTS]: string };
export type DeploymentResource = keyof Deployment;

interface DeployedEnvironment {
  readonly envName: string;
  readonly region?: string;
  readonly scheduleTimeZone?: string;
}

/** The environment the CLI targets, from cdk.json's context (only what finding it needs). */
export function readEnvironment(root: string, envName?: string): DeployedEnvironment {
  const { envName: name, settings } = selectEnvironment(readProjectContext(root), envName);
  return {
    envName: name,
    region: typeof settings.region === 'string' ? settings.region : undefined,
    scheduleTimeZone: typeof settings.scheduleTimeZone === 'string' ? settings.scheduleTimeZone : undefined,
  };
}

/**
 * The deployed resources a command needs (default: the state machine and the staging bucket), from
 * the pipeline stack's outputs; a stack without one of their outputs is one to deploy first.
 */
export async function findDeployment<K extends DeploymentResource = 'stateMachineArn' | 'stagingBucket'>(
  cloudFormation: CloudFormationClient,
  envName: string,
  needs: readonly K[] = ['stateMachineArn', 'stagingBucket'] as K[],
): Promise<Pick<Deployment, K>> {
  const stackName = `Txlake-${envName}-Pipeline`;
  const deployFirst = `run "npx cdk deploy -c env=${envName} --all" first`;
  let outputs: Record<string, string>;
  try {
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = result.Stacks?.[0];
    if (!stack) throw new Error(`stack ${stackName} is not deployed: ${deployFirst}`);
    if (/_IN_PROGRESS$/.test(stack.StackStatus ?? '') && !stack.Outputs?.length) {
      throw new Error(`stack ${stackName} is ${stack.StackStatus}: wait for it, or ${deployFirst}`);
    }
    outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ValidationError' && /does not exist/i.test(e.message)) {
      throw new Error(`stack ${stackName} is not deployed: ${deployFirst}`);
    }
    if (e.message.startsWith(`stack ${stackName}`)) throw e;
    throw new Error(`cannot read stack ${stackName}: ${oneLine(e.message)}`);
  }
  const missing = needs.map((k) => DEPLOYMENT_OUTPUTS[k]).filter((k) => !outputs[k]);
  if (missing.length > 0) {
    throw new Error(`stack ${stackName} has no output ${missing.join(', ')}: ${deployFirst}`);
  }
  return Object.fromEntries(needs.map((k) => [k, outputs[DEPLOYMENT_OUTPUTS[k]]])) as Pick<Deployment, K>;
}

/** A deployed environment the CLI works on: the clients' configuration and the resources it needs. */
export interface DeploymentTarget<K extends DeploymentResource> {
  readonly envName: string;
  /** What every SDK client of the command is created with (region, TXLAKE_AWS_ENDPOINT). */
  readonly config: AwsClientConfig;
  readonly deployment: Pick<Deployment, K>;
}

/** Finds an environment's deployment (cdk.json's `--env`, its pipeline stack's outputs) for a command. */
export async function openDeployment<K extends DeploymentResource>(
  options: {
    readonly root: string;
    readonly envName?: string;
    readonly env: Readonly<Record<string, string | undefined>>;
  },
  needs: readonly K[],
): Promise<DeploymentTarget<K>> {
  const environment = readEnvironment(options.root, options.envName);
  const config = awsClientConfig(options.env, environment.region);
  const deployment = await findDeployment(new CloudFormationClient(config), environment.envName, needs);
  return { envName: environment.envName, config, deployment };
}

/** Error text on one line. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
