// `npm run local` end to end: the real entry point (local/main.ts) as a child process on free
// ports. Each endpoint in endpoints.json answers a real SDK request; SIGINT/SIGTERM stop every
// child (no DynamoDB Local java left), a crash (SIGKILL) does not orphan java either; data
// survives a restart and --fresh wipes it.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateBucketCommand,
  GetObjectCommand,
  NoSuchBucket,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { ListStateMachinesCommand } from "@aws-sdk/client-sfn";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  createDynamoDbClient,
  createEventBridgeClient,
  createS3Client,
  createSfnClient,
} from "../../lambdas/shared/aws/clients";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import type { Endpoints } from "../../local/endpoints";
import { lakeportAssemblyDir } from "../support/lakeport-env";
import { signedFetch } from "../support/signed-fetch";

const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
let portBase: number;
let assemblyDir: string;
const children: ChildProcess[] = [];

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const free = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free block of 7 ports");
}

/** The java processes of DynamoDB Local serving `port` (and their watchdogs), from /proc. */
async function processesForPort(port: number): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    const args = cmd.split("\0");
    if (args.some((a) => a.endsWith("DynamoDBLocal.jar")) && args.includes(String(port))) {
      found.push(`${pid}: ${args.join(" ")}`);
    }
  }
  return found;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Started {
  child: ChildProcess;
  endpoints: Endpoints;
  output: () => string;
}

async function startLocal(...extra: string[]): Promise<Started> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "local/main.ts", "--dir", dir, "--port-base", String(portBase), ...extra],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      // The app this test run synthesized (no second synthesis into the temp dir).
      env: { ...process.env, LAKEPORT_S3_PORT: "", LAKEPORT_LOCAL_ASSEMBLY: assemblyDir },
    },
  );
  children.push(child);
  let out = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    out += String(d);
  });
  const endpoints = await waitFor("endpoints.json", async () => {
    if (child.exitCode !== null) throw new Error(`npm run local exited early:\n${out}`);
    const text = await readFile(path.join(dir, "endpoints.json"), "utf8").catch(() => undefined);
    return text && out.includes("is up") ? (JSON.parse(text) as Endpoints) : undefined;
  });
  return { child, endpoints, output: () => out };
}

async function stopWith(s: Started, signal: NodeJS.Signals): Promise<number | null> {
  const exited = once(s.child, "exit");
  s.child.kill(signal);
  const [code] = await exited;
  return code as number | null;
}

function clients(e: Endpoints) {
  const opts = {
    region: e.region,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
  };
  return {
    s3: createS3Client({ ...opts, endpoint: e.s3 }),
    ddb: createDynamoDbClient({ ...opts, endpoint: e.dynamodb }),
  };
}

/** lakeFS, Step Functions, EventBridge and the API (with both tokens) answer real requests. */
async function expectEveryEndpointAnswers(e: Endpoints) {
  const lakefs = new LakeFsClient({
    endpoint: e.lakefs!,
    credentials: { accessKeyId: e.lakefsAccessKeyId!, secretAccessKey: e.lakefsSecretAccessKey! },
  });
  const repos: unknown[] = [];
  for await (const page of lakefs.listRepositories()) repos.push(...page.results);
  expect(Array.isArray(repos)).toBe(true);

  const opts = {
    region: e.region,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
  };
  const sfn = createSfnClient({ ...opts, endpoint: e.stepfunctions! });
  const machines = await sfn.send(new ListStateMachinesCommand({}));
  // The deployed app: the export and GC workflows at least.
  expect(machines.stateMachines?.map((m) => m.name).join(" ")).toMatch(/Export.*Gc|Gc.*Export/);
  sfn.destroy();

  const events = createEventBridgeClient({ ...opts, endpoint: e.eventbridge! });
  const put = await events.send(
    new PutEventsCommand({
      Entries: [{ Source: "local.test", DetailType: "ping", Detail: "{}" }],
    }),
  );
  expect(put.FailedEntryCount).toBe(0);
  events.destroy();

  // SQS: the deployed app's dead-letter queue.
  const sqs = new SQSClient({ ...opts, endpoint: e.sqs! });
  const queues = await sqs.send(new ListQueuesCommand({}));
  expect(queues.QueueUrls?.join(" ")).toMatch(new RegExp(`^${e.sqs}/\\d{12}/\\S*DeadLetters`));
  sqs.destroy();

  // The API: the template's API Gateway wants SigV4 signatures made with the credentials
  // of endpoints.json, and the deployed functions answer.
  const base = `${e.api}/api/v1`;
  const denied = await fetch(`${base}/repositories/nope/settings/gc_rules`);
  expect(denied.status).toBe(403);
  expect(await denied.json()).toEqual({ message: "Missing Authentication Token" });
  const meta = await signedFetch(`${base}/openapi.json`, {
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    region: e.region,
  });
  expect(meta.status).toBe(200);
  expect(((await meta.json()) as { openapi?: string }).openapi).toMatch(/^3\./);
  // The webhook token is the deployed webhook function's: a right token with a bad body is a
  // 400 about the body, a wrong one a 403.
  const hook = (token: string) =>
    fetch(`${base}/webhooks/lakefs`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-lakeport-token": token },
      body: JSON.stringify({ event_type: "nope" }),
    });
  expect((await hook("wrong")).status).toBe(403);
  expect((await hook(e.webhookToken!)).status).toBe(400);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-local-"));
  portBase = await freePortBase();
  assemblyDir = await lakeportAssemblyDir();
}, 240_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

