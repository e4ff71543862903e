// Revert, cherry-pick, hard reset and relinking an old physical address on the lakeFS development server,
// driven through the LakeFsClient over HTTP, with lakeFS's status codes and messages.
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import {
  LakeFsConflictError,
  LakeFsForbiddenError,
  LakeFsNotFoundError,
  LakeFsValidationError,
} from "../../lambdas/shared/lakefs/errors";
import type { Page } from "../../lambdas/shared/lakefs/types";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "dev-secret" };
const s3 = testS3Client();
let dataDir: string;
let server: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let bucket: string;

const startServer = () =>
  startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });

async function all<T>(pages: AsyncIterable<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page.results);
  return out;
}

async function newRepo(readOnly = false) {
  const name = uniqueName("repo");
  await lakefs.createRepository({
    name,
    storage_namespace: `s3://${bucket}/${name}`,
    ...(readOnly ? { read_only: true } : {}),
  });
  return name;
}

async function upload(repo: string, branch: string, objectPath: string, body: string) {
  return lakefs.uploadObject(repo, branch, objectPath, { content: body });
}

const head = async (repo: string, branch = "main") =>
  (await lakefs.getBranch(repo, branch)).commit_id;
const paths = async (repo: string, ref: string) =>
  (await all(lakefs.listObjects(repo, ref))).map((o) => o.path);

/** The raw answer of the revert route, for bodies the typed client would never send. */
const rawRevert = (repo: string, body: unknown) => rawPost(repo, "revert", body);

