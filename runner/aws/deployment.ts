import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { readProjectContext, selectEnvironment } from '../../core/environments';

/** CloudFormation output keys of the `Txlake-<env>-Pipeline` stack that the aws target reads. */
export const STATE_MACHINE_OUTPUT = 'StateMachineArn';
export const STAGING_BUCKET_OUTPUT = 'StagingBucketName';

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

/** The deployed state machine and staging bucket, from the pipeline stack's outputs. */
export async function findDeployment(
  cloudFormation: CloudFormationClient,
  envName: string,
): Promise<{ stateMachineArn: string; stagingBucket: string }> {
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
  const missing = [STATE_MACHINE_OUTPUT, STAGING_BUCKET_OUTPUT].filter((k) => !outputs[k]);
  if (missing.length > 0) {
    throw new Error(`stack ${stackName} has no output ${missing.join(', ')}: ${deployFirst}`);
  }
  return { stateMachineArn: outputs[STATE_MACHINE_OUTPUT], stagingBucket: outputs[STAGING_BUCKET_OUTPUT] };
}

/** Error text on one line. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
