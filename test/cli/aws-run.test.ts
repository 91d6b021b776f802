/**
 * `txlake run --target aws` against moto's server (real SDK requests over HTTP to 127.0.0.1): the
 * CLI finds the state machine through the pipeline stack's outputs, starts it, follows its history
 * to the end and prints the run records the execution wrote to the staging bucket.
 *
 * moto runs the definitions here (its Step Functions parser, `execute_state_machine`; without it an
 * execution stays RUNNING until stopped and its history is a canned one): Pass, Choice, Wait, Fail
 * and Succeed states, Catch, intrinsic functions and request-response service tasks, which call
 * this server back (`glue:startJobRun` on moto's Glue, `aws-sdk:s3:putObject`), so each state
 * machine writes its date's run record itself, under the execution name the CLI chose. moto 5.2.6
 * cannot run `.sync` tasks: `glue:startJobRun.sync` fails ('NoneType' object has no attribute
 * 'interrupt_all'), and `states:startExecution.sync:2` passes `StateMachineArn` to boto unconverted
 * (States.Runtime 'StateMachineArn'), so the monthly child executions the deployed entry machine
 * starts are not played here (test/runner/aws/history-follower.test.ts follows them).
 */
import { CreateJobCommand, GetJobRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { runRecordKey } from '../../core/lake-layout';
import type { RunRecord } from '../../core/run-record';
import { AWS_POLL_VARIABLE } from '../../runner/aws/client-config';
import { DEPLOYMENT_OUTPUTS } from '../../runner/aws/deployment';
import { type CliResult, txlakeWithEnv } from '../helpers/cli';
import { createPipelineStack, MOTO_ACCOUNT, MOTO_REGION, type Moto, useMoto } from '../helpers/moto';

const moto = useMoto({ executeStateMachines: true });

/** Each environment's staging bucket (the run records of executions of the same name stay apart). */
const stagingBucket = (envName: string): string => `txlake-${envName}-staging-moto`;
const JOB = 'txlake-ingestion';
const DATE = '2024-01-16';
const ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/sfn`;

let sfn: SFNClient;
let s3: S3Client;
let glue: GlueClient;
/** The state machine of each environment (cdk.json's dev, staging and prod). */
const machines: Record<string, string> = {};

/** The real CLI entry in-process, its aws clients sent to moto, polling every 50 ms. */
const txlake = (args: string[]): Promise<CliResult> =>
  txlakeWithEnv(args, { ...moto().env, [AWS_POLL_VARIABLE]: '50' });

/** The record key of the running execution, `run-records/{}/{}.json`, as a States.Format template. */
const RECORD_KEY = `States.Format('${runRecordKey('{}', '{}')}', $.execution_id, $.current.ingest_date)`;

/** Plans the date: the run record it will write, under the execution's name (as RecordRun does). */
const resolveRun = (next: string) => ({
  Type: 'Pass',
  Parameters: {
    'execution_id.$': '$$.Execution.Name',
    current: { 'ingest_date.$': '$.date' },
    record: {
      'ingest_date.$': '$.date',
      'run_id.$': "States.Format('{}_{}', $.date, $$.Execution.Name)",
      status: 'SUCCEEDED',
      files: { accepted: 2, rejected: 1 },
      rows: { read: 40, silver: 38, quarantined: 1, condemned: 1 },
      reasons: { INVALID_CURRENCY: 1 },
      'recorded_at.$': '$$.State.EnteredTime',
    },
  },
  Next: next,
});

/** Starts a run of a Glue job of moto's (request-response: moto 5.2.6 cannot run `glue:startJobRun.sync`). */
const transformRows = (jobName: string, next: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::glue:startJobRun',
  Parameters: { JobName: jobName, Arguments: { '--job_mode': 'transform', '--run_id.$': '$.record.run_id' } },
  ResultSelector: { 'job_run_id.$': '$.JobRunId' },
  ResultPath: '$.current.transform',
  Next: next,
});

/** Writes `$.<field>` as the date's run record to the environment's staging bucket. */
const recordRun = (envName: string, field: string, next: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::aws-sdk:s3:putObject',
  Parameters: { Bucket: stagingBucket(envName), 'Key.$': RECORD_KEY, 'Body.$': `States.JsonToString($.${field})` },
  ResultPath: null,
  Next: next,
});

const DEFINITIONS: Record<string, object> = {
  // The date processed and recorded SUCCEEDED.
  dev: {
    StartAt: 'ResolveRun',
    States: {
      ResolveRun: resolveRun('TransformRows'),
      TransformRows: transformRows(JOB, 'RecordSucceeded'),
      RecordSucceeded: recordRun('dev', 'record', 'AllDatesDone'),
      AllDatesDone: { Type: 'Succeed' },
    },
  },
  // The Glue job is missing: the date is recorded FAILED with the job's error, and the execution fails.
  staging: {
    StartAt: 'ResolveRun',
    States: {
      ResolveRun: resolveRun('TransformRows'),
      TransformRows: {
        ...transformRows('txlake-missing-job', 'RecordSucceeded'),
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.current.error', Next: 'DescribeFailure' }],
      },
      RecordSucceeded: recordRun('staging', 'record', 'AllDatesDone'),
      AllDatesDone: { Type: 'Succeed' },
      DescribeFailure: {
        Type: 'Pass',
        Parameters: {
          'execution_id.$': '$.execution_id',
          'current.$': '$.current',
          failed: {
            'ingest_date.$': '$.record.ingest_date',
            'run_id.$': '$.record.run_id',
            status: 'FAILED',
            error: 'PIPELINE_FAILED',
            'error_detail.$': '$.current.error.Cause',
            files: { accepted: 2, rejected: 1 },
            rows: { read: 40, silver: 0, quarantined: 0, condemned: 0 },
            reasons: {},
            'recorded_at.$': '$$.State.EnteredTime',
          },
        },
        Next: 'RecordFailed',
      },
      RecordFailed: recordRun('staging', 'failed', 'DateFailed'),
      DateFailed: {
        Type: 'Fail',
        Error: 'DATE_FAILED',
        Cause: 'A date failed; the run stops at the first failed date (see its run record)',
      },
    },
  },
  // 2024-01-16 waits (to be stopped); any other date fails before it records anything.
  prod: {
    StartAt: 'ResolveRun',
    States: {
      ResolveRun: resolveRun('Held'),
      Held: {
        Type: 'Choice',
        Choices: [{ Variable: '$.current.ingest_date', StringEquals: DATE, Next: 'WaitForStop' }],
        Default: 'Crash',
      },
      WaitForStop: { Type: 'Wait', Seconds: 120, End: true },
      Crash: { Type: 'Fail', Error: 'GLUE_JOB_FAILED', Cause: 'Glue job run jr_1 FAILED\n  Traceback: boom\n' },
    },
  },
};

/** A pipeline stack of an environment naming its state machine and the staging bucket. */
const createEnvironmentStack = (m: Moto, envName: string): Promise<void> =>
  createPipelineStack(m, envName, {
    [DEPLOYMENT_OUTPUTS.stateMachineArn]: machines[envName],
    [DEPLOYMENT_OUTPUTS.stagingBucket]: stagingBucket(envName),
  });

beforeAll(async () => {
  const m = moto();
  sfn = new SFNClient(m.config);
  s3 = new S3Client(m.config);
  glue = new GlueClient(m.config);
  await glue.send(
    new CreateJobCommand({
      Name: JOB,
      Role: `arn:aws:iam::${MOTO_ACCOUNT}:role/glue`,
      Command: { Name: 'glueetl', ScriptLocation: 's3://assets/txlake_job.py' },
      GlueVersion: '5.0',
    }),
  );
  for (const [envName, definition] of Object.entries(DEFINITIONS)) {
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: `txlake-${envName}-pipeline`,
        roleArn: ROLE,
        definition: JSON.stringify(definition),
      }),
    );
    machines[envName] = created.stateMachineArn!;
    await s3.send(new CreateBucketCommand({ Bucket: stagingBucket(envName) }));
    await createEnvironmentStack(m, envName);
  }
});

/** The execution the CLI started: the one `started execution <name>` line of its stderr. */
function executionOf(stderr: string): string {
  const name = /\[txlake\] started execution (cli-\S+) of /.exec(stderr)?.[1];
  expect(name).toMatch(/^cli-2024-01-16-\d{14}$/);
  return name!;
}

async function recordOf(envName: string, name: string, date: string): Promise<RunRecord> {
  const object = await s3.send(new GetObjectCommand({ Bucket: stagingBucket(envName), Key: runRecordKey(name, date) }));
  return JSON.parse(await object.Body!.transformToString()) as RunRecord;
}

/** What `--json` prints of a record. */
const summary = (r: RunRecord) => ({
  ingest_date: r.ingest_date,
  run_id: r.run_id,
  status: r.status,
  ...(r.error ? { error: r.error } : {}),
  files: r.files,
  rows: r.rows,
  reasons: r.reasons,
});

const executionArn = (envName: string, name: string): string =>
  `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:execution:txlake-${envName}-pipeline:${name}`;

/** `[txlake] <date> <state> <outcome> <seconds>s[ <error>]` of the verbose progress. */
const stateLine = (state: string, outcome = 'ok', error = '') =>
  new RegExp(
    `^\\[txlake\\] ${DATE} ${state.padEnd(16)} ${outcome.padEnd(7)} \\d+\\.\\d\\ds${error && ` ${error.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`}$`,
  );

test('an execution that succeeds: each state on stderr, the record it wrote on stdout, exit 0', async () => {
  const result = await txlake(['run', '--date', DATE, '--target', 'aws', '--env', 'dev', '--json', '--verbose']);
  expect(result.code).toBe(0);
  const name = executionOf(result.stderr);
  const record = await recordOf('dev', name, DATE);
  expect(record).toMatchObject({ ingest_date: DATE, run_id: `${DATE}_${name}`, status: 'SUCCEEDED' });
  expect(JSON.parse(result.stdout)).toEqual({ runs: [summary(record)] });

  expect(result.stderr.trimEnd().split('\n')).toEqual([
    `[txlake] started execution ${name} of txlake-dev-pipeline (dev)`,
    expect.stringMatching(stateLine('ResolveRun')),
    expect.stringMatching(stateLine('TransformRows')),
    expect.stringMatching(stateLine('RecordSucceeded')),
    expect.stringMatching(/^\[txlake\] 2024-01-16 SUCCEEDED read=40 silver=38 quarantined=1 condemned=1 \d+\.\ds$/),
    expect.stringMatching(stateLine('AllDatesDone')),
    `[txlake] execution ${name} SUCCEEDED`,
  ]);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: executionArn('dev', name) }));
  expect(execution).toMatchObject({ status: 'SUCCEEDED', input: JSON.stringify({ date: DATE }) });
  // The state machine ran moto's Glue job for the date.
  const { JobRuns: runs } = await glue.send(new GetJobRunsCommand({ JobName: JOB }));
  expect(runs?.map((r) => [r.Arguments?.['--run_id'], r.JobRunState])).toEqual([[record.run_id, 'SUCCEEDED']]);
});

test('a date that fails: recorded FAILED by the execution, printed, exit 1', async () => {
  const result = await txlake(['run', '--date', DATE, '--target', 'aws', '--env', 'staging', '--json', '--verbose']);
  expect(result.code).toBe(1);
  const name = executionOf(result.stderr);
  const record = await recordOf('staging', name, DATE);
  expect(record).toMatchObject({
    ingest_date: DATE,
    run_id: `${DATE}_${name}`,
    status: 'FAILED',
    error: 'PIPELINE_FAILED',
  });
  expect(JSON.parse(result.stdout)).toEqual({ runs: [summary(record)] });
  // The failed Glue task, then the Catch's way out of it (moto's history, as AWS's, has both).
  expect(result.stderr.trimEnd().split('\n')).toEqual([
    `[txlake] started execution ${name} of txlake-staging-pipeline (staging)`,
    expect.stringMatching(stateLine('ResolveRun')),
    expect.stringMatching(stateLine('TransformRows', 'failed', 'Glue.EntityNotFoundException')),
    expect.stringMatching(stateLine('TransformRows')),
    expect.stringMatching(stateLine('DescribeFailure')),
    expect.stringMatching(stateLine('RecordFailed')),
    expect.stringMatching(
      /^\[txlake\] 2024-01-16 FAILED PIPELINE_FAILED read=40 silver=0 quarantined=0 condemned=0 \d+\.\ds$/,
    ),
    `[txlake] execution ${name} FAILED DATE_FAILED: A date failed; the run stops at the first failed date (see its run record)`,
    `txlake: ${DATE} failed: PIPELINE_FAILED: Job txlake-missing-job not found.`,
  ]);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: executionArn('staging', name) }));
  expect(execution).toMatchObject({ status: 'FAILED', error: 'DATE_FAILED' });
});

/** The one RUNNING execution of prod's state machine, once moto lists it. */
async function runningExecution(): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { executions } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machines.prod, statusFilter: 'RUNNING' }),
    );
    if (executions?.length === 1) return executions[0].executionArn!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no running execution of txlake-prod-pipeline');
}

test('an execution stopped while it runs: a second run of the date is refused meanwhile; exit 1, one line', async () => {
  const running = txlake(['run', '--date', DATE, '--target', 'aws', '--env', 'prod', '--json']);
  const arn = await runningExecution();
  const name = arn.split(':').pop()!;

  const refused = await txlake(['run', '--date', DATE, '--target', 'aws', '--env', 'prod', '--json']);
  expect(refused).toEqual({
    code: 1,
    stdout: '',
    stderr: `txlake: another execution (${name}) is already processing ${DATE}; wait for it to end or stop it before starting this run\n`,
  });

  // (moto's StopExecution keeps no error and cause.)
  await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'OPERATOR_STOP', cause: 'stopped by hand' }));
  const result = await running;
  expect(result).toEqual({
    code: 1,
    stdout: '',
    stderr: `[txlake] started execution ${name} of txlake-prod-pipeline (prod)\ntxlake: execution ${name} ABORTED\n`,
  });
  expect(executionOf(result.stderr)).toBe(name);
});

test('an execution that fails before recording its date: exit 1, its error and cause on one line', async () => {
  const result = await txlake(['run', '--date', '2024-01-17', '--target', 'aws', '--env', 'prod', '--json']);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const name = /started execution (cli-2024-01-17-\d{14}) /.exec(result.stderr)?.[1];
  expect(result.stderr).toBe(
    `[txlake] started execution ${name} of txlake-prod-pipeline (prod)\n` +
      `txlake: execution ${name} FAILED: GLUE_JOB_FAILED: Glue job run jr_1 FAILED Traceback: boom\n`,
  );
});
