import type { App } from 'aws-cdk-lib';
import { CONTRACT, withSettings } from '../core/contract';
import { PipelineStack } from './stacks/pipeline-stack';
import { type EnvironmentSettings, loadSettings } from './settings';
import { StorageStack } from './stacks/storage-stack';

export interface TxlakeStacks {
  readonly settings: EnvironmentSettings;
  readonly storage: StorageStack;
  readonly pipeline: PipelineStack;
}

/** Adds txlake's stacks for one environment (from `-c env=NAME`, default from cdk.json). */
export function addTxlakeStacks(app: App, envName?: string): TxlakeStacks {
  const settings = loadSettings(app.node, envName);
  const contract = withSettings(CONTRACT, {
    currencies: settings.currencies,
    maxQuarantineRatio: settings.maxQuarantineRatio,
  });
  const env = settings.account || settings.region ? { account: settings.account, region: settings.region } : undefined;
  const prefix = `Txlake-${settings.envName}`;
  const storage = new StorageStack(app, `${prefix}-Storage`, {
    env,
    envName: settings.envName,
    contract,
    retainData: settings.retainData,
    description: `txlake ${settings.envName}: lake storage, catalog and Athena workgroup`,
  });
  const pipeline = new PipelineStack(app, `${prefix}-Pipeline`, {
    env,
    settings,
    contract,
    storage: storage.storage,
    catalog: storage.catalog,
    workgroup: storage.workgroup,
    description: `txlake ${settings.envName}: state machine, Lambda steps, Glue job, schedule`,
  });
  pipeline.addStackDependency(storage);
  return { settings, storage, pipeline };
}
