import {
  BRONZE_PREFIX,
  CONDEMNED_PREFIX,
  GOLD_BALANCES_PREFIX,
  GOLD_REFRESH_PREFIX,
  LEASE_PREFIX,
  MAINTENANCE_PREFIX,
  QUARANTINE_PREFIX,
  REJECTED_FILES_PREFIX,
  REJECTIONS_PREFIX,
  REPORTS_PREFIX,
  RUN_RECORDS_PREFIX,
  RUNS_PREFIX,
  SCHEDULE_TICKS_PREFIX,
  SILVER_PREFIX,
} from '../core/lake-layout';
import {
  type App,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
  Validations,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** The key prefixes the steps are granted objects under (a grant's `<prefix>*`), or a whole bucket. */
const GRANTED_PREFIXES = [
  '',
  ...new Set([
    BRONZE_PREFIX,
    SILVER_PREFIX,
    QUARANTINE_PREFIX,
    CONDEMNED_PREFIX,
    GOLD_BALANCES_PREFIX,
    GOLD_REFRESH_PREFIX,
    RUNS_PREFIX,
    RUN_RECORDS_PREFIX,
    LEASE_PREFIX,
    SCHEDULE_TICKS_PREFIX,
    REJECTIONS_PREFIX,
    REJECTED_FILES_PREFIX,
    REPORTS_PREFIX,
    MAINTENANCE_PREFIX,
  ]),
]
  .map((prefix) => prefix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
  .join('|');

/** A kind of cdk-nag finding accepted on purpose, on the resources whose path matches. */
interface AcceptedFinding {
  /** Rule and finding, e.g. `AwsSolutions-IAM5[Action::s3:GetObject*]`. */
  readonly finding: RegExp;
  /** Construct path of the resource the finding is about. */
  readonly path: RegExp;
  readonly reason: string;
}

const LAMBDA_STEP = '(ResolveRun|ValidateLanding|QualityGate|Publish|RecordRun|ReleaseLease)';
/** The entry state machine and the date-batch state machine it starts. */
const STATE_MACHINE = '(Pipeline|DateBatches)';

/**
 * Every finding the project accepts, with its reason. A finding not matched here stays open and
 * fails `cdk synth`.
 */
export const ACCEPTED_FINDINGS: readonly AcceptedFinding[] = [
  {
    finding:
      /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole\]$/,
    path: new RegExp(`/${LAMBDA_STEP}/Function/ServiceRole/Resource$`),
    reason: 'AWSLambdaBasicExecutionRole only lets the step write its own CloudWatch log streams.',
  },
  {
    finding:
      /^AwsSolutions-IAM5\[Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort|PutObject)\*|kms:(GenerateDataKey|ReEncrypt)\*)\]$/,
    path: new RegExp(
      `/(${LAMBDA_STEP}/Function/ServiceRole|IngestionJob/Role|${STATE_MACHINE}/StateMachine/Role)/DefaultPolicy/Resource$`,
    ),
    reason:
      'Grant action families of the lake buckets and the lake key (object read/write/delete and data-key generation), limited to the lake resources below.',
  },
  {
    finding: new RegExp(`^AwsSolutions-IAM5\\[Resource::.*Bucket[^/]*/(${GRANTED_PREFIXES})\\*\\]$`),
    path: new RegExp(
      `/(${LAMBDA_STEP}/Function/ServiceRole|IngestionJob/Role|${STATE_MACHINE}/StateMachine/Role)/DefaultPolicy/Resource$`,
    ),
    reason:
      'Object keys are per ingest date and run, so access is granted on the layer prefix the step owns (…/prefix/*).',
  },
  {
    finding: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    path: new RegExp(
      `/(${LAMBDA_STEP}/Function/ServiceRole|${STATE_MACHINE}/StateMachine/Role)/DefaultPolicy/Resource$`,
    ),
    reason:
      'X-Ray (active tracing) and the CloudWatch Logs log-delivery actions of Step Functions logging have no resource-level permissions; no S3, Glue or KMS action is granted on * (test/lib/iam-least-privilege.test.ts).',
  },
  {
    finding: new RegExp(`^AwsSolutions-IAM5\\[Resource::<${LAMBDA_STEP}Function[0-9A-F]{8}\\.Arn>:\\*\\]$`),
    path: new RegExp(`/${STATE_MACHINE}/StateMachine/Role/DefaultPolicy/Resource$`),
    reason: 'The Step Functions Lambda integration may invoke any version or alias of the pipeline step it calls.',
  },
  {
    finding:
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"DateBatchesStateMachine[0-9A-F]{8}"\}\]\}\]\}\*\]$/,
    path: /\/Pipeline\/StateMachine\/Role\/DefaultPolicy\/Resource$/,
    reason:
      'startExecution.sync follows and may stop the child executions it starts (states:DescribeExecution, states:StopExecution), whose names Step Functions draws: the grant covers the executions of the date-batch state machine only.',
  },
  {
    finding:
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*\]$/,
    path: /\/IngestionJob\/Role\/DefaultPolicy\/Resource$/,
    reason: 'Glue reads its script from the CDK asset bucket, whose object keys are content hashes.',
  },
  {
    finding:
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\/aws-glue\/\*\]$/,
    path: /\/IngestionJob\/Role\/DefaultPolicy\/Resource$/,
    reason: 'Glue names its continuous-logging log groups under /aws-glue/ after the security configuration and role.',
  },
  {
    finding: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    path: /\/IngestionJob\/Role\/DefaultPolicy\/Resource$/,
    reason:
      'cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the Glue namespace by condition.',
  },
  {
    finding:
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:txlake-[a-z0-9-]+-pipeline:\*\]$/,
    path: /\/ResolveRun\/Function\/ServiceRole\/DefaultPolicy\/Resource$/,
    reason:
      "ResolveRun asks whether the execution holding the lake's lease still runs (states:DescribeExecution); execution names are not known in advance, so the grant covers the executions of the pipeline's own state machine only.",
  },
  {
    finding: /^AwsSolutions-SQS3$/,
    path: /\/DailySchedule\/DeadLetters\/Resource$/,
    reason: 'This queue is itself the dead-letter queue of the 02:00 schedule.',
  },
];

