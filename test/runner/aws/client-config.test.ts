import {
  AWS_ENDPOINT_VARIABLE,
  AWS_POLL_VARIABLE,
  awsClientConfig,
  awsPollIntervalMs,
} from '../../../runner/aws/client-config';

describe('awsClientConfig: every client of the aws target, from the environment', () => {
  test('without TXLAKE_AWS_ENDPOINT: the region of cdk.json and the SDK’s own credential chain', () => {
    expect(AWS_ENDPOINT_VARIABLE).toBe('TXLAKE_AWS_ENDPOINT');
    expect(awsClientConfig({}, 'eu-west-1')).toEqual({ region: 'eu-west-1' });
    expect(awsClientConfig({ AWS_ACCESS_KEY_ID: 'k' })).toEqual({});
  });

  test('with it: that endpoint, path-style, a region and credentials in any case', () => {
    expect(awsClientConfig({ TXLAKE_AWS_ENDPOINT: 'http://127.0.0.1:5000' })).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:5000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    expect(
      awsClientConfig(
        {
          TXLAKE_AWS_ENDPOINT: 'https://emulator:4566',
          AWS_REGION: 'eu-central-1',
          AWS_ACCESS_KEY_ID: 'a',
          AWS_SECRET_ACCESS_KEY: 'b',
        },
        'eu-west-1',
      ),
    ).toMatchObject({
      region: 'eu-west-1',
      endpoint: 'https://emulator:4566',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
  });

  test('an endpoint that is not an http(s) URL is refused', () => {
    expect(() => awsClientConfig({ TXLAKE_AWS_ENDPOINT: 'localhost:5000' })).toThrow(
      /TXLAKE_AWS_ENDPOINT="localhost:5000" is not/,
    );
    expect(() => awsClientConfig({ TXLAKE_AWS_ENDPOINT: 'nope' })).toThrow(/is not a URL/);
  });
});

describe('awsPollIntervalMs: the wait between two polls of a running execution', () => {
  test('unset: the runner’s default; set: whole milliseconds from 1 to 60000', () => {
    expect(AWS_POLL_VARIABLE).toBe('TXLAKE_AWS_POLL_MS');
    expect(awsPollIntervalMs({})).toBeUndefined();
    expect(awsPollIntervalMs({ TXLAKE_AWS_POLL_MS: ' ' })).toBeUndefined();
    expect(awsPollIntervalMs({ TXLAKE_AWS_POLL_MS: '50' })).toBe(50);
    expect(awsPollIntervalMs({ TXLAKE_AWS_POLL_MS: '60000' })).toBe(60000);
    for (const bad of ['0', '1.5', '-5', '5s', '60001']) {
      expect(() => awsPollIntervalMs({ TXLAKE_AWS_POLL_MS: bad })).toThrow(
        `TXLAKE_AWS_POLL_MS="${bad}" is not a whole number of milliseconds from 1 to 60000`,
      );
    }
  });
});
