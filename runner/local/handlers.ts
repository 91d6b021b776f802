import { handle as publishGold } from '../../lambdas/publish-gold/handler';
import { handle as publish } from '../../lambdas/publish/handler';
import { handle as qualityGate } from '../../lambdas/quality-gate/handler';
import { handle as recordRun } from '../../lambdas/record-run/handler';
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
  'publish-gold': publishGold,
  'record-run': recordRun,
};
