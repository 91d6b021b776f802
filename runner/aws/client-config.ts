/**
 * The configuration of every AWS SDK client the aws target creates (CloudFormation, S3, Step
 * Functions, Athena, Glue), and how often `run`/`backfill` poll an execution, read from the
 * environment in this one place.
 */

/** An endpoint every client of the aws target sends its requests to (an AWS API emulator), instead of AWS. */
export const AWS_ENDPOINT_VARIABLE = 'TXLAKE_AWS_ENDPOINT';

/** What `new XxxClient(config)` takes; `forcePathStyle` is S3's (other clients ignore it). */
export interface AwsClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * The client configuration of the aws target: the environment's region (cdk.json) and the SDK's
 * usual credential chain; with `TXLAKE_AWS_ENDPOINT=http://host:port` (moto's server, LocalStack),
 * every client sends its requests there instead, path-style for S3, with the region of
 * cdk.json, `AWS_REGION` or us-east-1 and the credentials of `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
 * or static test credentials.
 */
export function awsClientConfig(env: Readonly<Record<string, string | undefined>>, region?: string): AwsClientConfig {
  const endpoint = env[AWS_ENDPOINT_VARIABLE]?.trim();
  if (!endpoint) return region ? { region } : {};
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`${AWS_ENDPOINT_VARIABLE}="${endpoint}" is not a URL (e.g. http://127.0.0.1:5000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${AWS_ENDPOINT_VARIABLE}="${endpoint}" is not an http(s) URL`);
  }
  return {
    region: region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'testing',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'testing',
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
  };
}

/** The wait between two polls of a running execution, in milliseconds (an emulator's fast runs); AWS: 5 s. */
export const AWS_POLL_VARIABLE = 'TXLAKE_AWS_POLL_MS';

/** `TXLAKE_AWS_POLL_MS` as a whole number of milliseconds (1 to 60000); undefined when unset. */
export function awsPollIntervalMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const text = env[AWS_POLL_VARIABLE]?.trim();
  if (!text) return undefined;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > 60_000) {
    throw new Error(`${AWS_POLL_VARIABLE}="${text}" is not a whole number of milliseconds from 1 to 60000`);
  }
  return ms;
}
