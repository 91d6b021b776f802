import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { PARTITION_TRANSFORMS } from '../../core/contract';
import { readProjectContext } from '../../core/environments';
import { HANDLER_METADATA_KEY } from '../../lib/constructs/pipeline-function';
import { PACKAGE_METADATA_KEY, SCRIPT_METADATA_KEY } from '../../lib/constructs/ingestion-job';
import { type PartitionTransform, glueColumnType } from '../../lib/constructs/lake-catalog';
import { LAYER_METADATA_KEY } from '../../lib/constructs/medallion-storage';
import { addTxlakeStacks } from '../../lib/txlake-app';
import { cachedSynthesis } from './template-cache';

/** Fake identity of the local "account": ARNs must look real for the ASL, never reach AWS. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
}
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

/** What local mode needs from the synthesized app, with every token resolved to a local value. */
export interface ResolvedPipeline {
  /** The entry state machine's definition (ASL), exactly as deployed but for ARNs and names. */
  readonly definition: Record<string, unknown>;
  /** Every state machine of the app by ARN (the entry and the ones it starts). */
  readonly stateMachines: Record<string, ResolvedStateMachine>;
  /** Lambda steps by function ARN: the handler module and its environment. */
  readonly functions: Record<string, { readonly handlerName: string; readonly environment: Record<string, string> }>;
  /** Glue jobs by name: the script, its package directory (`--extra-py-files`) and default arguments. */
  readonly jobs: Record<
    string,
    { readonly script: string; readonly packagePath?: string; readonly defaultArguments: Record<string, string> }
  >;
  /** Glue tables by name (for the local Athena). */
  readonly tables: ResolvedTable[];
  /** Where the Athena workgroup writes query results (`s3://…/`). */
  readonly athenaOutputLocation: string;
}

/** A state machine of the app. */
export interface ResolvedStateMachine {
  readonly name: string;
  readonly arn: string;
  readonly definition: Record<string, unknown>;
}

/** A column of a lake table, its type in Glue (Hive) notation: `bigint`, `timestamp`, `array<string>`, … */
export interface ResolvedColumn {
  readonly name: string;
  readonly type: string;
}

/** A lake table as the deployment defines it (an Iceberg `AWS::Glue::Table`). */
export interface ResolvedTable {
  readonly name: string;
  /** The table's location, `s3://<layer bucket>/<prefix>` (no trailing slash). */
  readonly location: string;
  /** Every column of the table's data files, in field-id order. */
  readonly columns: ResolvedColumn[];
  /** The Iceberg partition spec: source columns and their transforms, in order. */
  readonly partitionSpec: { readonly column: string; readonly transform: PartitionTransform }[];
  /** The Iceberg table properties (`format-version`, `write.*.mode`, …). */
  readonly properties: Record<string, string>;
}

/**
 * Synthesizes the CDK app in-process (bundling skipped: local mode runs the handler sources) and
 * returns the templates of its stacks; cached by the app's sources (./template-cache).
 */
export function synthesizeTemplates(options: { root: string; envName?: string }): CfnTemplate[] {
  return cachedSynthesis(options, () => synthesizeUncached(options));
}

