// The environment a benchmark runs in: the embedded S3 (with its admin counters), DynamoDB
// Local, the lakeFS development server (with its request stats), the real Lakeport app
// synthesized (cached) and deployed on the local cloud, and the API server (the template's
// API Gateway, SigV4-signed requests) with the real handlers pointed at the deployed table,
// bus and state machines. Everything in one process, as `npm run local` runs it, but for the
// lakeFS server, which runs in a thread of its own (bench/lakefs-thread.ts: in one thread
// with the embedded S3 it took time from the S3 server the ceiling is measured on); all of it
// stops with stop().
import { statfsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { signApiRequest } from "../cli/sigv4";
import { createS3Client } from "../lambdas/shared/aws/clients";
import { LakeFsClient } from "../lambdas/shared/lakefs/client";
import { type ApiServerHandle, startApiServer } from "../local/api/server";
import { restApiFromAssembly } from "../local/apigateway/rest-api";
import { type LocalCloudHandle, startLocalCloud } from "../local/cloud";
import { type DynamoDbServerHandle, startDynamoDbServer } from "../local/dynamodb/server";
import { WEBHOOK_TOKEN_ACTION_VARIABLE } from "../local/lakeport-action";
import { synthesizeLakeport } from "../local/lakeport-assembly";
import { LOCAL_S3_CREDENTIALS, type S3ServerHandle, startS3Server } from "../local/s3/server";
import { startLakeFsDevServerInThread, type ThreadedLakeFsServer } from "./lakefs-thread";

export const BENCH_REGION = "us-east-1";
export const LAKEFS_KEYS = { accessKeyId: "AKIAIOSFODNN7BENCH01", secretAccessKey: "bench-secret" };
const WEBHOOK_TOKEN = "bench-webhook-token";

export interface BenchEnv {
  dir: string;
  assemblyDir: string;
  stackName: string;
  s3Server: S3ServerHandle;
  s3: S3Client;
  lakefsServer: ThreadedLakeFsServer;
  lakefs: LakeFsClient;
  cloud: LocalCloudHandle;
  api: ApiServerHandle;
  webhookToken: string;
  workBucket: string;
  stop(): Promise<void>;
}

export interface BenchEnvOptions {
  /** Where the synthesized assembly is cached between runs. */
  assemblyCacheDir: string;
  storageBuckets: string[];
  exportBuckets: string[];
  log: (m: string) => void;
  /** Where the embedded S3 keeps its files (a fresh directory is made inside). */
  dataRoot: string;
  /** Warm local workers per Lambda function (the local runtime's default is 4). */
  lambdaConcurrency?: number;
  /** An assembly synthesized already (the test run's): no synthesis into assemblyCacheDir. */
  assembly?: { assemblyDir: string; stackName: string };
}

/**
 * The embedded S3 stores every object as files; on a disk, writeback stalls make its speed
 * swing by 2x within a run. A memory file system (tmpfs) keeps it CPU-bound, so the export and
 * the ceiling it is compared with see the same server.
 */
export function defaultDataRoot(): string {
  const fromEnv = process.env.LAKEPORT_BENCH_DATA_DIR;
  if (fromEnv) return fromEnv;
  try {
    if (statSync("/dev/shm").isDirectory() && statfsSync("/dev/shm").bavail > 0) return "/dev/shm";
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

export async function startBenchEnv(opts: BenchEnvOptions): Promise<BenchEnv> {
  await mkdir(opts.dataRoot, { recursive: true });
  const dir = await mkdtemp(path.join(opts.dataRoot, "lakeport-bench-"));
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const synth = opts.assembly
      ? Promise.resolve(opts.assembly)
      : synthesizeLakeport(
          opts.assemblyCacheDir,
          { storageBuckets: opts.storageBuckets, exportBuckets: opts.exportBuckets },
          { log: opts.log },
        );
    const s3Server = await startS3Server({ directory: path.join(dir, "s3") });
    stops.push(() => s3Server.stop());
    const ddb: DynamoDbServerHandle = await startDynamoDbServer({});
    stops.push(() => ddb.stop());
    const s3 = createS3Client({
      endpoint: s3Server.endpoint,
      region: BENCH_REGION,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    const lakefsServer = await startLakeFsDevServerInThread({
      dataDir: path.join(dir, "lakefs"),
      s3: { endpoint: s3Server.endpoint, region: BENCH_REGION, credentials: LOCAL_S3_CREDENTIALS },
      credentials: LAKEFS_KEYS,
      // lakeFS's environment: the action file references the webhook token.
      actionEnv: { values: { [WEBHOOK_TOKEN_ACTION_VARIABLE]: WEBHOOK_TOKEN } },
    });
    stops.push(() => lakefsServer.stop());
    const lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: LAKEFS_KEYS });
    const { assemblyDir, stackName } = await synth;
    const cloud = await startLocalCloud({
      assemblyDir,
      stackName,
      s3: { endpoint: s3Server.endpoint, credentials: LOCAL_S3_CREDENTIALS, region: BENCH_REGION },
      dynamodbEndpoint: ddb.endpoint,
      ...(opts.lambdaConcurrency ? { concurrencyPerFunction: opts.lambdaConcurrency } : {}),
      lambdaEnv: {
        LAKEFS_ENDPOINT: lakefsServer.endpoint,
        LAKEFS_ACCESS_KEY_ID: LAKEFS_KEYS.accessKeyId,
        LAKEFS_SECRET_ACCESS_KEY: LAKEFS_KEYS.secretAccessKey,
        WEBHOOK_TOKEN,
      },
    });
    stops.push(() => cloud.stop());
    const d = cloud.deployment;
    const api = await startApiServer({
      restApi: restApiFromAssembly(assemblyDir, stackName),
      credentials: LOCAL_S3_CREDENTIALS,
      region: BENCH_REGION,
      env: {
        TABLE_NAME: d.physicalId("LakeportStorageState"),
        EVENT_BUS_NAME: d.physicalId("LakeportBus"),
        EXPORT_STATE_MACHINE_ARN: d.arn("LakeportExportStateMachine"),
        GC_STATE_MACHINE_ARN: d.arn("LakeportGcStateMachine"),
        WEBHOOK_TOKEN,
        AWS_REGION: BENCH_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_S3: s3Server.endpoint,
        LAKEPORT_S3_FORCE_PATH_STYLE: "true",
        AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
        AWS_ENDPOINT_URL_SFN: cloud.endpoints.stepfunctions,
        AWS_ENDPOINT_URL_EVENTBRIDGE: cloud.endpoints.eventbridge,
        LAKEFS_ENDPOINT: lakefsServer.endpoint,
        LAKEFS_ACCESS_KEY_ID: LAKEFS_KEYS.accessKeyId,
        LAKEFS_SECRET_ACCESS_KEY: LAKEFS_KEYS.secretAccessKey,
      },
    });
    stops.push(() => api.stop());
    return {
      dir,
      assemblyDir,
      stackName,
      s3Server,
      s3,
      lakefsServer,
      lakefs,
      cloud,
      api,
      webhookToken: WEBHOOK_TOKEN,
      workBucket: d.physicalId("LakeportStorageWork"),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Calls the Lakeport API (SigV4-signed), JSON in and out; throws on non-2xx with the body. */
export async function apiCall<T = Record<string, unknown>>(
  env: BenchEnv,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const url = new URL(`${env.api.endpoint}/api/v1${route}`);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = await signApiRequest({
    method,
    url,
    headers: text === undefined ? {} : { "content-type": "application/json" },
    ...(text === undefined ? {} : { body: text }),
    credentials: env.api.credentials,
    region: env.api.region,
  });
  const res = await fetch(url, { method, headers, ...(text === undefined ? {} : { body: text }) });
  const answer = await res.text();
  const json = (answer ? JSON.parse(answer) : undefined) as T;
  if (res.status >= 300) {
    throw new Error(`${method} ${route} answered ${res.status}: ${answer.slice(0, 500)}`);
  }
  return { status: res.status, json };
}