/** The raw answer of a route of main (Lakeport's client has no cherry-pick: it never makes one). */
async function rawPost(repo: string, route: "revert" | "cherry-pick", body: unknown) {
  const res = await fetch(`${server.apiUrl}/repositories/${repo}/branches/main/${route}`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${KEYS.accessKeyId}:${KEYS.secretAccessKey}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      message: string;
      id?: string;
      metadata?: Record<string, string>;
    },
  };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-revert-"));
  bucket = uniqueName("lakefs-revert");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startServer();
  lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("revert", () => {
  it("reverting a delete brings the object back at its old physical address, in a new commit on the old head", async () => {
    const repo = await newRepo();
    const before = await upload(repo, "main", "data/a.csv", "a,1");
    await upload(repo, "main", "data/b.csv", "b,1");
    await lakefs.commit(repo, "main", { message: "add" });
    await lakefs.deleteObject(repo, "main", "data/a.csv");
    const deletion = await lakefs.commit(repo, "main", { message: "delete a" });
    await expect(lakefs.statObject(repo, "main", "data/a.csv")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );

    await lakefs.revertBranch(repo, "main", { ref: deletion.id });

    const revertId = await head(repo);
    expect(revertId).not.toBe(deletion.id);
    const revert = await lakefs.getCommit(repo, revertId);
    expect(revert.parents).toEqual([deletion.id]);
    expect(revert.message).toBe(`Revert ${deletion.id}`);
    const back = await lakefs.statObject(repo, revertId, "data/a.csv");
    expect(back.physical_address).toBe(before.physical_address);
    expect(back.checksum).toBe(before.checksum);
    expect(
      new TextDecoder().decode((await lakefs.getObject(repo, "main", "data/a.csv")).body),
    ).toBe("a,1");
    expect(await paths(repo, "main")).toEqual(["data/a.csv", "data/b.csv"]);
    const log = await lakefs.logCommitsPage(repo, "main", { amount: 2 });
    expect(log.results.map((c) => c.id)).toEqual([revertId, deletion.id]);
  });

  it("takes the ref as any ref expression and applies commit overrides", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "x", "1");
    await lakefs.commit(repo, "main", { message: "x" });
    await lakefs.revertBranch(repo, "main", {
      ref: "main",
      commitOverrides: { message: "undo x", metadata: { reason: "test" } },
    });
    const revert = await lakefs.getCommit(repo, await head(repo));
    expect(revert).toMatchObject({ message: "undo x", metadata: { reason: "test" } });
    expect(await paths(repo, "main")).toEqual([]);
  });

  it("a merge commit needs parent_number: 409 with lakeFS's message, 400 when the field is missing; parent 1 undoes the merged side, parent 2 the other", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "base", "0");
    await lakefs.commit(repo, "main", { message: "base" });
    await lakefs.createBranch(repo, "feature", "main");
    await upload(repo, "feature", "feature-file", "f");
    await lakefs.commit(repo, "feature", { message: "feature" });
    await upload(repo, "main", "main-file", "m");
    await lakefs.commit(repo, "main", { message: "main" });
    const mergeId = await lakefs.merge(repo, "feature", "main");

    const noParent = lakefs.revertBranch(repo, "main", { ref: mergeId });
    await expect(noParent).rejects.toBeInstanceOf(LakeFsConflictError);
    await expect(noParent).rejects.toMatchObject({
      status: 409,
      lakeFsMessage: "must specify 1-based parent number for reverting merge commit",
    });
    const missing = await rawRevert(repo, { ref: mergeId });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('property "parent_number" is missing');
    const outOfRange = lakefs.revertBranch(repo, "main", { ref: mergeId, parentNumber: 3 });
    await expect(outOfRange).rejects.toMatchObject({
      status: 400,
      lakeFsMessage: "given commit does not have the given parent number: parent 3",
    });
    expect(await head(repo)).toBe(mergeId);

    // against parent 1 (main) the merge's changes go; against parent 2 (feature), main's
    await lakefs.revertBranch(repo, "main", { ref: mergeId, parentNumber: 1 });
    const revert = await lakefs.getCommit(repo, await head(repo));
    expect(revert.parents).toEqual([mergeId]);
    expect(await paths(repo, "main")).toEqual(["base", "main-file"]);
    await lakefs.hardResetBranch(repo, "main", mergeId);
    await lakefs.revertBranch(repo, "main", { ref: mergeId, parentNumber: 2 });
    expect(await paths(repo, "main")).toEqual(["base", "feature-file"]);
  });

  it("refuses a dirty branch (400, force does not help), a conflict (409) and an empty revert (400 unless allowEmpty)", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "k", "v1");
    const first = await lakefs.commit(repo, "main", { message: "v1" });
    await upload(repo, "main", "k", "v2");
    const second = await lakefs.commit(repo, "main", { message: "v2" });

    await upload(repo, "main", "staged", "s");
    for (const force of [false, true]) {
      const dirty = lakefs.revertBranch(repo, "main", { ref: second.id, force });
      await expect(dirty).rejects.toBeInstanceOf(LakeFsValidationError);
      await expect(dirty).rejects.toMatchObject({
        lakeFsMessage: "uncommitted changes (dirty branch)",
      });
    }
    await lakefs.resetBranch(repo, "main", { type: "reset" });

    // reverting v1 would remove k, but v2 changed it since: a conflict
    const conflict = lakefs.revertBranch(repo, "main", { ref: first.id });
    await expect(conflict).rejects.toBeInstanceOf(LakeFsConflictError);
    await expect(conflict).rejects.toMatchObject({ status: 409 });

    const empty = await lakefs.commit(repo, "main", { message: "empty", allowEmpty: true });
    await expect(lakefs.revertBranch(repo, "main", { ref: empty.id })).rejects.toMatchObject({
      status: 400,
      lakeFsMessage: "update branch: no changes",
    });
    await lakefs.revertBranch(repo, "main", { ref: empty.id, allowEmpty: true });
    expect((await lakefs.getCommit(repo, await head(repo))).parents).toEqual([empty.id]);
    await expect(lakefs.revertBranch(repo, "main", { ref: "no-such-ref" })).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
  });

  it("on a read-only repository answers 403 unless forced", async () => {
    const repo = await newRepo(true);
    await upload(repo, "main", "r", "1");
    const c = await lakefs.commit(repo, "main", { message: "r" });
    await expect(lakefs.revertBranch(repo, "main", { ref: c.id })).rejects.toBeInstanceOf(
      LakeFsForbiddenError,
    );
    await expect(lakefs.hardResetBranch(repo, "main", `${c.id}~1`)).rejects.toBeInstanceOf(
      LakeFsForbiddenError,
    );
    await lakefs.revertBranch(repo, "main", { ref: c.id, force: true });
    expect(await paths(repo, "main")).toEqual([]);
  });

  it("fires post-revert webhooks and no post-commit; hard reset fires none", async () => {
    const received: Record<string, unknown>[] = [];
    const hookServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    try {
      const repo = await newRepo();
      await upload(
        repo,
        "main",
        "_lakefs_actions/hooks.yaml",
        [
          "name: all",
          "on:",
          "  post-commit:",
          "  post-merge:",
          "  post-revert:",
          "hooks:",
          "  - id: notify",
          "    type: webhook",
          "    properties:",
          `      url: ${hookUrl}`,
        ].join("\n"),
      );
      await lakefs.commit(repo, "main", { message: "actions" });
      await upload(repo, "main", "x", "1");
      const added = await lakefs.commit(repo, "main", { message: "x" });
      await server.hooksSettled();
      expect(received.map((e) => e.event_type)).toEqual(["post-commit", "post-commit"]);

      await lakefs.revertBranch(repo, "main", { ref: added.id });
      await server.hooksSettled();
      const revertId = await head(repo);
      expect(received).toHaveLength(3);
      expect(received[2]).toMatchObject({
        event_type: "post-revert",
        branch_id: "main",
        commit_id: revertId,
        source_ref: revertId,
        commit_message: `Revert ${added.id}`,
      });

      await lakefs.hardResetBranch(repo, "main", added.id);
      await server.hooksSettled();
      expect(received).toHaveLength(3);
    } finally {
      await new Promise((r) => hookServer.close(r));
    }
  });
});

