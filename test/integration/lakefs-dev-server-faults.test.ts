// The lakeFS development server's fault hook (/_lakeport/faults, handle.faults) driven over
// HTTP, and what the LakeFsClient makes of the injected failures: retried reads, a commit
// answered 500 not run twice, Retry-After honoured, latency.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { LakeFsClient, type LakeFsClientOptions } from "../../lambdas/shared/lakefs/client";
import {
  LakeFsServerError,
  LakeFsTooManyRequestsError,
  LakeFsUnauthorizedError,
} from "../../lambdas/shared/lakefs/errors";
import type { Page } from "../../lambdas/shared/lakefs/types";
import { FAULTS_PATH, type FaultRule, LakeFsFaultsClient } from "../../local/lakefs/faults";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "dev-secret" };
const s3 = testS3Client();
let dataDir: string;
let server: LakeFsDevServerHandle;
let faults: LakeFsFaultsClient;
let lakefs: LakeFsClient;
let bucket: string;
let repo: string;

/** A client with short backoff (the bound stays lakeFS client's default: 5 attempts). */
function client(extra: Partial<LakeFsClientOptions> = {}) {
  return new LakeFsClient({
    endpoint: server.endpoint,
    credentials: KEYS,
    retry: { baseDelayMs: 5 },
    ...extra,
  });
}

async function all<T>(pages: AsyncIterable<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page.results);
  return out;
}

async function postRule(body: string) {
  const res = await fetch(`${server.endpoint}${FAULTS_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: res.status, body: (await res.json()) as { message?: string } & FaultRule };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-faults-"));
  bucket = uniqueName("lakefs-faults");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  faults = new LakeFsFaultsClient(server.endpoint);
  lakefs = client();
  repo = uniqueName("repo");
  await lakefs.createRepository({ name: repo, storage_namespace: `s3://${bucket}/${repo}` });
  for (const name of ["a", "b", "c", "d", "e"]) {
    await lakefs.uploadObject(repo, "main", `data/${name}`, { content: name });
  }
  await lakefs.commit(repo, "main", { message: "five objects" });
});