test("npm run local: endpoints answer, data persists across restarts, --fresh wipes, nothing is left behind", async () => {
  // 1. First start: every endpoint in endpoints.json answers a real SDK request.
  const first = await startLocal();
  const e = first.endpoints;
  expect(e).toMatchObject({
    region: "us-east-1",
    s3: `http://127.0.0.1:${portBase}`,
    dynamodb: `http://127.0.0.1:${portBase + 1}`,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  });
  expect(first.output()).toContain(path.join(dir, "endpoints.json"));
  const { s3, ddb } = clients(e);
  await s3.send(new CreateBucketCommand({ Bucket: "persisted" }));
  await s3.send(new PutObjectCommand({ Bucket: "persisted", Key: "a/b.txt", Body: "kept" }));
  await ddb.send(
    new CreateTableCommand({
      TableName: "persisted",
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    }),
  );
  await ddb.send(
    new PutItemCommand({ TableName: "persisted", Item: { pk: { S: "k" }, v: { S: "kept" } } }),
  );
  expect(await processesForPort(portBase + 1)).toHaveLength(1);
  // Every other endpoint answers a real request of its own protocol.
  await expectEveryEndpointAnswers(e);
  expect(Object.keys(e).sort()).toEqual(
    [
      "region",
      "accessKeyId",
      "secretAccessKey",
      "s3",
      "dynamodb",
      "lakefs",
      "lakefsAccessKeyId",
      "lakefsSecretAccessKey",
      "stepfunctions",
      "eventbridge",
      "sqs",
      "api",
      "webhookToken",
    ].sort(),
  );

  // 2. SIGINT: clean exit, no java left, endpoints.json removed.
  expect(await stopWith(first, "SIGINT")).toBe(0);
  expect(await processesForPort(portBase + 1)).toEqual([]);
  await expect(readFile(path.join(dir, "endpoints.json"))).rejects.toThrow();

  // 3. Restart on the same directory: the data is still there.
  const second = await startLocal();
  const c2 = clients(second.endpoints);
  const got = await c2.s3.send(new GetObjectCommand({ Bucket: "persisted", Key: "a/b.txt" }));
  expect(await got.Body?.transformToString()).toBe("kept");
  const item = await c2.ddb.send(
    new GetItemCommand({ TableName: "persisted", Key: { pk: { S: "k" } } }),
  );
  expect(item.Item?.v).toEqual({ S: "kept" });

  // 4. A crash (SIGKILL: no handler runs) must not orphan the java child.
  const [javaPid] = await processesForPort(portBase + 1);
  expect(javaPid).toBeDefined();
  await stopWith(second, "SIGKILL");
  await waitFor(
    "java to be gone after a crash",
    async () => ((await processesForPort(portBase + 1)).length === 0 ? true : undefined),
    10_000,
  );

  // 5. --fresh wipes everything; SIGTERM stops cleanly too.
  const third = await startLocal("--fresh");
  const c3 = clients(third.endpoints);
  await expect(
    c3.s3.send(new GetObjectCommand({ Bucket: "persisted", Key: "a/b.txt" })),
  ).rejects.toBeInstanceOf(NoSuchBucket);
  await expect(
    c3.ddb.send(new GetItemCommand({ TableName: "persisted", Key: { pk: { S: "k" } } })),
  ).rejects.toBeInstanceOf(ResourceNotFoundException);
  expect(await stopWith(third, "SIGTERM")).toBe(0);
  expect(await processesForPort(portBase + 1)).toEqual([]);
});

test("bad flags are refused with a message naming the flag", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "local/main.ts", "--s3-port", "nope"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  const [code] = await once(child, "exit");
  expect(code).not.toBe(0);
  expect(err).toContain("--s3-port must be a port number");
});
