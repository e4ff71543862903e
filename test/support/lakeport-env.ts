// The real Lakeport app on the embedded environment, for integration tests: the assembly the
// global setup synthesized (infra/ as `cdk synth` builds it, esbuild bundles included)
// deployed on the local cloud (Lambda runtime, Step Functions runner and endpoint,
// EventBridge router and endpoint) against the run's embedded S3 and DynamoDB, a lakeFS
// development server, and the local API server whose routes invoke the deployed API
// functions. Nothing is called in-process: requests go API -> API Lambda -> EventBridge ->
// rules -> Lambdas / state machines, as in AWS.
//
//   const env = await startLakeportEnvironment();
//   const repo = await createLakeFsRepository(env);
//   await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {...});
//   ...
//   await env.stop();
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, inject } from "vitest";
import { WEBHOOK_TOKEN_HEADER } from "../../lambdas/api/handlers/webhook";
import { createS3Client, createSfnClient } from "../../lambdas/shared/aws/clients";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { lambdaIntegration } from "../../local/api/lambda-handlers";
import { type ApiServerHandle, startApiServer } from "../../local/api/server";
import { type RestApiDefinition, restApiFromAssembly } from "../../local/apigateway/rest-api";
import type { Clock } from "../../local/clock";
import { type LocalCloudHandle, type LocalCloudOptions, startLocalCloud } from "../../local/cloud";
import type { LocalDeployment } from "../../local/cloud/deploy";
import { startDynamoDbServer } from "../../local/dynamodb/server";
import { generateLakeFsKeys } from "../../local/lakefs/local-credentials";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { lakeportActionYaml, WEBHOOK_TOKEN_ACTION_VARIABLE } from "../../local/lakeport-action";
import {
  assemblyCheckedAt,
  LOCAL_STACK_NAME,
  localLambdaEnv,
  synthesizeLakeport,
} from "../../local/lakeport-assembly";
import { S3AdminClient } from "../../local/s3/admin-client";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { startS3Server } from "../../local/s3/server";
import { TEST_REGION, uniqueName } from "./clients";
import { signedJson } from "./signed-fetch";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI_BIN = path.join(ROOT, "cli/bin.mjs");

export interface LakeportEnvironmentOptions {
  /** Use the run's global S3/DynamoDB (default) or start private ones ("own"). */
  servers?: "global" | "own";
  /** A cloud assembly; default: the one the global setup synthesized (or synthesize now). */
  assemblyDir?: string;
  stackName?: string;
  /** More environment for every deployed function (wins over the template's). */
  lambdaEnv?: Record<string, string>;
  /** Step Functions runner options; default retries 1000x faster, waits 100x faster. */
  runnerOptions?: LocalCloudOptions["runnerOptions"];
  /** Warm workers per function (default 4). */
  concurrencyPerFunction?: number;
  /** The clock scheduled rules and Scheduler schedules run on (e.g. a TestClock). */
  clock?: Clock;
  /** Fire scheduled rules and schedules on the clock (default: only when a test fires them). */
  runSchedules?: boolean;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A small JSON client of the Lakeport API (requests SigV4-signed); paths are under /api/v1. */
export interface ApiClient {
  /** Server root, e.g. http://127.0.0.1:PORT */
  endpoint: string;
  /** `${endpoint}/api/v1` */
  base: string;
  webhookToken: string;
  /** The webhook route lakeFS actions call. */
  webhookUrl: string;
  request(method: string, apiPath: string, body?: unknown): Promise<ApiResponse>;
  get(apiPath: string): Promise<ApiResponse>;
  put(apiPath: string, body: unknown): Promise<ApiResponse>;
  post(apiPath: string, body?: unknown): Promise<ApiResponse>;
  delete(apiPath: string): Promise<ApiResponse>;
  /** POSTs a lakeFS webhook event with the webhook token. */
  webhook(event: unknown, token?: string): Promise<ApiResponse>;
}

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience, callers assert the shape
  body: any;
  text: string;
}

