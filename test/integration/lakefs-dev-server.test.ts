// The lakeFS client against the lakeFS development server, over HTTP, with objects in the
// embedded S3.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import {
  LakeFsConflictError,
  LakeFsGoneError,
  LakeFsNotFoundError,
  LakeFsUnauthorizedError,
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

async function startServer() {
  return startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
}

async function all<T>(pages: AsyncIterable<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page.results);
  return out;
}

async function pages<T>(it: AsyncIterable<Page<T>>): Promise<Page<T>[]> {
  const out: Page<T>[] = [];
  for await (const page of it) out.push(page);
  return out;
}

async function newRepo(defaultBranch = "main") {
  const name = uniqueName("repo");
  await lakefs.createRepository({
    name,
    storage_namespace: `s3://${bucket}/${name}`,
    default_branch: defaultBranch,
  });
  return name;
}

/** Puts bytes directly in S3 and links them, as benchmarks populate branches. */
async function putAndLink(repo: string, branch: string, objectPath: string, body: string) {
  const key = `external/${repo}/${objectPath}`;
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return lakefs.linkPhysicalAddress(repo, branch, objectPath, {
    physicalAddress: `s3://${bucket}/${key}`,
    checksum: (out.ETag ?? "").replaceAll('"', ""),
    sizeBytes: body.length,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-dev-"));
  bucket = uniqueName("lakefs");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startServer();
  lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("repositories and refs", () => {
  it("creates a repository with an initial commit on its default branch", async () => {
    const repo = await newRepo("trunk");
    const r = await lakefs.getRepository(repo);
    expect(r).toMatchObject({ id: repo, default_branch: "trunk" });
    expect(r.storage_namespace).toBe(`s3://${bucket}/${repo}`);
    const head = await lakefs.getBranch(repo, "trunk");
    const commit = await lakefs.getCommit(repo, head.commit_id);
    expect(commit.parents).toEqual([]);
    expect(commit.message).toBe("Repository created");
    expect(commit.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers 409 for an existing repository and 400 for a missing bucket", async () => {
    const repo = await newRepo();
    await expect(
      lakefs.createRepository({ name: repo, storage_namespace: `s3://${bucket}/x` }),
    ).rejects.toBeInstanceOf(LakeFsConflictError);
    await expect(
      lakefs.createRepository({
        name: uniqueName("repo"),
        storage_namespace: "s3://no-such-bucket-x/y",
      }),
    ).rejects.toBeInstanceOf(LakeFsValidationError);
  });

  it("answers 404 with lakeFS's message for unknown repositories, branches, tags and commits", async () => {
    const repo = await newRepo();
    const missing = lakefs.getRepository("no-such-repo");
    await expect(missing).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await expect(missing).rejects.toMatchObject({
      status: 404,
      lakeFsMessage: "repository not found",
    });
    await expect(lakefs.getBranch(repo, "nope")).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await expect(lakefs.getTag(repo, "nope")).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await expect(lakefs.getCommit(repo, "ab".repeat(32))).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
  });

  it("answers 401 to wrong credentials", async () => {
    const wrong = new LakeFsClient({
      endpoint: `${server.endpoint}/api/v1`,
      credentials: { accessKeyId: KEYS.accessKeyId, secretAccessKey: "wrong" },
    });
    await expect(all(wrong.listRepositories())).rejects.toBeInstanceOf(LakeFsUnauthorizedError);
    await expect(wrong.getRepository("any")).rejects.toMatchObject({
      status: 401,
      lakeFsMessage: "error authenticating request",
    });
  });

  it("creates, lists (paginated), and deletes branches and tags", async () => {
    const repo = await newRepo();
    const head = await lakefs.getBranch(repo, "main");
    for (const b of ["b1", "b2", "b3", "c1"]) {
      expect(await lakefs.createBranch(repo, b, "main")).toBe(head.commit_id);
    }
    await expect(lakefs.createBranch(repo, "b1", "main")).rejects.toBeInstanceOf(
      LakeFsConflictError,
    );
    await expect(lakefs.createBranch(repo, "x", "nope")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
    const p = await pages(lakefs.listBranches(repo, { amount: 2 }));
    expect(p.map((x) => x.results.map((r) => r.id))).toEqual([
      ["b1", "b2"],
      ["b3", "c1"],
      ["main"],
    ]);
    expect(p[0]!.pagination).toEqual({
      has_more: true,
      next_offset: "b2",
      results: 2,
      max_per_page: 2,
    });
    expect((await all(lakefs.listBranches(repo, { prefix: "b" }))).map((r) => r.id)).toEqual([
      "b1",
      "b2",
      "b3",
    ]);
    // A hidden branch: read by name, listed only with show_hidden, hidden after a commit too.
    await lakefs.createBranch(repo, "b0-hidden", "main", { hidden: true });
    await lakefs.uploadObject(repo, "b0-hidden", "h", { content: "h" });
    await lakefs.commit(repo, "b0-hidden", { message: "on a hidden branch" });
    expect((await lakefs.getBranch(repo, "b0-hidden")).commit_id).not.toBe(head.commit_id);
    expect((await all(lakefs.listBranches(repo, { prefix: "b" }))).map((r) => r.id)).toEqual([
      "b1",
      "b2",
      "b3",
    ]);
    const withHidden = await pages(lakefs.listBranches(repo, { amount: 2, showHidden: true }));
    expect(withHidden.map((x) => x.results.map((r) => r.id))).toEqual([
      ["b0-hidden", "b1"],
      ["b2", "b3"],
      ["c1", "main"],
    ]);
    await lakefs.deleteBranch(repo, "b0-hidden");
    await lakefs.deleteBranch(repo, "b2");
    await expect(lakefs.getBranch(repo, "b2")).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await expect(lakefs.deleteBranch(repo, "b2")).rejects.toBeInstanceOf(LakeFsNotFoundError);

    const tag = await lakefs.createTag(repo, "v1", "main");
    expect(tag).toEqual({ id: "v1", commit_id: head.commit_id });
    await expect(lakefs.createTag(repo, "v1", "main")).rejects.toBeInstanceOf(LakeFsConflictError);
    expect(await lakefs.getTag(repo, "v1")).toEqual(tag);
    expect(await all(lakefs.listTags(repo))).toEqual([tag]);
    expect(await pages(lakefs.listTags(repo, { prefix: "zz" }))).toEqual([
      {
        pagination: { has_more: false, next_offset: "", results: 0, max_per_page: 100 },
        results: [],
      },
    ]);
  });
});

describe("objects, staging and commits", () => {
  it("uploads to a lakeFS-style address in the namespace and reads the bytes back", async () => {
    const repo = await newRepo();
    const stats = await lakefs.uploadObject(repo, "main", "a/b.txt", {
      content: "hello",
      contentType: "text/plain",
      metadata: { owner: "me" },
    });
    expect(stats.physical_address).toMatch(
      new RegExp(`^s3://${bucket}/${repo}/data/g[0-9a-z]+/c[0-9a-z]+$`),
    );
    expect(stats).toMatchObject({ path: "a/b.txt", path_type: "object", size_bytes: 5 });
    expect(stats.checksum).toBe("5d41402abc4b2a76b9719d911017c592");
    const content = await lakefs.getObject(repo, "main", "a/b.txt");
    expect(new TextDecoder().decode(content.body)).toBe("hello");
    expect(content.contentType).toBe("text/plain");
    expect((await lakefs.statObject(repo, "main", "a/b.txt")).metadata).toEqual({ owner: "me" });
  });

  it("uploads multipart/form-data as lakectl and the Python SDK send it (the part named content)", async () => {
    const repo = await newRepo();
    // A large binary object (6 MiB, every byte value), with another field before the file.
    const bytes = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 11)) % 256;
    const upload = (form: FormData) =>
      fetch(
        `${server.endpoint}/api/v1/repositories/${repo}/branches/main/objects?path=big/part-0.parquet`,
        {
          method: "POST",
          headers: {
            authorization: `Basic ${Buffer.from(`${KEYS.accessKeyId}:${KEYS.secretAccessKey}`).toString("base64")}`,
          },
          body: form,
        },
      );
    const form = new FormData();
    form.append("note", "not the file");
    form.append("content", new Blob([bytes], { type: "application/x-parquet" }), "part-0.parquet");
    const res = await upload(form);
    expect(res.status, await res.clone().text()).toBe(201);
    const stats = (await res.json()) as {
      size_bytes: number;
      checksum: string;
      content_type: string;
    };
    expect(stats).toMatchObject({
      size_bytes: bytes.length,
      checksum: createHash("md5").update(bytes).digest("hex"),
      content_type: "application/x-parquet",
    });
    const back = await lakefs.getObject(repo, "main", "big/part-0.parquet");
    expect(Buffer.from(back.body).equals(bytes)).toBe(true);
    expect(back.contentType).toBe("application/x-parquet");

    const noFile = new FormData();
    noFile.append("file", new Blob(["x"]), "x.txt");
    const refused = await upload(noFile);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      message: 'multipart/form-data: no part named "content" (the file to upload)',
    });
  });

  it("uploads in parts through presigned URLs (presigned multipart upload), and aborts", async () => {
    const repo = await newRepo();
    const base = `${server.endpoint}/api/v1/repositories/${repo}/branches/main/staging/pmpu`;
    const auth = {
      authorization: `Basic ${Buffer.from(`${KEYS.accessKeyId}:${KEYS.secretAccessKey}`).toString("base64")}`,
    };
    const call = (method: string, url: string, body?: unknown) =>
      fetch(url, {
        method,
        headers: { ...auth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const created = await call("POST", `${base}?path=big/file.bin&parts=2`);
    expect(created.status).toBe(201);
    const upload = (await created.json()) as {
      upload_id: string;
      physical_address: string;
      presigned_urls: string[];
    };
    expect(upload.physical_address).toMatch(new RegExp(`^s3://${bucket}/${repo}/data/`));
    expect(upload.presigned_urls).toHaveLength(2);
    expect(upload.presigned_urls[0]).toMatch(/X-Amz-Signature=/);
    // Part 1 at S3's minimum part size, part 2 the rest; the URLs are used as they are.
    const part1 = Buffer.alloc(5 * 1024 * 1024, 7);
    const part2 = Buffer.from("the tail");
    const etags: string[] = [];
    for (const [i, bytes] of [part1, part2].entries()) {
      const put = await fetch(upload.presigned_urls[i]!, { method: "PUT", body: bytes });
      expect(put.status, await put.clone().text()).toBe(200);
      etags.push(put.headers.get("etag")!);
    }
    const done = await call("PUT", `${base}/${upload.upload_id}?path=big/file.bin`, {
      physical_address: upload.physical_address,
      parts: etags.map((etag, i) => ({ part_number: i + 1, etag })),
      content_type: "application/octet-stream",
      user_metadata: { source: "parts" },
    });
    expect(done.status, await done.clone().text()).toBe(200);
    expect(await done.json()).toMatchObject({
      path: "big/file.bin",
      physical_address: upload.physical_address,
      size_bytes: part1.length + part2.length,
      checksum: expect.stringMatching(/-2$/),
    });
    const back = await lakefs.getObject(repo, "main", "big/file.bin");
    expect(Buffer.from(back.body).equals(Buffer.concat([part1, part2]))).toBe(true);
    expect((await lakefs.statObject(repo, "main", "big/file.bin")).metadata).toEqual({
      source: "parts",
    });

    // Aborted: the upload is gone.
    const other = (await (await call("POST", `${base}?path=gone.bin`)).json()) as {
      upload_id: string;
      physical_address: string;
    };
    const aborted = await call("DELETE", `${base}/${other.upload_id}?path=gone.bin`, {
      physical_address: other.physical_address,
    });
    expect(aborted.status).toBe(204);
    const late = await call("PUT", `${base}/${other.upload_id}?path=gone.bin`, {
      physical_address: other.physical_address,
      parts: [{ part_number: 1, etag: "x" }],
    });
    expect(late.status).toBe(404);
    // Bad input: 400 naming the field.
    expect(await (await call("POST", `${base}?path=x&parts=0`)).json()).toEqual({
      message: "parts: must be an integer from 1 to 10000",
    });
    const noParts = await call("PUT", `${base}/${other.upload_id}?path=x`, {
      physical_address: other.physical_address,
      parts: [],
    });
    expect(noParts.status).toBe(400);
    expect(await noParts.json()).toEqual({
      message: "parts: must be a non-empty list of {part_number, etag}",
    });
  });

  it("shows staged objects on the branch only, and commits them", async () => {
    const repo = await newRepo();
    const before = await lakefs.getBranch(repo, "main");
    await putAndLink(repo, "main", "x/1", "one");
    await putAndLink(repo, "main", "x/2", "two");
    expect((await all(lakefs.listObjects(repo, "main"))).map((o) => o.path)).toEqual([
      "x/1",
      "x/2",
    ]);
    expect(await all(lakefs.listObjects(repo, before.commit_id))).toEqual([]);
    expect(await all(lakefs.listObjects(repo, "main@"))).toEqual([]);
    const diff = await all(lakefs.diffBranch(repo, "main"));
    expect(diff.map((d) => [d.type, d.path])).toEqual([
      ["added", "x/1"],
      ["added", "x/2"],
    ]);
    const commit = await lakefs.commit(repo, "main", {
      message: "two files",
      metadata: { source: "test" },
      date: 1_600_000_000,
    });
    expect(commit).toMatchObject({
      parents: [before.commit_id],
      message: "two files",
      metadata: { source: "test" },
      creation_date: 1_600_000_000,
      committer: "admin",
    });
    expect((await lakefs.getBranch(repo, "main")).commit_id).toBe(commit.id);
    expect(await all(lakefs.diffBranch(repo, "main"))).toEqual([]);
    expect((await all(lakefs.listObjects(repo, commit.id))).map((o) => o.path)).toEqual([
      "x/1",
      "x/2",
    ]);
    await expect(lakefs.commit(repo, "main", { message: "empty" })).rejects.toBeInstanceOf(
      LakeFsValidationError,
    );
    // delete: a staged tombstone hides the object on the branch, not on the commit
    await lakefs.deleteObject(repo, "main", "x/1");
    expect((await all(lakefs.listObjects(repo, "main"))).map((o) => o.path)).toEqual(["x/2"]);
    expect((await all(lakefs.listObjects(repo, commit.id))).map((o) => o.path)).toEqual([
      "x/1",
      "x/2",
    ]);
    expect((await all(lakefs.diffBranch(repo, "main"))).map((d) => [d.type, d.path])).toEqual([
      ["removed", "x/1"],
    ]);
    await expect(lakefs.statObject(repo, "main", "x/1")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
    expect((await lakefs.statObject(repo, commit.id, "x/1")).size_bytes).toBe(3);
  });

  it("paginates listings: empty, exactly one page, many pages, prefix and delimiter", async () => {
    const repo = await newRepo();
    const empty = await pages(lakefs.listObjects(repo, "main"));
    expect(empty).toHaveLength(1);
    expect(empty[0]!.pagination).toEqual({
      has_more: false,
      next_offset: "",
      results: 0,
      max_per_page: 100,
    });
    const paths = ["a/1", "a/2", "a/3", "b/x/1", "b/y", "c"];
    for (const p of paths) await putAndLink(repo, "main", p, p);
    await lakefs.commit(repo, "main", { message: "files" });
    const exact = await pages(lakefs.listObjects(repo, "main", { amount: 6 }));
    expect(exact).toHaveLength(1);
    expect(exact[0]!.pagination.has_more).toBe(false);
    const many = await pages(lakefs.listObjects(repo, "main", { amount: 4 }));
    expect(many.map((p) => p.results.map((o) => o.path))).toEqual([
      ["a/1", "a/2", "a/3", "b/x/1"],
      ["b/y", "c"],
    ]);
    expect(many[0]!.pagination.next_offset).toBe("b/x/1");
    const single = await pages(lakefs.listObjects(repo, "main", { amount: 1, prefix: "a/" }));
    expect(single.map((p) => p.results[0]!.path)).toEqual(["a/1", "a/2", "a/3"]);
    expect(single.map((p) => p.pagination.has_more)).toEqual([true, true, false]);
    const delimited = await pages(lakefs.listObjects(repo, "main", { delimiter: "/", amount: 1 }));
    expect(delimited.map((p) => [p.results[0]!.path, p.results[0]!.path_type])).toEqual([
      ["a/", "common_prefix"],
      ["b/", "common_prefix"],
      ["c", "object"],
    ]);
    const nested = await all(lakefs.listObjects(repo, "main", { prefix: "b/", delimiter: "/" }));
    expect(nested.map((o) => o.path)).toEqual(["b/x/", "b/y"]);
    const afterList = await all(lakefs.listObjects(repo, "main", { after: "a/2" }));
    expect(afterList.map((o) => o.path)).toEqual(["a/3", "b/x/1", "b/y", "c"]);
  });

  it("answers 410 Gone when the physical object was removed and 404 for an unknown path", async () => {
    const repo = await newRepo();
    const stats = await lakefs.uploadObject(repo, "main", "gone.txt", { content: "bye" });
    await lakefs.commit(repo, "main", { message: "add" });
    const key = stats.physical_address.slice(`s3://${bucket}/`.length);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await expect(lakefs.getObject(repo, "main", "gone.txt")).rejects.toBeInstanceOf(
      LakeFsGoneError,
    );
    await expect(lakefs.getObject(repo, "main", "gone.txt")).rejects.toMatchObject({
      status: 410,
      lakeFsMessage: "No data",
    });
    await expect(lakefs.getObject(repo, "main", "unknown.txt")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
  });
});

describe("merges, log and diffs", () => {
  it("merges with the destination head as first parent, never fast-forwarding", async () => {
    const repo = await newRepo();
    const base = await lakefs.getBranch(repo, "main");
    await lakefs.createBranch(repo, "feature", "main");
    await putAndLink(repo, "feature", "f.txt", "f");
    const featureCommit = await lakefs.commit(repo, "feature", { message: "feature work" });
    const mergeId = await lakefs.merge(repo, "feature", "main", { metadata: { k: "v" } });
    const merge = await lakefs.getCommit(repo, mergeId);
    expect(merge.parents).toEqual([base.commit_id, featureCommit.id]);
    expect(merge.message).toBe("Merge 'feature' into 'main'");
    expect(merge.metadata).toEqual({ k: "v", ".lakefs.merge.strategy": "default" });
    expect((await lakefs.getBranch(repo, "main")).commit_id).toBe(mergeId);
    expect((await lakefs.statObject(repo, "main", "f.txt")).size_bytes).toBe(1);
    // nothing new on the source: lakeFS answers 400 "no changes"
    await expect(lakefs.merge(repo, "feature", "main")).rejects.toMatchObject({
      status: 400,
      lakeFsMessage: "no changes",
    });
    const mb = await lakefs.findMergeBase(repo, "feature", "main");
    expect(mb.base_commit_id).toBe(featureCommit.id);
  });

  it("answers 409 on conflicting changes unless a strategy is given", async () => {
    const repo = await newRepo();
    await lakefs.createBranch(repo, "other", "main");
    await putAndLink(repo, "main", "same", "main-version");
    await lakefs.commit(repo, "main", { message: "m" });
    await putAndLink(repo, "other", "same", "other-version");
    await lakefs.commit(repo, "other", { message: "o" });
    await expect(lakefs.merge(repo, "other", "main")).rejects.toBeInstanceOf(LakeFsConflictError);
    await lakefs.merge(repo, "other", "main", { strategy: "source-wins" });
    expect((await lakefs.statObject(repo, "main", "same")).size_bytes).toBe("other-version".length);
  });

  it("logs commits newest first with pagination, first_parent and stop_at", async () => {
    const repo = await newRepo();
    const initial = (await lakefs.getBranch(repo, "main")).commit_id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      await putAndLink(repo, "main", `f${i}`, `${i}`);
      ids.push(
        (await lakefs.commit(repo, "main", { message: `c${i}`, date: 1_700_000_000 + i })).id,
      );
    }
    await lakefs.createBranch(repo, "side", "main");
    await putAndLink(repo, "side", "s", "s");
    const side = await lakefs.commit(repo, "side", { message: "side", date: 1_700_000_100 });
    const merge = await lakefs.merge(repo, "side", "main");
    const log = await pages(lakefs.logCommits(repo, "main", { amount: 3 }));
    const flat = log.flatMap((p) => p.results.map((c) => c.id));
    expect(flat).toEqual([merge, side.id, ...ids.slice().reverse(), initial]);
    expect(log.map((p) => p.results.length)).toEqual([3, 3, 2]);
    const firstParent = await all(
      lakefs.logCommits(repo, "main", { firstParent: true, amount: 2 }),
    );
    expect(firstParent.map((c) => c.id)).toEqual([merge, ...ids.slice().reverse(), initial]);
    const stopped = await all(
      lakefs.logCommits(repo, "main", { stopAt: ids[2]!, firstParent: true }),
    );
    expect(stopped.map((c) => c.id)).toEqual([merge, ids[4], ids[3], ids[2]]);
    const since = await all(
      lakefs.logCommits(repo, `main~1`, { since: new Date(1_700_000_003_000).toISOString() }),
    );
    expect(since.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    expect((await lakefs.getCommit(repo, ids[0]!)).parents).toEqual([initial]);
    const parent2 = await all(lakefs.logCommits(repo, `${merge}^2`, { amount: 1 }));
    expect(parent2[0]!.id).toBe(side.id);
  });

  it("diffs refs two_dot and three_dot with pagination, skipping unchanged data", async () => {
    const repo = await newRepo();
    for (const p of ["k1", "k2", "k3"]) await putAndLink(repo, "main", p, p);
    const c1 = await lakefs.commit(repo, "main", { message: "c1" });
    await lakefs.createBranch(repo, "dev", "main");
    await putAndLink(repo, "dev", "k2", "changed");
    await lakefs.deleteObject(repo, "dev", "k3");
    await putAndLink(repo, "dev", "k4", "new");
    await lakefs.commit(repo, "dev", { message: "dev" });
    await putAndLink(repo, "main", "m", "main only");
    await lakefs.commit(repo, "main", { message: "main moves" });
    const three = await pages(
      lakefs.diffRefs(repo, "main", "dev", { amount: 2, includeRightStats: true }),
    );
    expect(three.flatMap((p) => p.results.map((d) => [d.type, d.path]))).toEqual([
      ["changed", "k2"],
      ["removed", "k3"],
      ["added", "k4"],
    ]);
    expect(three[0]!.pagination).toMatchObject({ has_more: true, next_offset: "k3" });
    expect(three[0]!.results[0]!.right?.checksum).toBeTypeOf("string");
    const two = await all(lakefs.diffRefs(repo, "main", "dev", { type: "two_dot" }));
    expect(two.map((d) => [d.type, d.path])).toEqual([
      ["changed", "k2"],
      ["removed", "k3"],
      ["added", "k4"],
      ["removed", "m"],
    ]);
    expect(await all(lakefs.diffRefs(repo, c1.id, c1.id))).toEqual([]);
  });
});

describe("actions", () => {
  it("fires post-commit and post-merge webhooks with lakeFS's payload", async () => {
    const received: {
      url: string;
      headers: http.IncomingHttpHeaders;
      body: Record<string, unknown>;
    }[] = [];
    const hookServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push({
          url: req.url ?? "",
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    try {
      const repo = await newRepo();
      await lakefs.uploadObject(repo, "main", "_lakefs_actions/export.yaml", {
        content: [
          "name: export on change",
          "on:",
          "  post-commit:",
          "    branches: [main, 'rel-*']",
          "  post-merge:",
          "    branches: [main]",
          "hooks:",
          "  - id: notify",
          "    type: webhook",
          "    properties:",
          `      url: ${hookUrl}`,
          "      timeout: 5s",
          "      query_params:",
          "        token: abc",
          "      headers:",
          "        X-Custom: yes",
        ].join("\n"),
      });
      const commit = await lakefs.commit(repo, "main", {
        message: "add action",
        metadata: { a: "b" },
      });
      await server.hooksSettled();
      expect(received).toHaveLength(1);
      const first = received[0]!;
      expect(first.url).toBe("/hook?token=abc");
      expect(first.headers["x-custom"]).toBe("yes");
      expect(first.body).toEqual({
        event_type: "post-commit",
        event_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        action_name: "export on change",
        hook_id: "notify",
        repository_id: repo,
        branch_id: "main",
        source_ref: commit.id,
        commit_id: commit.id,
        commit_message: "add action",
        committer: "admin",
        commit_metadata: { a: "b" },
      });
      // a branch not matched by the globs does not fire
      await lakefs.createBranch(repo, "dev", "main");
      await putAndLink(repo, "dev", "d", "d");
      await lakefs.commit(repo, "dev", { message: "dev" });
      await server.hooksSettled();
      expect(received).toHaveLength(1);
      const mergeId = await lakefs.merge(repo, "dev", "main");
      await server.hooksSettled();
      expect(received).toHaveLength(2);
      expect(received[1]!.body).toMatchObject({
        event_type: "post-merge",
        branch_id: "main",
        commit_id: mergeId,
        source_ref: mergeId,
        merge_source: "dev",
        commit_message: "Merge 'dev' into 'main'",
      });
      // a merge commit always carries lakeFS's merge strategy
      expect(received[1]!.body).toMatchObject({
        commit_metadata: { ".lakefs.merge.strategy": "default" },
      });
    } finally {
      await new Promise((r) => hookServer.close(r));
    }
  });
});

describe("more calls", () => {
  it("lists and deletes repositories, tags and GC rules; links an address from getPhysicalAddress", async () => {
    const repo = await newRepo();
    const listed = await all(lakefs.listRepositories({ prefix: repo }));
    expect(listed.map((r) => r.id)).toEqual([repo]);
    const address = await lakefs.getPhysicalAddress(repo, "main", "linked.bin");
    expect(address.startsWith(`s3://${bucket}/${repo}/data/`)).toBe(true);
    const key = address.slice(`s3://${bucket}/`.length);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "abc" }));
    await lakefs.linkPhysicalAddress(repo, "main", "linked.bin", {
      physicalAddress: address,
      checksum: (put.ETag ?? "").replaceAll('"', ""),
      sizeBytes: 3,
      userMetadata: { k: "v" },
    });
    const content = await lakefs.getObject(repo, "main", "linked.bin");
    expect(new TextDecoder().decode(content.body)).toBe("abc");
    expect((await lakefs.statObject(repo, "main", "linked.bin")).metadata).toEqual({ k: "v" });
    await lakefs.createTag(repo, "t", "main");
    await lakefs.deleteTag(repo, "t");
    await expect(lakefs.getTag(repo, "t")).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await expect(lakefs.getGcRules(repo)).rejects.toBeInstanceOf(LakeFsNotFoundError);
    await lakefs.setGcRules(repo, { default_retention_days: 1, branches: [] });
    await lakefs.deleteGcRules(repo);
    await expect(lakefs.getGcRules(repo)).rejects.toBeInstanceOf(LakeFsNotFoundError);
    for (const p of ["r/1", "r/2", "s/1", "t"]) await putAndLink(repo, "main", p, p);
    await lakefs.resetBranch(repo, "main", { type: "object", path: "t" });
    await lakefs.resetBranch(repo, "main", { type: "common_prefix", path: "r/" });
    expect((await all(lakefs.diffBranch(repo, "main"))).map((d) => d.path)).toEqual([
      "linked.bin",
      "s/1",
    ]);
    await lakefs.resetBranch(repo, "main", { type: "reset" });
    expect(await all(lakefs.diffBranch(repo, "main"))).toEqual([]);
    await expect(lakefs.deleteBranch(repo, "main")).rejects.toMatchObject({ status: 403 });
    await lakefs.deleteRepository(repo);
    await expect(lakefs.getRepository(repo)).rejects.toBeInstanceOf(LakeFsNotFoundError);
  });

  it("lists, commits and diffs a branch spanning several ranges", async () => {
    const repo = await newRepo();
    const N = 2100; // ranges of 1000 and 1100 entries after the first commit
    const name = (i: number) => `t/${String(i).padStart(5, "0")}`;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          await lakefs.linkPhysicalAddress(repo, "main", name(i), {
            physicalAddress: `s3://${bucket}/elsewhere/${i}`,
            checksum: `e${i}`,
            sizeBytes: i,
          });
        }
      }),
    );
    const first = await lakefs.commit(repo, "main", { message: "bulk" });
    // staged changes overlay the committed ranges in one listing
    await lakefs.deleteObject(repo, "main", name(1000));
    await lakefs.linkPhysicalAddress(repo, "main", name(1999), {
      physicalAddress: `s3://${bucket}/elsewhere/new`,
      checksum: "new",
      sizeBytes: 1,
    });
    await lakefs.linkPhysicalAddress(repo, "main", `${name(2000)}a`, {
      physicalAddress: `s3://${bucket}/elsewhere/add`,
      checksum: "add",
      sizeBytes: 1,
    });
    const listed = await pages(lakefs.listObjects(repo, "main", { amount: 1000 }));
    expect(listed.map((p) => p.results.length)).toEqual([1000, 1000, 100]);
    const paths = listed.flatMap((p) => p.results.map((o) => o.path));
    expect(new Set(paths).size).toBe(N);
    expect(paths).not.toContain(name(1000));
    expect(paths).toContain(`${name(2000)}a`);
    expect([...paths].sort()).toEqual(paths);
    const second = await lakefs.commit(repo, "main", { message: "three changes" });
    const diff = await all(lakefs.diffRefs(repo, first.id, second.id, { type: "two_dot" }));
    expect(diff.map((d) => [d.type, d.path])).toEqual([
      ["removed", name(1000)],
      ["changed", name(1999)],
      ["added", `${name(2000)}a`],
    ]);
    const seek = await lakefs.listObjectsPage(repo, second.id, { after: name(2050), amount: 2 });
    expect(seek.results.map((o) => o.path)).toEqual([name(2051), name(2052)]);
  });
});

describe("persistence and stats", () => {
  it("keeps repositories, refs, commits and staging across a restart", async () => {
    const repo = await newRepo();
    await putAndLink(repo, "main", "committed", "c");
    const commit = await lakefs.commit(repo, "main", { message: "before restart" });
    await lakefs.createTag(repo, "t1", commit.id);
    await putAndLink(repo, "main", "staged", "s");
    await lakefs.setGcRules(repo, {
      default_retention_days: 7,
      branches: [{ branch_id: "main", retention_days: 3 }],
    });
    await server.stop();
    server = await startServer();
    lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
    expect((await lakefs.getBranch(repo, "main")).commit_id).toBe(commit.id);
    expect((await lakefs.getTag(repo, "t1")).commit_id).toBe(commit.id);
    expect((await lakefs.getCommit(repo, commit.id)).message).toBe("before restart");
    expect((await all(lakefs.listObjects(repo, "main"))).map((o) => o.path)).toEqual([
      "committed",
      "staged",
    ]);
    expect((await lakefs.getGcRules(repo)).default_retention_days).toBe(7);
  });

  it("counts requests per operation, through the handle, the HTTP route and the client hook", async () => {
    let seen = 0;
    const counted = new LakeFsClient({
      endpoint: server.endpoint,
      credentials: KEYS,
      onRequest: () => {
        seen++;
      },
    });
    const repo = await newRepo();
    server.resetStats();
    await counted.getRepository(repo);
    await all(counted.listBranches(repo));
    expect(server.stats()).toEqual({
      requests: 2,
      byOperation: { getRepository: 1, listBranches: 1 },
    });
    expect(seen).toBe(2);
    expect(counted.requestCount).toBe(2);
    const viaHttp = (await (await fetch(`${server.endpoint}/_lakeport/stats`)).json()) as {
      requests: number;
    };
    expect(viaHttp.requests).toBe(2);
    await fetch(`${server.endpoint}/_lakeport/stats`, { method: "POST" });
    expect(server.stats().requests).toBe(0);
  });
});
