/**
 * What the CLI's aws target reads of a deployment (runner/aws) is what the app deploys: the
 * pipeline stack's outputs, and the arguments of the weekly maintenance run.
 */
import * as path from 'node:path';
import { JOB_MODE_ARGUMENT as LIB_JOB_MODE_ARGUMENT } from '../../lib/constructs/ingestion-job';
import { JOB_MODE_ARGUMENT, MAINTAIN_ARGUMENTS } from '../../runner/aws/aws-glue';
import { DEPLOYMENT_OUTPUTS } from '../../runner/aws/deployment';
import { type CfnTemplate, synthesizeTemplates } from '../../runner/local/template-resolver';

const root = path.join(__dirname, '..', '..');

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

describe('the pipeline stack names every resource the CLI uses', () => {
  const [storage, pipeline] = synthesizeTemplates({ root, envName: 'dev' }) as (CfnTemplate & {
    Resources: Record<string, Resource>;
    Outputs?: Record<string, { Value: unknown }>;
  })[];
  const outputs = pipeline.Outputs ?? {};
  const ofType = (template: { Resources: Record<string, Resource> }, type: string): [string, Resource][] =>
    Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  test('one output per resource findDeployment reads', () => {
    for (const key of Object.values(DEPLOYMENT_OUTPUTS)) expect(outputs[key]).toBeDefined();
  });

  test('the workgroup, the database, the Glue job and the buckets they name', () => {
    expect(outputs.WorkGroupName.Value).toBe('txlake-dev');
    expect(outputs.DatabaseName.Value).toBe('txlake_dev');
    const [[jobId]] = ofType(pipeline, 'AWS::Glue::Job');
    expect(outputs.GlueJobName.Value).toEqual({ Ref: jobId });
    const bronze = ofType(storage, 'AWS::S3::Bucket').find(([id]) => /^StorageBronzeBucket/.test(id));
    expect(bronze).toBeDefined();
    expect(JSON.stringify(outputs.BronzeBucketName.Value)).toContain(`ExportsOutputRef${bronze![0]}`);
    expect(JSON.stringify(outputs.StagingBucketName.Value)).toMatch(/ExportsOutputRefStorageStagingBucket/);
  });

  test('`maintain --target aws` starts the job with the arguments of the weekly trigger', () => {
    expect(JOB_MODE_ARGUMENT).toBe(LIB_JOB_MODE_ARGUMENT);
    const [[, trigger]] = ofType(pipeline, 'AWS::Glue::Trigger');
    const [action] = trigger.Properties.Actions as { Arguments: Record<string, string>; JobName: unknown }[];
    expect(action.Arguments).toEqual(MAINTAIN_ARGUMENTS);
    expect(action.JobName).toEqual(outputs.GlueJobName.Value);
  });
});