export interface LakeportEnvironment {
  region: string;
  s3Endpoint: string;
  dynamoDbEndpoint: string;
  /** S3 client of the embedded S3 (path style, local credentials). */
  s3: S3Client;
  /** Request counters, deny rules, throttling of the embedded S3. */
  s3Admin: S3AdminClient;
  sfn: SFNClient;
  lakefs: LakeFsClient;
  lakefsServer: LakeFsDevServerHandle;
  lakefsKeys: { accessKeyId: string; secretAccessKey: string };
  api: ApiClient;
  apiServer: ApiServerHandle;
  cloud: LocalCloudHandle;
  /** runtime (injectFault, stats), runner, router, arn(logicalId), physicalId(logicalId). */
  deployment: LocalDeployment;
  /** State machine ARNs, table, buses and work bucket of the deployed stack. */
  resources: {
    tableName: string;
    eventBusName: string;
    workBucket: string;
    exportStateMachineArn: string;
    gcStateMachineArn: string;
  };
  /** Environment for a child process pointing the CLI and the AWS SDK at this environment. */
  cliEnv: Record<string, string>;
  /** Runs `lakeport ...args` (the real CLI, child process) against this environment. */
  lakeport(args: string[], opts?: { env?: Record<string, string> }): Promise<CliResult>;
  stop(): Promise<void>;
}

/**
 * The assembly of the real app: the one the global setup synthesized or checked during this
 * run, else synthesized now (cached across runs; one synthesis at a time across test files).
 */
export async function lakeportAssemblyDir(): Promise<string> {
  const dir = inject("lakeportAssemblyDir");
  const checkedAt = await assemblyCheckedAt(dir);
  if (checkedAt !== undefined && checkedAt >= inject("testRunStartedAt")) return dir;
  return (await synthesizeLakeport(dir)).assemblyDir;
}

/** Where the tests keep the app's template synthesized without bundles. */
const TEST_TEMPLATE_DIR = path.join(ROOT, "node_modules/.cache/lakeport/test-template");

/**
 * The API Gateway REST API of the app's template (what the local API server serves), for
 * tests that put in-process handlers behind it: the same app synthesized without the
 * functions' bundles (seconds, cached like the full assembly), so they need not wait for it.
 */
export async function lakeportRestApi(): Promise<RestApiDefinition> {
  return restApiFromAssembly(await lakeportTemplateDir());
}

/** The cloud assembly of the app's template without bundles (see lakeportRestApi). */
export async function lakeportTemplateDir(): Promise<string> {
  return (await synthesizeLakeport(TEST_TEMPLATE_DIR, { bundle: false })).assemblyDir;
}

/**
 * The real app synthesized with `cdk deploy` settings (LAKEPORT_* names, e.g.
 * LAKEPORT_GC_SCHEDULES), next to the run's assembly; cached across runs like it.
 */
export async function lakeportAssemblyDirWith(
  cdkSettings: Record<string, string>,
): Promise<string> {
  const key = createHash("sha256").update(JSON.stringify(cdkSettings)).digest("hex").slice(0, 12);
  const dir = `${inject("lakeportAssemblyDir")}-${key}`;
  return (await synthesizeLakeport(dir, { cdkSettings })).assemblyDir;
}

/** Logical ids (without CDK's hash) of the stack's resources the harness reports. */
const LOGICAL = {
  table: "LakeportStorageState",
  workBucket: "LakeportStorageWork",
  bus: "LakeportBus",
  exportStateMachine: "LakeportExportStateMachine",
  gcStateMachine: "LakeportGcStateMachine",
};

/** Name (ARN for a state machine) of the resource of this type and logical id (prefix). */
function resourceName(d: LocalDeployment, type: string, logicalId: string): string {
  const ofType = d.resources.filter((r) => r.type === type);
  const exact = ofType.filter(
    (r) => r.logicalId === logicalId || /^[0-9A-F]{8}$/.test(r.logicalId.slice(logicalId.length)),
  );
  const candidates = exact.filter((r) => r.logicalId.startsWith(logicalId));
  const found =
    candidates.length === 1 ? candidates[0] : ofType.length === 1 ? ofType[0] : undefined;
  if (!found) {
    throw new Error(
      `no single ${type} ${logicalId}* in the deployed stack (${ofType.map((r) => r.logicalId).join(", ")})`,
    );
  }
  return type === "AWS::StepFunctions::StateMachine" ? found.arn! : found.physicalId;
}

/**
 * The real app for the tests of one file: started (with these buckets created) before them,
 * stopped after. What it returns reads the started environment, so the file's tests use it
 * as they would the environment itself.
 */
export function useLakeportEnvironment(
  opts: { buckets?: string[] } & LakeportEnvironmentOptions = {},
): LakeportEnvironment {
  const { buckets = [], ...options } = opts;
  let started: LakeportEnvironment | undefined;
  beforeAll(async () => {
    started = await startLakeportEnvironment(options);
    for (const Bucket of buckets) await started.s3.send(new CreateBucketCommand({ Bucket }));
  }, 240_000);
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as LakeportEnvironment, {
    get(_target, key) {
      if (!started) throw new Error("the Lakeport environment is used before beforeAll started it");
      return Reflect.get(started, key);
    },
  });
}

