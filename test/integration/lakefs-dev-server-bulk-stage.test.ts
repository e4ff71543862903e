// The lakeFS development server's bulk staging endpoint (local/lakefs/bulk-staging.ts), over
// HTTP: entries staged in bulk list, stat, diff, commit and survive a restart exactly like the
// same entries linked one by one with lakeFS's staging/backing call; bad input is refused with
// a 400 naming the field (an unknown repository or branch with a 404) and stages nothing.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import type { Page } from "../../lambdas/shared/lakefs/types";
import { type LakeFsDevServerHandle, startLakeFsDevServer } from "../../local/lakefs/server";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/server";
import { TEST_REGION, testS3Client, uniqueName } from "../support/clients";

const KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "bulk-secret" };
const AUTH = `Basic ${Buffer.from(`${KEYS.accessKeyId}:${KEYS.secretAccessKey}`).toString("base64")}`;
const s3 = testS3Client();
let dataDir: string;
let server: LakeFsDevServerHandle;
let lakefs: LakeFsClient;
let bucket: string;
let repo: string;
let c0: string;

async function start() {
  server = await startLakeFsDevServer({
    dataDir,
    s3: { endpoint: inject("s3Endpoint"), region: TEST_REGION, credentials: LOCAL_S3_CREDENTIALS },
    credentials: KEYS,
  });
  lakefs = new LakeFsClient({ endpoint: server.endpoint, credentials: KEYS });
}

async function all<T>(pages: AsyncIterable<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page.results);
  return out;
}