afterEach(async () => {
  await faults.clear();
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("injected errors and the client's retries", () => {
  it("500 twice on listObjects: the paginated listing still succeeds, the rule fired 2 times", async () => {
    const rule = await faults.add({ operation: "listObjects", status: 500, count: 2 });
    expect(rule).toMatchObject({ status: 500, count: 2, remaining: 2, fired: 0 });
    server.resetStats();
    const attempts: number[] = [];
    const c = client({ onRequest: (i) => attempts.push(i.attempt) });

    const listed = await all(c.listObjects(repo, "main", { amount: 2 }));

    expect(listed.map((o) => o.path)).toEqual(["data/a", "data/b", "data/c", "data/d", "data/e"]);
    expect(attempts).toEqual([1, 2, 3, 1, 1]); // the first page took three attempts
    expect(await faults.list()).toEqual([{ ...rule, remaining: 0, fired: 2 }]);
    // faulted requests are counted like served ones
    expect(server.stats().byOperation.listObjects).toBe(5);
  });

  it("a persistent 500 fails after the client's bound with the rule's lakeFS message", async () => {
    await faults.add({ operation: "getBranch", status: 500, message: "kv: connection lost" });
    let attempts = 0;
    const c = client({ onRequest: () => attempts++ });

    const err = await c.getBranch(repo, "main").catch((e) => e);

    expect(err).toBeInstanceOf(LakeFsServerError);
    expect(err).toMatchObject({ status: 500, lakeFsMessage: "kv: connection lost" });
    expect(err.message).toBe("lakeFS getBranch: 500 kv: connection lost");
    expect(attempts).toBe(5);
    const [rule] = await faults.list();
    expect(rule).toMatchObject({ fired: 5, remaining: null });
  });

  it("a commit answered 500 is not retried (and was not made)", async () => {
    const before = (await lakefs.getBranch(repo, "main")).commit_id;
    await lakefs.uploadObject(repo, "main", "data/f", { content: "f" });
    await faults.add({
      route: "^POST /api/v1/repositories/[^/]+/branches/main/commits$",
      status: 500,
    });
    let attempts = 0;
    const c = client({ onRequest: () => attempts++ });

    await expect(c.commit(repo, "main", { message: "f" })).rejects.toBeInstanceOf(
      LakeFsServerError,
    );

    expect(attempts).toBe(1);
    expect((await lakefs.getBranch(repo, "main")).commit_id).toBe(before);
    await faults.clear();
    await lakefs.commit(repo, "main", { message: "f" });
  });

  it("429 with Retry-After: lakeFS's body and header, and the client waits as told", async () => {
    await faults.add({ operation: "getRepository", status: 429, count: 2, retryAfter: "1" });
    const raw = await fetch(`${server.apiUrl}/repositories/${repo}`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get("retry-after")).toBe("1");
    expect(((await raw.json()) as { message: string }).message).toMatch(/injected fault/);

    const sleeps: number[] = [];
    const c = client({
      retry: {
        baseDelayMs: 5,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    });
    expect((await c.getRepository(repo)).id).toBe(repo);
    expect(sleeps).toEqual([1000]);

    await faults.add({ operation: "getRepository", status: 429, retryAfter: "2" });
    const err = await client({ retry: { maxAttempts: 2, sleep: async () => {} } })
      .getRepository(repo)
      .catch((e) => e);
    expect(err).toBeInstanceOf(LakeFsTooManyRequestsError);
  });

  it("a latency rule delays the request, then serves it", async () => {
    await faults.add({ operation: "getBranch", latencyMs: 400, count: 1 });
    const started = performance.now();
    const branch = await lakefs.getBranch(repo, "main");
    const elapsed = performance.now() - started;

    expect(branch.id).toBe("main");
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(await faults.list()).toEqual([expect.objectContaining({ fired: 1, remaining: 0 })]);
  });

  it("latency and status together: delayed, then the fault", async () => {
    await faults.add({ operation: "statObject", latencyMs: 300, status: 503, count: 1 });
    const started = performance.now();
    const res = await fetch(`${server.apiUrl}/repositories/${repo}/refs/main/objects/stat?path=x`);
    expect(res.status).toBe(503);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe("matching", () => {
  it("a route regex matches method and path: only this repository's reads of main", async () => {
    const other = uniqueName("repo");
    await lakefs.createRepository({ name: other, storage_namespace: `s3://${bucket}/${other}` });
    await faults.add({ route: `^GET /api/v1/repositories/${repo}/branches/main$`, status: 503 });
    const once = client({ retry: { maxAttempts: 1 } });

    await expect(once.getBranch(repo, "main")).rejects.toMatchObject({ status: 503 });
    expect((await once.getBranch(other, "main")).id).toBe("main");
    expect((await once.getRepository(repo)).id).toBe(repo);
    await once.createBranch(repo, "side", "main"); // POST /branches: not matched
    expect((await once.getBranch(repo, "side")).id).toBe("side");
    expect((await faults.list())[0]!.fired).toBe(1);
  });

  it("operation and route together must both match; the first live rule applies", async () => {
    await faults.add({ operation: "getBranch", route: "/branches/side$", status: 500, count: 1 });
    await faults.add({ operation: "getBranch", status: 502, count: 1 });
    const once = client({ retry: { maxAttempts: 1 } });

    await expect(once.getBranch(repo, "main")).rejects.toMatchObject({ status: 502 });
    await expect(once.getBranch(repo, "side")).rejects.toMatchObject({ status: 500 });
    expect((await once.getBranch(repo, "side")).id).toBe("side");
    expect((await faults.list()).map((r) => [r.status, r.fired])).toEqual([
      [500, 1],
      [502, 1],
    ]);
  });

  it("the handle and HTTP see the same rules; rules are removed one by one or all", async () => {
    const viaHandle = server.faults.add({ operation: "listTags", status: 500 });
    const viaHttp = await faults.add({ route: "tags", latencyMs: 1 });
    expect((await faults.list()).map((r) => r.id)).toEqual([viaHandle.id, viaHttp.id]);
    expect(server.faults.list().map((r) => r.id)).toEqual([viaHandle.id, viaHttp.id]);

    await faults.remove(viaHandle.id);
    expect(server.faults.list().map((r) => r.id)).toEqual([viaHttp.id]);
    await expect(faults.remove(viaHandle.id)).rejects.toThrow(/404 fault rule not found/);
    server.faults.clear();
    expect(await faults.list()).toEqual([]);
  });
});

describe("rule validation", () => {
  it.each([
    ['{"status": 700}', "status: must be an integer from 400 to 599"],
    ['{"status": "500"}', "status: must be an integer from 400 to 599"],
    ['{"status": 500, "count": 0}', "count: must be a positive integer"],
    [
      '{"status": 500, "operation": "listObjectz"}',
      'operation: unknown lakeFS operation "listObjectz"',
    ],
    ['{"status": 500, "route": "("}', "route: not a valid regular expression"],
    ['{"latencyMs": -1}', "latencyMs: must be an integer from 0 to 600000"],
    ["{}", "status: a rule needs status, latencyMs or both"],
    ['{"status": 500, "operationId": "commit"}', "operationId: unknown field"],
    ['{"latencyMs": 10, "retryAfter": "1"}', "retryAfter: needs status"],
    ['{"status": 500, "retryAfter": ""}', "retryAfter: must be seconds or an HTTP date"],
    ['{"status": 500, "message": 1}', "message: must be a string"],
    ["[1]", "request body: must be a JSON object"],
    ["{not json", "request body: invalid JSON"],
  ])("POST %s -> 400 naming the field", async (body, message) => {
    const res = await postRule(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(message);
    expect(await faults.list()).toEqual([]);
  });

  it("the handle rejects the same rules with the same message", () => {
    expect(() => server.faults.add({ status: 200 })).toThrow(
      "status: must be an integer from 400 to 599",
    );
  });

  it("only GET, POST and DELETE are served", async () => {
    const res = await fetch(`${server.endpoint}${FAULTS_PATH}`, { method: "PUT" });
    expect(res.status).toBe(405);
  });

  it("a numeric retryAfter is kept as the header's seconds", async () => {
    const res = await postRule('{"status": 503, "retryAfter": 3, "count": 1}');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ retryAfter: "3", remaining: 1, fired: 0 });
    await expect(client({ retry: { maxAttempts: 1 } }).getRepository(repo)).rejects.toBeInstanceOf(
      LakeFsServerError,
    );
  });

  it("faults apply to lakeFS API calls only, also unauthenticated ones", async () => {
    await faults.add({ status: 500 });
    expect((await fetch(`${server.endpoint}/_lakeport/health`)).status).toBe(200);
    expect((await fetch(`${server.apiUrl}/repositories`)).status).toBe(500);
    await faults.clear();
    expect((await fetch(`${server.apiUrl}/repositories`)).status).toBe(401);
    await expect(
      new LakeFsClient({
        endpoint: server.endpoint,
        credentials: { accessKeyId: "x", secretAccessKey: "y" },
      }).getRepository(repo),
    ).rejects.toBeInstanceOf(LakeFsUnauthorizedError);
  });
});