export async function startLakeportEnvironment(
  opts: LakeportEnvironmentOptions = {},
): Promise<LakeportEnvironment> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const region = TEST_REGION;
    const tmp = await mkdtemp(path.join(os.tmpdir(), "lakeport-env-"));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    let s3Endpoint: string;
    let dynamoDbEndpoint: string;
    if (opts.servers === "own") {
      const [s3srv, ddb] = await Promise.all([
        startS3Server({ directory: path.join(tmp, "s3") }),
        startDynamoDbServer({}),
      ]);
      cleanups.push(
        () => s3srv.stop(),
        () => ddb.stop(),
      );
      s3Endpoint = s3srv.endpoint;
      dynamoDbEndpoint = ddb.endpoint;
    } else {
      s3Endpoint = inject("s3Endpoint");
      dynamoDbEndpoint = inject("dynamoDbEndpoint");
    }
    const assemblyDir = opts.assemblyDir ?? (await lakeportAssemblyDir());
    const s3 = createS3Client({ endpoint: s3Endpoint, region, credentials: LOCAL_S3_CREDENTIALS });
    cleanups.push(() => s3.destroy());

    const webhookToken = `webhook-${uniqueName("t")}`;
    const lakefsKeys = generateLakeFsKeys();
    const lakefsServer = await startLakeFsDevServer({
      dataDir: path.join(tmp, "lakefs"),
      s3: { endpoint: s3Endpoint, region, credentials: LOCAL_S3_CREDENTIALS },
      credentials: lakefsKeys,
      // lakeFS's environment: the action files reference the token, never hold it.
      actionEnv: { values: { [WEBHOOK_TOKEN_ACTION_VARIABLE]: webhookToken } },
    });
    cleanups.push(() => lakefsServer.stop());
    const lakefs = new LakeFsClient({ endpoint: lakefsServer.endpoint, credentials: lakefsKeys });

    const cloud = await startLocalCloud({
      assemblyDir,
      stackName: opts.stackName ?? LOCAL_STACK_NAME,
      s3: { endpoint: s3Endpoint, credentials: LOCAL_S3_CREDENTIALS, region },
      dynamodbEndpoint: dynamoDbEndpoint,
      region,
      lambdaEnv: {
        ...localLambdaEnv({
          lakeFsEndpoint: lakefsServer.endpoint,
          lakeFsAccessKeyId: lakefsKeys.accessKeyId,
          lakeFsSecretAccessKey: lakefsKeys.secretAccessKey,
          webhookToken,
        }),
        ...(opts.lambdaEnv ?? {}),
      },
      runnerOptions: opts.runnerOptions ?? { retryDelayScale: 0.001, waitScale: 0.01 },
      ...(opts.concurrencyPerFunction
        ? { concurrencyPerFunction: opts.concurrencyPerFunction }
        : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.runSchedules ? { runSchedules: true } : {}),
    });
    cleanups.push(() => cloud.stop());
    const deployment = cloud.deployment;

    const apiServer = await startApiServer({
      restApi: restApiFromAssembly(assemblyDir, opts.stackName ?? LOCAL_STACK_NAME),
      integration: lambdaIntegration(deployment, { log: () => undefined }),
      credentials: LOCAL_S3_CREDENTIALS,
      region,
    });
    cleanups.push(() => apiServer.stop());
    const api = apiClient(apiServer, webhookToken);

    const sfn = createSfnClient({
      endpoint: cloud.endpoints.stepfunctions,
      region,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    cleanups.push(() => sfn.destroy());

    const resources = {
      tableName: resourceName(deployment, "AWS::DynamoDB::Table", LOGICAL.table),
      eventBusName: resourceName(deployment, "AWS::Events::EventBus", LOGICAL.bus),
      workBucket: resourceName(deployment, "AWS::S3::Bucket", LOGICAL.workBucket),
      exportStateMachineArn: resourceName(
        deployment,
        "AWS::StepFunctions::StateMachine",
        LOGICAL.exportStateMachine,
      ),
      gcStateMachineArn: resourceName(
        deployment,
        "AWS::StepFunctions::StateMachine",
        LOGICAL.gcStateMachine,
      ),
    };

    const cliEnv: Record<string, string> = {
      LAKEPORT_ENDPOINT: apiServer.endpoint,
      LAKEPORT_POLL_MS: "100",
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint,
      AWS_ENDPOINT_URL_SFN: cloud.endpoints.stepfunctions,
      AWS_ENDPOINT_URL_EVENTBRIDGE: cloud.endpoints.eventbridge,
      AWS_ENDPOINT_URL_SQS: cloud.endpoints.sqs,
      LAKEPORT_S3_FORCE_PATH_STYLE: "true",
      LAKEFS_ENDPOINT: lakefsServer.endpoint,
      LAKEFS_ACCESS_KEY_ID: lakefsKeys.accessKeyId,
      LAKEFS_SECRET_ACCESS_KEY: lakefsKeys.secretAccessKey,
    };

    return {
      region,
      s3Endpoint,
      dynamoDbEndpoint,
      s3,
      s3Admin: new S3AdminClient(s3Endpoint),
      sfn,
      lakefs,
      lakefsServer,
      lakefsKeys,
      api,
      apiServer,
      cloud,
      deployment,
      resources,
      cliEnv,
      lakeport: (args, o = {}) => runCli(args, { ...cliEnv, ...(o.env ?? {}) }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs the real `lakeport` CLI (cli/bin.mjs) as a child process. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

function apiClient(server: ApiServerHandle, webhookToken: string): ApiClient {
  const base = `${server.endpoint}/api/v1`;
  const call = async (
    method: string,
    apiPath: string,
    body: unknown,
    signed: boolean,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> => {
    const r = await signedJson(`${base}${apiPath}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      credentials: server.credentials,
      region: server.region,
      unsigned: !signed,
    });
    return { status: r.status, body: r.body, text: r.text };
  };
  const client: ApiClient = {
    endpoint: server.endpoint,
    base,
    webhookToken,
    webhookUrl: `${base}/webhooks/lakefs`,
    request: (method, p, body) => call(method, p, body, true),
    get: (p) => call("GET", p, undefined, true),
    put: (p, body) => call("PUT", p, body, true),
    post: (p, body) => call("POST", p, body, true),
    delete: (p) => call("DELETE", p, undefined, true),
    // The webhook route is not IAM-authorized: lakeFS sends only the shared token.
    webhook: (event, token = webhookToken) =>
      call("POST", "/webhooks/lakefs", event, false, { [WEBHOOK_TOKEN_HEADER]: token }),
  };
  return client;
}

export interface TestRepository {
  /** lakeFS repository id. */
  id: string;
  /** Bucket of the storage namespace (in the embedded S3). */
  bucket: string;
  storageNamespace: string;
  defaultBranch: string;
  /** Commit that added `_lakefs_actions/lakeport.yaml`. */
  actionsCommit: string;
}

/**
 * A lakeFS repository on the dev server with its storage namespace in a new bucket of the
 * embedded S3 and `_lakefs_actions/lakeport.yaml` (local/lakeport-action.ts: the token as a
 * lakeFS secret reference) committed on the default branch, so every
 * later commit or merge calls the Lakeport webhook route. lakeFS runs the actions of the
 * committed tree, so the commit adding the file fires the hook too (wait for it with
 * `env.lakefsServer.hooksSettled()`).
 */
export async function createLakeFsRepository(
  env: Pick<LakeportEnvironment, "s3" | "lakefs" | "api">,
  opts: { id?: string; bucket?: string; defaultBranch?: string; webhook?: boolean } = {},
): Promise<TestRepository> {
  const id = opts.id ?? uniqueName("repo");
  const bucket = opts.bucket ?? uniqueName("lakefs-ns");
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: Error) => {
    if (e.name !== "BucketAlreadyOwnedByYou") throw e;
  });
  const storageNamespace = `s3://${bucket}/repos/${id}`;
  const defaultBranch = opts.defaultBranch ?? "main";
  await env.lakefs.createRepository({
    name: id,
    storage_namespace: storageNamespace,
    default_branch: defaultBranch,
  });
  let actionsCommit = "";
  if (opts.webhook !== false) {
    await env.lakefs.uploadObject(id, defaultBranch, "_lakefs_actions/lakeport.yaml", {
      content: lakeportActionYaml(env.api.webhookUrl),
    });
    actionsCommit = (
      await env.lakefs.commit(id, defaultBranch, { message: "Lakeport webhook action" })
    ).id;
  }
  return { id, bucket, storageNamespace, defaultBranch, actionsCommit };
}

/** Polls `probe` until it returns a value other than undefined (10 ms .. 200 ms apart). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(200, delay * 2);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`,
  );
}
