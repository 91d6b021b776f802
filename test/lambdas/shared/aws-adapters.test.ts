import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, SFNServiceException } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { sfnIsExecutionRunning } from '../../../lambdas/shared/execution-status';
import { S3ObjectStore } from '../../../lambdas/shared/object-store';

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

describe('S3ObjectStore.putIfAbsent (If-None-Match: *)', () => {
  const client = new S3Client({ region: 'eu-west-1' });
  const s3 = mockClient(client);
  beforeEach(() => s3.reset());
  afterAll(() => s3.restore());

  test('a new key is written with If-None-Match: *', async () => {
    s3.on(PutObjectCommand).resolves({});
    expect(await new S3ObjectStore(client).putIfAbsent('staging', 'lease/lake.json', '{}')).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'staging',
      Key: 'lease/lake.json',
      Body: '{}',
      IfNoneMatch: '*',
    });
  });

  test('412 PreconditionFailed: the key exists, false', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    expect(await new S3ObjectStore(client).putIfAbsent('staging', 'k', 'x')).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  test('409 ConditionalRequestConflict is retried until S3 decides', async () => {
    s3.on(PutObjectCommand)
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
      .resolves({});
    expect(await new S3ObjectStore(client).putIfAbsent('staging', 'k', 'x')).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(3);

    s3.reset();
    s3.on(PutObjectCommand)
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
      .rejects(s3Error('PreconditionFailed', 412));
    expect(await new S3ObjectStore(client).putIfAbsent('staging', 'k', 'x')).toBe(false);
  });

  test('a conflict that does not settle, or any other error, is raised', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    await expect(new S3ObjectStore(client, 3).putIfAbsent('staging', 'k', 'x')).rejects.toMatchObject({
      name: 'ConditionalRequestConflict',
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(3);
    s3.reset();
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(new S3ObjectStore(client).putIfAbsent('staging', 'k', 'x')).rejects.toMatchObject({
      name: 'AccessDenied',
    });
  });
});

describe('sfnIsExecutionRunning (DescribeExecution)', () => {
  const client = new SFNClient({ region: 'eu-west-1' });
  const sfn = mockClient(client);
  beforeEach(() => sfn.reset());
  afterAll(() => sfn.restore());
  const arn = 'arn:aws:states:eu-west-1:111122223333:execution:txlake-dev:run-1';
  const sfnError = (name: string) =>
    new SFNServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: name });

  test.each([
    ['RUNNING', true],
    ['PENDING_REDRIVE', true],
    ['SUCCEEDED', false],
    ['FAILED', false],
    ['TIMED_OUT', false],
    ['ABORTED', false],
  ] as const)('%s → running: %s', async (status, running) => {
    sfn.on(DescribeExecutionCommand).resolves({ status });
    expect(await sfnIsExecutionRunning(client)(arn)).toBe(running);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0].args[0].input).toEqual({ executionArn: arn });
  });

  test('an id naming no execution is not running; other errors are raised', async () => {
    sfn.on(DescribeExecutionCommand).rejects(sfnError('ExecutionDoesNotExist'));
    expect(await sfnIsExecutionRunning(client)(arn)).toBe(false);
    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(sfnError('InvalidArn'));
    expect(await sfnIsExecutionRunning(client)('local-xyz')).toBe(false);
    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(sfnError('ThrottlingException'));
    await expect(sfnIsExecutionRunning(client)(arn)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
