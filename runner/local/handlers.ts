import { handle as publish } from '../../lambdas/publish/handler';
import { handle as qualityGate } from '../../lambdas/quality-gate/handler';
import { handle as recordRun } from '../../lambdas/record-run/handler';
import { handle as releaseLease } from '../../lambdas/release-lease/handler';
import { handle as resolveRun } from '../../lambdas/resolve-run/handler';
import { handle as validateLanding } from '../../lambdas/validate-landing/handler';
import type { HandlerCore } from '../../lambdas/shared/runtime';

/**
 * The Lambda handlers local mode calls in-process, by the folder name the CDK construct records
 * in the template (`txlake:handler`): the same modules esbuild bundles for AWS.
 */
export const LOCAL_HANDLERS: Readonly<Record<string, HandlerCore>> = {
  'resolve-run': resolveRun,
  'validate-landing': validateLanding,
  'quality-gate': qualityGate,
  publish,
  'record-run': recordRun,
  'release-lease': releaseLease,
};
