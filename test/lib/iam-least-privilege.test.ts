import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { readProjectContext } from '../../core/environments';
import { addTxlakeStacks } from '../../lib/txlake-app';

/**
 * Least privilege, checked on the synthesized templates of both stacks: no IAM statement allows an
 * S3, Glue or KMS action on every resource. Every identity policy is walked: AWS::IAM::Policy,
 * AWS::IAM::ManagedPolicy and the inline policies of roles, users and groups. No exceptions.
 */

const root = path.join(__dirname, '..', '..');

/** Action families that must always name their resources. */
const SCOPED_FAMILIES = ['s3', 'glue', 'kms'];

interface Statement {
  Effect?: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Sid?: string;
}

interface Finding {
  readonly resource: string;
  readonly actions: string[];
  readonly why: string;
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** `*`, or an ARN whose every resource of a service is meant (`arn:aws:s3:::*`, `…:key/*`). */
function isWholeResourceWildcard(resource: unknown): boolean {
  if (typeof resource !== 'string') return false; // Fn::Join/Fn::GetAtt: a named resource
  return resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:(\*|[a-z-]+\/\*)$/i.test(resource);
}

/** Whether an action (or action pattern) reaches into one of the scoped families. */
function touchesScopedFamily(action: string): boolean {
  const a = action.toLowerCase();
  if (a === '*') return true;
  const [service] = a.split(':');
  return SCOPED_FAMILIES.includes(service);
}

function policyDocuments(type: string, properties: Record<string, unknown>): unknown[] {
  if (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy') return [properties.PolicyDocument];
  if (type === 'AWS::IAM::Role' || type === 'AWS::IAM::User' || type === 'AWS::IAM::Group') {
    return asList(properties.Policies).map((p) => (p as { PolicyDocument?: unknown }).PolicyDocument);
  }
  return [];
}

/** Every Allow statement of `template` granting an S3/Glue/KMS action on every resource. */
function broadStatements(template: Template): Finding[] {
  const findings: Finding[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: unknown }>;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = (resource.Properties ?? {}) as Record<string, unknown>;
    for (const document of policyDocuments(resource.Type, properties)) {
      for (const statement of asList((document as { Statement?: unknown } | undefined)?.Statement) as Statement[]) {
        if (statement.Effect !== 'Allow') continue;
        if (statement.NotAction !== undefined) {
          findings.push({ resource: logicalId, actions: [], why: 'Allow with NotAction' });
          continue;
        }
        const actions = asList(statement.Action).filter((a): a is string => typeof a === 'string');
        const scoped = actions.filter(touchesScopedFamily);
        if (scoped.length === 0) continue;
        if (statement.NotResource !== undefined) {
          findings.push({ resource: logicalId, actions: scoped, why: 'NotResource' });
        } else if (asList(statement.Resource).some(isWholeResourceWildcard)) {
          findings.push({ resource: logicalId, actions: scoped, why: 'Resource "*"' });
        }
      }
    }
  }
  return findings;
}

function synthTemplates(): Record<string, Template> {
  const app = new App({ context: { ...readProjectContext(root), 'aws:cdk:bundling-stacks': [] } });
  const stacks = addTxlakeStacks(app, 'dev');
  return { storage: Template.fromStack(stacks.storage), pipeline: Template.fromStack(stacks.pipeline) };
}

describe('least privilege', () => {
  const templates = synthTemplates();

  test.each(Object.keys(templates))('the %s stack grants no S3, Glue or KMS action on every resource', (name) => {
    expect(broadStatements(templates[name])).toEqual([]);
  });

  test('the Athena steps get workgroup and catalog-read actions only, no catalog writes', () => {
    const statements = Object.values(templates.pipeline.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p).toLowerCase().includes('athena:startqueryexecution'))
      .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
    expect(statements.length).toBeGreaterThan(0);
    const actions = statements.flatMap((s) => asList(s.Action)).filter((a): a is string => typeof a === 'string');
    expect(actions).toEqual(expect.arrayContaining(['athena:StartQueryExecution', 'glue:GetTable']));
    for (const forbidden of ['s3:CreateBucket', 'glue:CreateTable', 'glue:DeleteTable', 'glue:DeleteDatabase']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  describe('the check itself', () => {
    const templateWith = (statement: iam.PolicyStatement): Template => {
      const stack = new Stack(new App(), 'Probe');
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPrincipalPolicy(statement);
      new iam.ManagedPolicy(stack, 'Managed', { statements: [statement] });
      new iam.Role(stack, 'InlineRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: { inline: new iam.PolicyDocument({ statements: [statement] }) },
      });
      return Template.fromStack(stack);
    };

    test.each([
      ['s3:GetObject', '*'],
      ['kms:Decrypt', '*'],
      ['glue:GetTable', '*'],
      ['s3:*', 'arn:aws:s3:::*'],
      ['*', '*'],
    ])('finds %s on %s in a default, a managed and an inline policy', (action, resource) => {
      const findings = broadStatements(
        templateWith(new iam.PolicyStatement({ actions: [action], resources: [resource] })),
      );
      expect(findings.map((f) => f.resource).sort()).toEqual([
        expect.stringMatching(/^InlineRole/),
        expect.stringMatching(/^Managed/),
        expect.stringMatching(/^RoleDefaultPolicy/),
      ]);
    });

    test('accepts scoped S3 grants and unscoped actions of other families', () => {
      const scoped = templateWith(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/prefix/*'] }),
      );
      const xray = templateWith(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
      expect(broadStatements(scoped)).toEqual([]);
      expect(broadStatements(xray)).toEqual([]);
    });
  });
});
