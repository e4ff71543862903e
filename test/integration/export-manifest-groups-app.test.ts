// A full export's manifest written by groups of task shards side by side (README, Manifests), on
// the real app: with one task shard per group (MANIFEST_SHARDS_PER_GROUP), an export of 2 300
// objects (three shards) writes its manifest through three map children; a child that fails
// leaves its group to the status step. Either way the manifest lists exactly the commit's
// objects, in path order, once each. And with one copy map child at a time
// (COPY_MAP_CONCURRENCY, the deployment's maxConcurrency: 1 here) a child takes up to ten of a
// plan call's shards. Such a child retried by Step Functions (its answer lost) copies only the
// shards its first attempt left without a result.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import type { ManifestIndex } from "../../lambdas/export/domain/manifest";
import { uniqueName } from "../support/clients";
import { exportAndWait } from "../support/export-runs";
import { linkPathsToOneObject } from "../support/lakefs-staging";
import {
  createLakeFsRepository,
  eventually,
  useLakeportEnvironment,
} from "../support/lakeport-env";
import { etagsUnder } from "../support/s3-listing";

const outBucket = uniqueName("groups-out");
const OBJECTS = 2300;
const pathsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => `d/${String(i).padStart(5, "0")}.bin`);
const paths = pathsOf(OBJECTS);
const env = useLakeportEnvironment({
  buckets: [outBucket],
  lambdaEnv: { MANIFEST_SHARDS_PER_GROUP: "1", COPY_MAP_CONCURRENCY: "1" },
});

const groupFunction = () => env.deployment.physicalId("LakeportExportManifestGroupFunction");

/** A repository whose main branch holds `paths` linked to one physical object. */
async function repositoryOfManyObjects(paths = pathsOf(OBJECTS)): Promise<string> {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await linkPathsToOneObject(env, repo, "main", paths, "pool");
  await env.lakefs.commit(repo.id, "main", { message: `${paths.length} objects` });
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}/exp`,
    exportStatusPath: `s3://${outBucket}/${repo.id}/status`,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
  return repo.id;
}

async function text(key: string): Promise<string> {
  const out = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return out.Body!.transformToString("utf8");
}

/** Exports the head; returns its manifest's index and lines. */
async function exportAndReadManifest(repo: string) {
  const done = await exportAndWait(env, repo);
  expect(done.state, JSON.stringify(done)).toBe("exported-successfully");
  const head = await env.lakefs.getBranch(repo, "main");
  const base = `${repo}/status/${repo}-main-${head.commit_id}`;
  const index = JSON.parse(await text(`${base}.manifest.json`)) as ManifestIndex;
  const lines: { path: string; key: string }[] = [];
  for (const part of index.parts) {
    for (const line of (await text(part.key)).trimEnd().split("\n")) lines.push(JSON.parse(line));
  }
  return { index, lines };
}

describe("a full export's manifest by groups", () => {
  it("is written by a map child per group, and lists the commit's objects in path order", async () => {
    const repo = await repositoryOfManyObjects();
    const before = env.deployment.runtime.stats(groupFunction()).invocations;
    const { index, lines } = await exportAndReadManifest(repo);
    expect(env.deployment.runtime.stats(groupFunction()).invocations - before).toBe(3);
    expect(index.entries).toBe(OBJECTS);
    expect(index.parts.map((p) => p.entries)).toEqual([1000, 1000, 300]);
    expect(lines.map((l) => l.path)).toEqual(paths);
    expect(lines.map((l) => l.key)).toEqual(paths.map((p) => `${repo}/exp/${p}`));
  }, 240_000);

  it("a group whose child failed is written by the status step", async () => {
    const repo = await repositoryOfManyObjects();
    const fn = groupFunction();
    const errorsBefore = env.deployment.runtime.stats(fn).errors;
    env.deployment.runtime.injectFault({ function: fn, invocation: "next", kind: "error" });
    const { index, lines } = await exportAndReadManifest(repo);
    expect(env.deployment.runtime.stats(fn).errors - errorsBefore).toBe(1);
    expect(index.entries).toBe(OBJECTS);
    expect(index.parts.map((p) => p.entries)).toEqual([1000, 1000, 300]);
    expect(lines.map((l) => l.path)).toEqual(paths);
  }, 240_000);

  it("copies a plan call's shards through children of several shards when one child runs at a time", async () => {
    const many = pathsOf(12_400);
    const repo = await repositoryOfManyObjects(many);
    const copyFn = env.deployment.physicalId("LakeportExportCopyFunction");
    const before = env.deployment.runtime.stats(copyFn).invocations;
    const { index, lines } = await exportAndReadManifest(repo);
    // 13 shards: the first plan call's eight in one child (plan-segments.ts), then the last
    // call's five in another (copy-batches.ts), where a shard each would take 13.
    expect(env.deployment.runtime.stats(copyFn).invocations - before).toBe(1 + 1);
    expect(index.entries).toBe(many.length);
    expect(lines.map((l) => l.path)).toEqual(many);
    const exported = [...(await etagsUnder(env.s3, outBucket, `${repo}/exp/d/`)).keys()].map(
      (k) => `${repo}/exp/d/${k}`,
    );
    expect(exported.filter((k) => k.endsWith(".bin")).sort()).toEqual(
      many.map((p) => `${repo}/exp/${p}`),
    );
  }, 240_000);

  it("a retried copy child copies only the shards no attempt completed", async () => {
    const repo = await repositoryOfManyObjects();
    const runtime = env.deployment.runtime;
    const copyFn = env.deployment.physicalId("LakeportExportCopyFunction");
    const first = runtime.stats(copyFn).invocations + 1;
    const ended = (n: number) => runtime.stats(copyFn).records.some((r) => r.invocation === n);
    // The child of all three shards: Step Functions is told the connection dropped while it
    // runs on; its retry waits for it to end, then finds shard 1 without a result (as if the
    // first attempt had stopped before that shard's end).
    runtime.injectFault({ function: copyFn, invocation: first, kind: "lost-answer" });
    let exportId = "";
    runtime.beforeInvocation({
      function: copyFn,
      invocation: first + 1,
      run: async () => {
        await eventually("the first attempt to end", () => (ended(first) ? true : undefined));
        const results = await env.s3.send(
          new ListObjectsV2Command({
            Bucket: env.resources.workBucket,
            Prefix: `exports/${repo}-main-`,
          }),
        );
        const key = results.Contents?.map((o) => o.Key!).find((k) =>
          k.endsWith("/results/shard-000001.json"),
        );
        expect(key).toBeDefined();
        exportId = key!.split("/")[1]!;
        await env.s3.send(new DeleteObjectCommand({ Bucket: env.resources.workBucket, Key: key! }));
        await env.s3Admin.resetRequestCounts({ bucket: outBucket });
      },
    });
    const { index, lines } = await exportAndReadManifest(repo);
    expect(exportId).not.toBe("");
    // The retry copied shard 1's 1 000 paths, not the 2 300 of the three shards.
    const counts = await env.s3Admin.requestCounts({ bucket: outBucket });
    expect(counts.byOperation.CopyObject).toBe(1000);
    expect(runtime.stats(copyFn).invocations).toBe(first + 1);
    expect(index.entries).toBe(OBJECTS);
    expect(lines.map((l) => l.path)).toEqual(paths);
    const exported = await etagsUnder(env.s3, outBucket, `${repo}/exp/`);
    expect([...exported.keys()].sort()).toEqual(paths);
  }, 240_000);
});
