// The one place where AWS SDK clients are configured. Endpoints come from the SDK's own
// service-specific variables (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, ...), so product
// code never knows whether it talks to AWS or to the embedded environment. The only setting
// the embedded S3 server needs beyond that is path-style addressing. Calls are traced (X-Ray
// subsegments) where tracing is on (see ../tracing.ts).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient } from "@aws-sdk/client-sfn";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { registerCopyTransport } from "../s3-copy/copy-transport";
import { tracedClient } from "../tracing";

export interface ClientOptions {
  /** Override the endpoint (tests and local tools); otherwise the SDK's environment is used. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Sockets kept open per client; copy and delete fan-outs need more than the default 50. */
  maxSockets?: number;
  /** DynamoDB only: ms to connect, and for a request and its answer (tests shorten them). */
  dynamoDbTimeouts?: { connectionMs: number; requestMs: number };
  /** S3 only: ms to connect, and for a request until its answer begins (tests shorten them). */
  s3Timeouts?: { connectionMs: number; requestMs: number };
}

/**
 * A DynamoDB call that hangs (a connection dropped on the way) fails after these and is sent
 * again by the SDK, instead of holding its function until the function's own timeout: calls
 * answer in milliseconds, transactions of 100 items in well under a second.
 */
export const DYNAMODB_TIMEOUTS = { connectionMs: 3_000, requestMs: 10_000 };

/**
 * An S3 request whose answer never begins (a connection dropped on the way: nothing tells the
 * client) fails after these and is sent again by the SDK; without them it waited until its
 * function's timeout, and a sweep stopped so lost its deleted-objects log. The request limit
 * counts until the answer's headers, which a CopyObject of up to 5 GiB (the largest not split
 * into parts) may only send once it copied: minutes, not the seconds of DynamoDB.
 */
export const S3_TIMEOUTS = { connectionMs: 3_000, requestMs: 300_000 };

const forcePathStyle = () => process.env.LAKEPORT_S3_FORCE_PATH_STYLE === "true";

function common(opts: ClientOptions) {
  return {
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    // Retries are done by Lakeport itself where it matters (backoff with jitter); the SDK's
    // standard mode with a few attempts covers transient errors elsewhere.
    maxAttempts: 4,
    // Never cacheMiddleware: it saved some 85 us of CPU per CopyObject here, but the calls of a
    // command type then share one handler context, and of 30 PutObject calls in flight to three
    // buckets every one landed in the last (path-style addressing; SDK 3.1169). Tested in
    // test/integration/s3-client-concurrent-buckets.test.ts.
  };
}

export function createS3Client(opts: ClientOptions = {}): S3Client {
  const timeouts = opts.s3Timeouts ?? S3_TIMEOUTS;
  const maxSockets = opts.maxSockets ?? 128;
  const config: S3ClientConfig = {
    ...common(opts),
    forcePathStyle: opts.endpoint !== undefined || forcePathStyle(),
    // Checksums only where S3 requires them: the embedded server (and some S3-compatible
    // stores) reject the newer default CRC32 trailers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new NodeHttpHandler({
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      // Without it the SDK only logs a request past its timeout and goes on waiting.
      throwOnRequestTimeout: true,
    }),
  };
  const client = tracedClient(new S3Client(config));
  // Copies, sent by the thousand, go on the wire with the same limits but without the
  // handler's per-request work (s3-copy/copy-transport.ts).
  registerCopyTransport(client, {
    maxSockets,
    connectionMs: timeouts.connectionMs,
    requestMs: timeouts.requestMs,
  });
  return client;
}

export function createDynamoDbClient(opts: ClientOptions = {}): DynamoDBClient {
  const timeouts = opts.dynamoDbTimeouts ?? DYNAMODB_TIMEOUTS;
  return tracedClient(
    new DynamoDBClient({
      ...common(opts),
      requestHandler: new NodeHttpHandler({
        connectionTimeout: timeouts.connectionMs,
        requestTimeout: timeouts.requestMs,
        // Without it the SDK only logs a request past its timeout and goes on waiting.
        throwOnRequestTimeout: true,
      }),
    }),
  );
}

export function createSfnClient(opts: ClientOptions = {}): SFNClient {
  return tracedClient(new SFNClient(common(opts)));
}

export function createSecretsManagerClient(opts: ClientOptions = {}): SecretsManagerClient {
  return tracedClient(new SecretsManagerClient(common(opts)));
}

// Added by the API work: the webhook receiver publishes to EventBridge.
export function createEventBridgeClient(opts: ClientOptions = {}): EventBridgeClient {
  return tracedClient(new EventBridgeClient(common(opts)));
}
