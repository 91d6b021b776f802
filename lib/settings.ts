import type { Node } from 'constructs';
import {
  DEFAULT_ENVIRONMENT_CONTEXT_KEY,
  ENVIRONMENTS_CONTEXT_KEY,
  type EnvironmentSettings,
  environmentSettings,
} from '../core/environments';

export type { EnvironmentSettings } from '../core/environments';

/** Reads the settings of `envName` (or `-c env=…`, or the default environment) from the app's context. */
export function loadSettings(node: Node, envName?: string): EnvironmentSettings {
  return environmentSettings(
    {
      [ENVIRONMENTS_CONTEXT_KEY]: node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY),
      [DEFAULT_ENVIRONMENT_CONTEXT_KEY]: node.tryGetContext(DEFAULT_ENVIRONMENT_CONTEXT_KEY),
    },
    envName ?? (node.tryGetContext('env') as string | undefined),
  );
}