/** The same, always synthesizing (tests that change the app build their own). */
export function synthesizeUncached(options: { root: string; envName?: string }): CfnTemplate[] {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'txlake-synth-'));
  try {
    const app = new App({
      outdir,
      context: { ...readProjectContext(options.root), 'aws:cdk:bundling-stacks': [] },
    });
    const { storage, pipeline } = addTxlakeStacks(app, options.envName);
    const assembly = app.synth();
    return [storage, pipeline].map((s) => assembly.getStackByName(s.stackName).template as CfnTemplate);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Resolves CloudFormation intrinsics across the app's stacks to local values. */
export class TemplateResolver {
  private readonly resources = new Map<string, CfnResource>();
  private readonly exports = new Map<string, Json>();

  constructor(templates: readonly CfnTemplate[]) {
    for (const t of templates) {
      for (const [id, r] of Object.entries(t.Resources)) this.resources.set(id, r);
      for (const o of Object.values(t.Outputs ?? {})) {
        if (o.Export) this.exports.set(String(this.resolve(o.Export.Name)), o.Value);
      }
    }
  }

  resolve(value: Json): Json {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::ImportValue': {
          const name = String(this.resolve(arg));
          const exported = this.exports.get(name);
          if (exported === undefined) throw new Error(`no export named ${name}`);
          return this.resolve(exported);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          return (this.resolve(list) as Json[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          return String(this.resolve(text)).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, Json>]) : [String(arg), {}];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
            String(
              name in vars
                ? this.resolve(vars[name])
                : name.includes('.')
                  ? this.getAtt(...(name.split('.') as [string, string]))
                  : this.ref(name),
            ),
          );
        }
        default:
          break;
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v);
    return out;
  }

  private resource(id: string): CfnResource {
    const r = this.resources.get(id);
    if (!r) throw new Error(`template has no resource ${id}`);
    return r;
  }

  private ref(id: string): Json {
    switch (id) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'txlake-local';
      default:
        break;
    }
    const r = this.resource(id);
    const props = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::S3::Bucket':
        return bucketName(id, r);
      case 'AWS::Lambda::Function':
        return functionName(id, r);
      case 'AWS::Glue::Job':
        return (props.Name as string | undefined) ?? id;
      case 'AWS::Glue::Database':
        return String((props.DatabaseInput as Record<string, Json>).Name);
      case 'AWS::Athena::WorkGroup':
        return String(props.Name);
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${String(props.StateMachineName ?? id)}`;
      default:
        return id;
    }
  }

  private getAtt(id: string, attr: string): Json {
    const r = this.resource(id);
    if (r.Type === 'AWS::Lambda::Function' && attr === 'Arn') {
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName(id, r)}`;
    }
    if (r.Type === 'AWS::S3::Bucket' && attr === 'Arn') return `arn:aws:s3:::${bucketName(id, r)}`;
    return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}/${attr}`;
  }

  /** Every resource of a type, with its logical id. */
  ofType(type: string): [string, CfnResource][] {
    return [...this.resources.entries()].filter(([, r]) => r.Type === type);
  }
}

/** Locally each layer bucket is named after its layer, i.e. the lake folder `<lake>/<layer>`. */
function bucketName(id: string, r: CfnResource): string {
  const layer = r.Metadata?.[LAYER_METADATA_KEY];
  return typeof layer === 'string' ? layer : id.toLowerCase();
}

function functionName(id: string, r: CfnResource): string {
  const handler = r.Metadata?.[HANDLER_METADATA_KEY];
  return typeof handler === 'string' ? `txlake-${handler}` : id;
}

/** Resolves the synthesized app into what the local runner executes. */
export function resolvePipeline(templates: readonly CfnTemplate[]): ResolvedPipeline {
  const resolver = new TemplateResolver(templates);
  const stateMachines: Record<string, ResolvedStateMachine> = {};
  for (const [id, r] of resolver.ofType('AWS::StepFunctions::StateMachine')) {
    const arn = String(resolver.resolve({ Ref: id }));
    const definitionString = resolver.resolve(r.Properties?.DefinitionString ?? null);
    stateMachines[arn] = {
      name: arn.split(':').pop() ?? id,
      arn,
      definition: JSON.parse(String(definitionString)) as Record<string, unknown>,
    };
  }
  // The entry is the one state machine no other one starts.
  const started = new Set(
    Object.values(stateMachines).flatMap(
      (m) => JSON.stringify(m.definition).match(/arn:aws:states:[^"]*:stateMachine:[^"]+/g) ?? [],
    ),
  );
  const entries = Object.values(stateMachines).filter((m) => !started.has(m.arn));
  if (entries.length !== 1) throw new Error(`expected one entry state machine, found ${entries.length}`);
  const definition = entries[0].definition;

  const functions: ResolvedPipeline['functions'] = {};
  for (const [id, r] of resolver.ofType('AWS::Lambda::Function')) {
    const handlerName = r.Metadata?.[HANDLER_METADATA_KEY];
    if (typeof handlerName !== 'string') continue;
    const arn = String(resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] }));
    const env = resolver.resolve(((r.Properties?.Environment as Record<string, Json>) ?? {}).Variables ?? {}) as Record<
      string,
      string
    >;
    functions[arn] = { handlerName, environment: env };
  }

  const jobs: ResolvedPipeline['jobs'] = {};
  for (const [id, r] of resolver.ofType('AWS::Glue::Job')) {
    const script = r.Metadata?.[SCRIPT_METADATA_KEY];
    if (typeof script !== 'string') continue;
    const name = String(resolver.resolve({ Ref: id }));
    const packagePath = r.Metadata?.[PACKAGE_METADATA_KEY];
    jobs[name] = {
      script,
      ...(typeof packagePath === 'string' ? { packagePath } : {}),
      defaultArguments: resolver.resolve(r.Properties?.DefaultArguments ?? {}) as Record<string, string>,
    };
  }

  const tables: ResolvedTable[] = resolver
    .ofType('AWS::Glue::Table')
    .map(([id, r]) => resolvedTable(id, resolver.resolve(r.Properties ?? {})));
  const workgroups = resolver.ofType('AWS::Athena::WorkGroup').map(
    ([, r]) =>
      resolver.resolve(r.Properties ?? {}) as {
        WorkGroupConfiguration?: { ResultConfiguration?: { OutputLocation?: string } };
      },
  );
  const athenaOutputLocation = workgroups[0]?.WorkGroupConfiguration?.ResultConfiguration?.OutputLocation;
  if (!athenaOutputLocation) throw new Error('the app defines no Athena workgroup with a result location');
  return { definition, stateMachines, functions, jobs, tables, athenaOutputLocation };
}

interface IcebergTableTemplate {
  readonly Location: string;
  readonly Schema: { readonly Fields: { readonly Id: number; readonly Name: string; readonly Type: string }[] };
  readonly PartitionSpec?: { readonly Fields: { readonly SourceId: number; readonly Transform: string }[] };
  readonly Properties?: Record<string, string>;
}

/** A lake table from its (resolved) `AWS::Glue::Table` properties: the Iceberg table input. */
function resolvedTable(id: string, properties: Json): ResolvedTable {
  const props = properties as {
    Name?: string;
    OpenTableFormatInput?: { IcebergInput?: { IcebergTableInput?: IcebergTableTemplate } };
  };
  const input = props.OpenTableFormatInput?.IcebergInput?.IcebergTableInput;
  if (!props.Name || !input) throw new Error(`the Glue table ${id} is not an Iceberg table with a name`);
  const fields = [...input.Schema.Fields].sort((a, b) => a.Id - b.Id);
  const byId = new Map(fields.map((f) => [f.Id, f.Name]));
  return {
    name: props.Name,
    location: input.Location,
    columns: fields.map((f) => ({ name: f.Name, type: glueColumnType(f.Type) })),
    partitionSpec: (input.PartitionSpec?.Fields ?? []).map((p) => {
      const column = byId.get(p.SourceId);
      const transform = PARTITION_TRANSFORMS.find((t) => t === p.Transform);
      if (column === undefined || transform === undefined) {
        throw new Error(`the Glue table ${id} has a partition field the local lake cannot read: ${JSON.stringify(p)}`);
      }
      return { column, transform };
    }),
    properties: { ...(input.Properties ?? {}) },
  };
}
