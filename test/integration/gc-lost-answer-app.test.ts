// A GC run (mark and sweep) through the real Lakeport app whose S3 writes lose their first
// answers (the embedded S3's lose rules): the sweep's deletes, its deleted-objects log, the
// reports and the work bucket's files. S3 did each request; the SDK sends it again. The run
// still succeeds, deletes what it must, and counts each deletion once.
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  createLakeFsRepository,
  type LakeportEnvironment,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

const DAY = 86_400;
let env: LakeportEnvironment;
let repo: TestRepository;

async function commit(label: string, daysAgo: number) {
  const date = Math.floor(Date.now() / 1000) - daysAgo * DAY;
  return (await env.lakefs.commit(repo.id, "main", { message: label, date })).id;
}

beforeAll(async () => {
  env = await startLakeportEnvironment();
  repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "a", { content: "A0" });
  await env.lakefs.uploadObject(repo.id, "main", "b", { content: "B0" });
  await commit("c0", 20);
  await env.lakefs.uploadObject(repo.id, "main", "a", { content: "A1" });
  await env.lakefs.uploadObject(repo.id, "main", "b", { content: "B1" });
  await commit("c1", 15);
  await env.lakefs.uploadObject(repo.id, "main", "a", { content: "A2" });
  await commit("c2", 10);
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

it("a run whose S3 writes lose their first answers deletes and counts each object once", async () => {
  const rules = JSON.stringify({ default_retention_days: 12, branches: [] });
  const file = path.join(os.tmpdir(), `${repo.id}-rules.json`);
  writeFileSync(file, rules);
  expect((await env.lakeport(["gc", "set-config", `lakefs://${repo.id}`, "-f", file])).code).toBe(
    0,
  );
  for (const operation of ["PutObject", "DeleteObjects", "CompleteMultipartUpload"] as const) {
    await env.s3Admin.lose({ count: 3, bucket: repo.bucket, operation });
  }
  await env.s3Admin.lose({ count: 3, bucket: env.resources.workBucket, operation: "PutObject" });
  const r = await env.lakeport(["gc", "run", `lakefs://${repo.id}`, "--wait", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const run = JSON.parse(r.stdout);
  // c0 expired (A0, B0 only there); c1 is the first before the window and kept.
  expect(run).toMatchObject({ status: "succeeded", mode: "mark-and-sweep" });
  expect(run.counts).toMatchObject({ markedAddresses: 2, deletedObjects: 2 });
  const logs = await env.s3.send(
    new ListObjectsV2Command({
      Bucket: repo.bucket,
      Prefix: `repos/${repo.id}/_lakefs/logs/gc/deleted_objects/`,
    }),
  );
  expect(logs.KeyCount).toBeGreaterThan(0);
  const left = await env.s3Admin.listLoseRules();
  expect(left.filter((x) => x.bucket === repo.bucket).map((x) => x.operation)).not.toContain(
    "DeleteObjects",
  );
}, 240_000);