/**
 * Runs the AwsSolutions checks once, acknowledges each finding that matches an accepted kind on
 * the very resource it is about (with that kind's reason), then registers the checks as a
 * validation plugin, so `cdk synth` fails on every finding not accepted here.
 */
export function applyNagChecks(app: App): void {
  // Acknowledging must see the final, resolved finding ids (cross-stack references included), so
  // it runs as a validation plugin itself, just before the AwsSolutions checks.
  Validations.of(app).addPlugins(new AcceptedFindingsPlugin(), new AwsSolutionsChecks(app));
}

class AcceptedFindingsPlugin implements IPolicyValidationPlugin {
  readonly name = 'txlake-accepted-findings';

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    acknowledgeAccepted(context.appConstruct);
    return { success: true, violations: [] };
  }
}

function acknowledgeAccepted(app: IConstruct): void {
  const report = new AwsSolutionsChecks().validateScope(app);
  for (const violation of report.violations) {
    for (const resource of violation.violatingResources) {
      const accepted = ACCEPTED_FINDINGS.find(
        (a) => a.finding.test(violation.ruleName) && a.path.test(resource.constructPath ?? ''),
      );
      if (!accepted) continue;
      const construct = findByPath(app, resource.constructPath ?? '');
      if (construct) {
        Validations.of(construct).acknowledge({ id: `AwsSolutions::${violation.ruleName}`, reason: accepted.reason });
      }
    }
  }
}

function findByPath(root: IConstruct, constructPath: string): IConstruct | undefined {
  return root.node.findAll().find((c) => c.node.path === constructPath);
}
