// An incremental export merges the manifest of its fromCommit found under the status path.
// When that manifest was written by an export to an earlier export path (the full export to
// the new path wrote none there: no status path at that time), merging it would list keys of
// the OLD path: the manifest must describe the path this export wrote.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ManifestIndex } from "../../lambdas/export/domain/manifest";
import { uniqueName } from "../support/clients";
import { exportHeadSuccessfully } from "../support/export-hook";
import {
  createLakeFsRepository,
  type LakeportEnvironment,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
let repo: TestRepository;
const outBucket = uniqueName("manifest-path-out");

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
  repo = await createLakeFsRepository(env, { webhook: false });
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function text(bucket: string, key: string): Promise<string> {
  const out = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString("utf8");
}

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function setConfig(body: Record<string, unknown>) {
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, body);
  expect(put.status, put.text).toBe(200);
}

it("the manifest after an export path change lists the keys of the new export path", async () => {
  const a = `s3://${outBucket}/${repo.id}/a`;
  const b = `s3://${outBucket}/${repo.id}/b`;
  const status = `s3://${outBucket}/${repo.id}/status`;
  await env.lakefs.uploadObject(repo.id, "main", "x", { content: "x1" });
  await env.lakefs.uploadObject(repo.id, "main", "y", { content: "y1" });
  await env.lakefs.commit(repo.id, "main", { message: "c1" });
  // 1. Export to a/ with a status path: manifest(C1) lists a/x, a/y.
  await setConfig({ exportPath: a, exportStatusPath: status, isContinuous: false });
  await exportHeadSuccessfully(env, repo.id);
  // 2. Export path moved to b/, no status path for now: full export of C1 to b/.
  await setConfig({ exportPath: b, isContinuous: false });
  await exportHeadSuccessfully(env, repo.id);
  // 3. The status path is set again (same export path: same configuration version).
  await setConfig({ exportPath: b, exportStatusPath: status, isContinuous: false });
  // 4. A change of x: incremental C1 -> C2 to b/.
  await env.lakefs.uploadObject(repo.id, "main", "x", { content: "x2" });
  await env.lakefs.commit(repo.id, "main", { message: "c2" });
  const c2 = (await exportHeadSuccessfully(env, repo.id)).commitId;

  const exported = await keysUnder(`${repo.id}/b/`);
  expect(exported).toEqual([`${repo.id}/b/x`, `${repo.id}/b/y`]);
  const base = `${repo.id}/status/${repo.id}-main-${c2}`;
  const index = JSON.parse(await text(outBucket, `${base}.manifest.json`)) as ManifestIndex;
  const keys: string[] = [];
  for (const part of index.parts) {
    for (const line of (await text(outBucket, part.key)).split("\n").filter(Boolean)) {
      keys.push((JSON.parse(line) as { key: string }).key);
    }
  }
  // Fails: the manifest lists `<repo>/a/y` (the old export path) instead of `<repo>/b/y`.
  expect(keys.sort()).toEqual(exported);
}, 300_000);
