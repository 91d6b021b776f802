import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { readProjectContext } from '../../core/environments';
import { addTxlakeStacks } from '../../lib/txlake-app';
import { type CfnTemplate, TemplateResolver } from '../../runner/local/template-resolver';

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

  describe('the Iceberg tables: grants name the catalog, the database, the tables and their locations', () => {
    const resolver = new TemplateResolver([templates.storage.toJSON(), templates.pipeline.toJSON()] as CfnTemplate[]);
    const tableNames = [
      'silver_transactions',
      'quarantine_transactions',
      'condemned_transactions',
      'gold_monthly_balances',
    ];
    const catalogArns = (tables: readonly string[]) => [
      expect.stringMatching(/^arn:aws:glue:[^:]+:\d+:catalog$/),
      expect.stringMatching(/^arn:aws:glue:[^:]+:\d+:database\/txlake_dev$/),
      ...tables.map((t) => expect.stringMatching(new RegExp(`^arn:aws:glue:[^:]+:\\d+:table/txlake_dev/${t}$`))),
    ];
    /** The Allow statements of the policies attached to the role whose logical id starts with `role`. */
    const statementsOf = (role: string): { actions: string[]; resources: string[] }[] =>
      Object.values(templates.pipeline.findResources('AWS::IAM::Policy'))
        .map((p) => p.Properties as { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } })
        .filter((p) => p.Roles.some((r) => r.Ref.startsWith(role)))
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((st) => st.Effect === 'Allow')
        .map((st) => ({
          actions: asList(st.Action) as string[],
          resources: (asList(resolver.resolve(st.Resource as never)) as unknown[]).map(String),
        }));
    const resourcesOf = (statements: { actions: string[]; resources: string[] }[], action: string) =>
      [...new Set(statements.filter((st) => st.actions.includes(action)).flatMap((st) => st.resources))].sort();

    test('the Glue job commits to the four tables only (GetDatabase, GetTable, UpdateTable)', () => {
      const glue = statementsOf('IngestionJobRole').filter((st) => st.actions.some((a) => a.startsWith('glue:')));
      expect(glue.flatMap((st) => st.actions).sort()).toEqual([
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:UpdateTable',
      ]);
      expect(resourcesOf(glue, 'glue:UpdateTable')).toEqual(expect.arrayContaining(catalogArns(tableNames)));
      expect(resourcesOf(glue, 'glue:UpdateTable')).toHaveLength(2 + tableNames.length);
    });

    test("the Glue job's objects: the tables' locations, bronze, staging runs/ and gold-refresh/", () => {
      const statements = statementsOf('IngestionJobRole');
      const lake = (arns: string[]) => arns.filter((arn) => !/:::cdk-/.test(arn)); // not the script asset
      expect(lake(resourcesOf(statements, 's3:GetObject'))).toEqual(
        [
          'arn:aws:s3:::bronze/transactions/*',
          'arn:aws:s3:::condemned/transactions/*',
          'arn:aws:s3:::gold/monthly_balances/*',
          'arn:aws:s3:::quarantine/transactions/*',
          'arn:aws:s3:::silver/transactions/*',
          'arn:aws:s3:::staging/gold-refresh/*',
          'arn:aws:s3:::staging/maintenance/*',
          'arn:aws:s3:::staging/runs/*',
        ].sort(),
      );
      const tableFiles = [
        'arn:aws:s3:::condemned/transactions/*',
        'arn:aws:s3:::gold/monthly_balances/*',
        'arn:aws:s3:::quarantine/transactions/*',
        'arn:aws:s3:::silver/transactions/*',
        // publish empties the gold refresh target; maintenance writes its summary
        'arn:aws:s3:::staging/gold-refresh/*',
        'arn:aws:s3:::staging/maintenance/*',
        'arn:aws:s3:::staging/runs/*',
      ].sort();
      expect(resourcesOf(statements, 's3:PutObject')).toEqual(tableFiles);
      expect(resourcesOf(statements, 's3:DeleteObject')).toEqual(tableFiles);
    });

    test('the Athena steps read catalog entries of the tables only, never a table wildcard, never write one', () => {
      const statements = statementsOf('DateBatchesStateMachineRole');
      const reads = resourcesOf(statements, 'glue:GetTable');
      expect(reads.length).toBeGreaterThan(2);
      expect(reads).toEqual(expect.arrayContaining(catalogArns([])));
      for (const arn of reads)
        expect(arn).toEqual(expect.stringMatching(/:(catalog|database\/txlake_dev|table\/txlake_dev\/[a-z_]+)$/));
      const actions = statements.flatMap((st) => st.actions);
      for (const write of ['glue:UpdateTable', 'glue:CreateTable', 'glue:DeleteTable', 'glue:GetPartitions']) {
        expect(actions).not.toContain(write);
      }
    });

    test('the entry state machine starts and follows executions of the date-batch state machine only, and touches no data', () => {
      const statements = statementsOf('PipelineStateMachineRole');
      expect(resourcesOf(statements, 'states:StartExecution')).toEqual([
        'arn:aws:states:us-east-1:000000000000:stateMachine:txlake-dev-dates',
      ]);
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
        expect(resourcesOf(statements, action)).toEqual([
          expect.stringMatching(/^arn:aws:states:[^:]+:[^:]+:execution:txlake-dev-dates\*?:?\*$/),
        ]);
      }
      const actions = statements.flatMap((st) => st.actions);
      expect(
        actions.filter((a) => /^(s3|glue|kms|athena):/.test(a) && a !== 'kms:GenerateDataKey' && a !== 'kms:Decrypt'),
      ).toEqual([]);
    });
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