describe("hard reset", () => {
  it("moves the head back to an older commit; the log starts there; kept across a restart", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "one", "1");
    const c1 = await lakefs.commit(repo, "main", { message: "one" });
    await upload(repo, "main", "two", "2");
    const c2 = await lakefs.commit(repo, "main", { message: "two" });
    expect(await head(repo)).toBe(c2.id);

    await lakefs.hardResetBranch(repo, "main", c1.id);

    expect(await head(repo)).toBe(c1.id);
    const log = await all(lakefs.logCommits(repo, "main"));
    expect(log[0]!.id).toBe(c1.id);
    expect(log.map((c) => c.id)).not.toContain(c2.id);
    expect(await paths(repo, "main")).toEqual(["one"]);
    // the dropped commit is still there by id, as in lakeFS
    expect((await lakefs.getCommit(repo, c2.id)).message).toBe("two");

    await server.stop();
    server = await startServer();
    lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
    expect(await head(repo)).toBe(c1.id);
  });

  it("takes ref expressions, keeps staged changes (as lakeFS does), and answers 400 / 404 for a missing or unknown ref", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "one", "1");
    const c1 = await lakefs.commit(repo, "main", { message: "one" });
    await upload(repo, "main", "two", "2");
    await lakefs.commit(repo, "main", { message: "two" });
    await upload(repo, "main", "staged", "s");

    await lakefs.hardResetBranch(repo, "main", "main~1");

    expect(await head(repo)).toBe(c1.id);
    expect(await paths(repo, "main")).toEqual(["one", "staged"]);
    await expect(lakefs.hardResetBranch(repo, "main", "")).rejects.toBeInstanceOf(
      LakeFsValidationError,
    );
    await expect(lakefs.hardResetBranch(repo, "main", "no-such-ref")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
    await expect(lakefs.hardResetBranch(repo, "nope", c1.id)).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
  });
});

