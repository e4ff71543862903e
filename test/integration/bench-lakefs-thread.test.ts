// The bench's lakeFS development server in a thread of its own (bench/lakefs-thread.ts): the
// same server over HTTP, its request counts read synchronously from shared memory (current as
// soon as a call has its answer), webhooks run and awaited, and a clean stop.
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { isMainThread } from "node:worker_threads";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLakeFsDevServerInThread, type ThreadedLakeFsServer } from "../../bench/lakefs-thread";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "thread-secret" };
const s3 = testS3Client();
let dataDir: string;
let bucket: string;
let server: ThreadedLakeFsServer;
let lakefs: LakeFsClient;

/** The server's options: its data in `dir`, objects in the test run's embedded S3. */
const optionsIn = (dir: string) => ({
  dataDir: dir,
  s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
  credentials: KEYS,
});

/** A new repository on the test bucket, its default branch main. */
async function newRepo(): Promise<string> {
  const name = uniqueName("repo");
  await lakefs.createRepository({
    name,
    storage_namespace: `s3://${bucket}/${name}`,
    default_branch: "main",
  });
  return name;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-thread-"));
  bucket = uniqueName("lakefs-thread");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startLakeFsDevServerInThread(optionsIn(dataDir));
  lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("the bench's lakeFS thread", () => {
  it("serves lakeFS and counts each call by operation, read from this thread at once", async () => {
    expect(isMainThread).toBe(true);
    server.resetStats();
    expect(server.stats()).toEqual({ requests: 0, byOperation: {} });
    const repo = await newRepo();
    await lakefs.getBranch(repo, "main");
    await lakefs.getBranch(repo, "main");
    // No wait: the counts are in shared memory before the answer leaves the thread.
    expect(server.stats()).toEqual({
      requests: 3,
      byOperation: { createRepository: 1, getBranch: 2 },
    });
    server.resetStats();
    await lakefs.getRepository(repo);
    expect(server.stats()).toEqual({ requests: 1, byOperation: { getRepository: 1 } });
  });

  it("runs a post-commit webhook; hookRuns and hooksSettled answer from the thread", async () => {
    const received: string[] = [];
    const hookServer = http.createServer((req, res) => {
      req.resume();
      // Answered late: hooksSettled must wait for it.
      req.on("end", () =>
        setTimeout(() => {
          received.push(req.url ?? "");
          res.end("ok");
        }, 300),
      );
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    const port = (hookServer.address() as AddressInfo).port;
    try {
      const repo = await newRepo();
      await lakefs.uploadObject(repo, "main", "_lakefs_actions/notify.yaml", {
        content: [
          "name: notify",
          "on:",
          "  post-commit:",
          "    branches: [main]",
          "hooks:",
          "  - id: notify",
          "    type: webhook",
          "    properties:",
          `      url: http://127.0.0.1:${port}/hook`,
        ].join("\n"),
      });
      await lakefs.commit(repo, "main", { message: "with an action" });
      await server.hooksSettled();
      expect(received).toEqual(["/hook"]);
      const runs = (await server.hookRuns()).filter((r) => r.event.repository_id === repo);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ hook: "notify", status: 200 });
      expect(runs[0]?.event.event_type).toBe("post-commit");
    } finally {
      await new Promise((r) => hookServer.close(r));
    }
  });
});

describe("stop", () => {
  it("ends the thread: the endpoint refuses connections and later questions fail", async () => {
    const stopDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-thread-stop-"));
    const other = await startLakeFsDevServerInThread(optionsIn(stopDir));
    expect((await fetch(`${other.endpoint}/_lakeport/health`)).status).toBe(200);
    await other.stop();
    await expect(fetch(`${other.endpoint}/_lakeport/health`)).rejects.toThrow();
    await expect(other.hookRuns()).rejects.toThrow(/lakeFS thread exited/);
    await rm(stopDir, { recursive: true, force: true });
  }, 60_000);
});