function bulk(branch: string, body: unknown, opts: { repository?: string; auth?: string } = {}) {
  const r = encodeURIComponent(opts.repository ?? repo);
  return fetch(`${server.endpoint}/_lakeport/repositories/${r}/branches/${branch}/staging`, {
    method: "POST",
    headers: { authorization: opts.auth ?? AUTH, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Paths in key order with a mix of shared and own addresses, sizes, metadata. */
const ENTRIES = Array.from({ length: 2500 }, (_, i) => ({
  path: `data/${String((i * 7919) % 2500).padStart(5, "0")}.parquet`,
  physical_address: `s3://${"BUCKET"}/pool/${i % 13}`,
  checksum: `sum-${i % 13}`,
  size_bytes: 100 + (i % 13),
  mtime: 1_700_000_000 + i,
  ...(i % 5 === 0 ? { content_type: "application/x-parquet" } : {}),
  ...(i % 11 === 0 ? { user_metadata: { part: String(i) } } : {}),
}));
const entries = () =>
  ENTRIES.map((e) => ({ ...e, physical_address: e.physical_address.replace("BUCKET", bucket) }));

async function linkOneByOne(branch: string) {
  for (const e of entries()) {
    await lakefs.linkPhysicalAddress(repo, branch, e.path, {
      physicalAddress: e.physical_address,
      checksum: e.checksum,
      sizeBytes: e.size_bytes,
      mtime: e.mtime,
      ...(e.content_type ? { contentType: e.content_type } : {}),
      ...(e.user_metadata ? { userMetadata: e.user_metadata } : {}),
    });
  }
}

const listing = (ref: string) => all(lakefs.listObjects(repo, ref, { amount: 300 }));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "lakefs-bulk-"));
  bucket = uniqueName("lakefs-bulk");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await start();
  repo = uniqueName("repo");
  await lakefs.createRepository({ name: repo, storage_namespace: `s3://${bucket}/${repo}` });
  await lakefs.uploadObject(repo, "main", "README", { content: "bulk staging\n" });
  c0 = (await lakefs.commit(repo, "main", { message: "c0", date: 1_700_000_000 })).id;
  for (const b of ["linked", "bulk", "bad"]) await lakefs.createBranch(repo, b, c0);
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("bulk staging on the lakeFS development server", () => {
  it("stages entries that list, stat, diff, commit and persist like linked ones", async () => {
    await linkOneByOne("linked");
    const first = entries().slice(0, 2000);
    const res = await bulk("bulk", { entries: first });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ staged: 2000 });
    expect((await bulk("bulk", { entries: entries().slice(2000) })).status).toBe(200);

    const linkedUncommitted = await all(lakefs.diffBranch(repo, "linked", { amount: 300 }));
    expect(linkedUncommitted).toHaveLength(2500);
    expect(await all(lakefs.diffBranch(repo, "bulk", { amount: 300 }))).toEqual(linkedUncommitted);
    const linkedList = await listing("linked");
    expect(linkedList).toHaveLength(2501);
    expect(await listing("bulk")).toEqual(linkedList);
    for (const p of ["README", entries()[0]!.path, entries()[55]!.path]) {
      expect(await lakefs.statObject(repo, "bulk", p)).toEqual(
        await lakefs.statObject(repo, "linked", p),
      );
    }

    // The staging log is what a restart reads back.
    await server.stop();
    await start();
    expect(await listing("bulk")).toEqual(linkedList);

    const date = 1_700_000_100;
    const linked = await lakefs.commit(repo, "linked", { message: "m", date });
    const bulked = await lakefs.commit(repo, "bulk", { message: "m", date });
    expect(bulked.meta_range_id).toBe(linked.meta_range_id);
    expect(await all(lakefs.diffRefs(repo, linked.id, bulked.id))).toEqual([]);
    const diff = await all(lakefs.diffRefs(repo, c0, bulked.id, { amount: 400 }));
    expect(diff).toHaveLength(2500);
    expect(diff).toEqual(await all(lakefs.diffRefs(repo, c0, linked.id, { amount: 400 })));
    expect(await listing(bulked.id)).toEqual(linkedList);
  });

  it("refuses bad input with a 400 naming the field and stages nothing", async () => {
    const good = entries()[0]!;
    const cases: [unknown, string][] = [
      ["not json", "request body"],
      [[good], "request body"],
      [{}, "entries"],
      [{ entries: [] }, "entries"],
      [{ entries: Array.from({ length: 10_001 }, () => good) }, "entries"],
      [{ entries: [good, "x"] }, "entries[1]"],
      [{ entries: [good, { ...good, path: "" }] }, "entries[1].path"],
      [{ entries: [good, { ...good, physical_address: "/tmp/x" }] }, "entries[1].physical_address"],
      [{ entries: [good, { ...good, checksum: undefined }] }, "entries[1].checksum"],
      [{ entries: [good, { ...good, size_bytes: -1 }] }, "entries[1].size_bytes"],
      [{ entries: [good, { ...good, mtime: "today" }] }, "entries[1].mtime"],
      [{ entries: [good, { ...good, user_metadata: [1] }] }, "entries[1].user_metadata"],
      [{ entries: [good, { ...good, stage: true }] }, "entries[1].stage"],
    ];
    for (const [body, field] of cases) {
      const res = await bulk("bad", body);
      const json = (await res.json()) as { message: string };
      expect({ status: res.status, field: json.message.split(":")[0] }).toEqual({
        status: 400,
        field,
      });
    }
    expect(await all(lakefs.diffBranch(repo, "bad"))).toEqual([]);
  });

  it("answers 404 for an unknown repository or branch and 401 without the API's credentials", async () => {
    const body = { entries: entries().slice(0, 1) };
    const noRepo = await bulk("main", body, { repository: "no-such-repo" });
    expect(noRepo.status).toBe(404);
    expect(((await noRepo.json()) as { message: string }).message).toMatch(/repository/);
    const noBranch = await bulk("no-such-branch", body);
    expect(noBranch.status).toBe(404);
    expect(((await noBranch.json()) as { message: string }).message).toMatch(/branch/);
    const wrongAuth = `Basic ${Buffer.from(`${KEYS.accessKeyId}:wrong`).toString("base64")}`;
    expect((await bulk("bad", body, { auth: wrongAuth })).status).toBe(401);
    expect(await all(lakefs.diffBranch(repo, "bad"))).toEqual([]);
  });
});