describe("linking an old physical address", () => {
  it("stages a link to an address an older commit holds, and commits it", async () => {
    const repo = await newRepo();
    const key = `external/${repo}/a`;
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "old" }));
    const address = `s3://${bucket}/${key}`;
    const checksum = (put.ETag ?? "").replaceAll('"', "");
    await lakefs.linkPhysicalAddress(repo, "main", "a", {
      physicalAddress: address,
      checksum,
      sizeBytes: 3,
    });
    const old = await lakefs.commit(repo, "main", { message: "a" });
    await lakefs.deleteObject(repo, "main", "a");
    await lakefs.commit(repo, "main", { message: "delete a" });

    const held = await lakefs.statObject(repo, old.id, "a");
    const linked = await lakefs.linkPhysicalAddress(repo, "main", "restored/a", {
      physicalAddress: held.physical_address,
      checksum: held.checksum,
      sizeBytes: held.size_bytes ?? 0,
    });
    expect(linked.physical_address).toBe(address);
    const staged = await all(lakefs.diffBranch(repo, "main"));
    expect(staged.map((d) => [d.type, d.path])).toEqual([["added", "restored/a"]]);

    const restored = await lakefs.commit(repo, "main", { message: "restore a" });
    const stat = await lakefs.statObject(repo, restored.id, "restored/a");
    expect(stat).toMatchObject({ physical_address: address, checksum, size_bytes: 3 });
    const bytes = (await lakefs.getObject(repo, restored.id, "restored/a")).body;
    expect(new TextDecoder().decode(bytes)).toBe("old");
  });
});

describe("cherry-pick", () => {
  it("applies the picked commit's change on the branch and records its origin after any overrides, as lakeFS", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "a", "a0");
    await lakefs.commit(repo, "main", { message: "base" });
    await lakefs.createBranch(repo, "feature", "main");
    await upload(repo, "feature", "b", "b1");
    const picked = await lakefs.commit(repo, "feature", { message: "add b", metadata: { k: "v" } });
    await upload(repo, "main", "c", "c1");
    await lakefs.commit(repo, "main", { message: "add c" });

    const done = await rawPost(repo, "cherry-pick", { ref: picked.id });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({
      message: "add b",
      metadata: {
        k: "v",
        "cherry-pick-origin": picked.id,
        "cherry-pick-committer": picked.committer,
      },
    });
    expect(await head(repo)).toBe(done.body.id);
    expect(await paths(repo, "main")).toEqual(["a", "b", "c"]);
    const b = await lakefs.statObject(repo, "main", "b");
    expect(b.physical_address).toBe(
      (await lakefs.statObject(repo, picked.id, "b")).physical_address,
    );

    await lakefs.createBranch(repo, "f2", picked.id);
    await upload(repo, "f2", "d", "d1");
    const second = await lakefs.commit(repo, "f2", { message: "add d" });
    const overridden = await rawPost(repo, "cherry-pick", {
      ref: second.id,
      commit_overrides: { message: "mine", metadata: { "cherry-pick-origin": "forged" } },
    });
    expect(overridden.status).toBe(201);
    expect(overridden.body.message).toBe("mine");
    expect(overridden.body.metadata?.["cherry-pick-origin"]).toBe(second.id);
  });

  it("refuses a merge commit without a parent number, and a body without a ref (400)", async () => {
    const repo = await newRepo();
    await upload(repo, "main", "a", "a0");
    await lakefs.commit(repo, "main", { message: "base" });
    await lakefs.createBranch(repo, "feature", "main");
    await upload(repo, "feature", "b", "b1");
    await lakefs.commit(repo, "feature", { message: "add b" });
    await lakefs.createBranch(repo, "other", "main");
    const mergeId = await lakefs.merge(repo, "feature", "main");
    const before = await head(repo);
    const merge = await rawPost(repo, "cherry-pick", { ref: mergeId });
    expect(merge.status).toBe(400);
    expect(merge.body.message).toContain("parent number");
    const noRef = await rawPost(repo, "cherry-pick", {});
    expect(noRef.status).toBe(400);
    expect(noRef.body.message).toContain('"/ref"');
    expect(await head(repo)).toBe(before);
  });
});
