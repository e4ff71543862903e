// GC on the real Lakeport app (test/support/lakeport-env.ts: the synthesized app deployed on
// the local cloud, API requests through the deployed API Lambdas): dated commits, two
// branches with different retention, a tag, a merged and deleted branch, staged entries and
// an object linked from outside the namespace; `lakeport gc run --wait` in mark-and-sweep
// mode deletes exactly the addresses only expired commits referenced.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseCommitsCsv } from "../../lambdas/gc/domain/reports";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  type LakeportEnvironment,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

const DAY = 86_400;
let env: LakeportEnvironment;
let repo: TestRepository;
const commits: Record<string, string> = {};
const content: Record<string, string> = {};
const address: Record<string, string> = {};
const extBucket = uniqueName("gc-env-ext");

async function put(branch: string, p: string, label: string) {
  content[label] = `${label} contents of ${p}`;
  const o = await env.lakefs.uploadObject(repo.id, branch, p, { content: content[label] });
  address[label] = o.physical_address;
}
async function commit(branch: string, label: string, daysAgo: number) {
  const date = Math.floor(Date.now() / 1000) - daysAgo * DAY;
  commits[label] = (await env.lakefs.commit(repo.id, branch, { message: label, date })).id;
}
async function read(ref: string, p: string): Promise<string | number> {
  try {
    const o = await env.lakefs.getObject(repo.id, commits[ref] ?? ref, p);
    return new TextDecoder().decode(o.body);
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

beforeAll(async () => {
  env = await startLakeportEnvironment({ lambdaEnv: { GC_ADDRESSES_PER_PARTITION: "400000" } });
  repo = await createLakeFsRepository(env, { webhook: false });
  await env.s3.send(new CreateBucketCommand({ Bucket: extBucket }));
  await env.s3.send(new PutObjectCommand({ Bucket: extBucket, Key: "ext", Body: "outside" }));
  await put("main", "a", "A0");
  await put("main", "b", "B0");
  await put("main", "k", "K0");
  await env.lakefs.linkPhysicalAddress(repo.id, "main", "ext", {
    physicalAddress: `s3://${extBucket}/ext`,
    checksum: createHash("md5").update("outside").digest("hex"),
    sizeBytes: 7,
  });
  await commit("main", "c0", 20);
  await put("main", "a", "A1");
  for (const p of ["b", "ext"]) await env.lakefs.deleteObject(repo.id, "main", p);
  await commit("main", "c1", 15);
  await env.lakefs.createTag(repo.id, "v1", commits.c1!);
  await env.lakefs.createBranch(repo.id, "dev", commits.c1!);
  await env.lakefs.createBranch(repo.id, "feature", commits.c1!);
  await put("main", "a", "A2");
  await commit("main", "c2", 10);
  await put("dev", "d", "D1");
  await commit("dev", "d1", 10);
  await put("dev", "d", "D2");
  await commit("dev", "d2", 5);
  await put("feature", "f", "F1");
  await commit("feature", "f1", 9);
  await env.lakefs.merge(repo.id, "feature", "main", { message: "merge" });
  await env.lakefs.deleteBranch(repo.id, "feature");
  await put("main", "s", "S"); // staged only
  await env.lakefs.linkPhysicalAddress(repo.id, "main", "b-staged", {
    physicalAddress: address.B0!,
    checksum: "x",
    sizeBytes: content.B0!.length,
  });
  const rules = path.join(os.tmpdir(), `${repo.id}-rules.json`);
  writeFileSync(
    rules,
    JSON.stringify({
      default_retention_days: 5,
      branches: [
        { branch_id: "main", retention_days: 7 },
        { branch_id: "dev", retention_days: 3 },
      ],
    }),
  );
  const set = await env.lakeport(["gc", "set-config", `lakefs://${repo.id}`, "-f", rules]);
  expect(set.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await env?.stop();
});

it("mark and sweep through the real app deletes exactly what only expired commits referenced", async () => {
  const r = await env.lakeport(["gc", "run", `lakefs://${repo.id}`, "--wait", "--json"]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("lakeport:"))).toEqual([]);
  expect(r.code).toBe(0);
  const run = JSON.parse(r.stdout);
  expect(run).toMatchObject({ status: "succeeded", mode: "mark-and-sweep" });
  // main keeps merge, c2 (first before the window); dev keeps d2; the tag keeps c1.
  // Expired: c0, d1, f1 and the first commit. Only A0 (c0) and D1 (d1) are referenced by
  // expired commits alone: B0 is staged again, ext is outside, F1 was merged.
  expect(run.counts).toMatchObject({ expiredCommits: 4, markedAddresses: 2, deletedObjects: 2 });
  expect(await read("c0", "a")).toBe(410);
  expect(await read("d1", "d")).toBe(410);
  for (const [ref, p, label] of [
    ["c0", "b", "B0"],
    ["c0", "k", "K0"],
    ["c1", "a", "A1"],
    ["c2", "a", "A2"],
    ["d2", "d", "D2"],
    ["f1", "f", "F1"],
    ["main", "f", "F1"],
    ["main", "s", "S"],
    ["main", "b-staged", "B0"],
  ] as const) {
    expect(await read(ref, p), `${ref}:${p}`).toBe(content[label]);
  }
  expect(await read("c0", "ext")).toBe("outside");

  const key = `repos/${repo.id}/_lakefs/retention/gc/commits/run_id=${run.run_id}/commits.csv`;
  const csv = await env.s3.send(new GetObjectCommand({ Bucket: repo.bucket, Key: key }));
  const rows = parseCommitsCsv(await csv.Body!.transformToString());
  expect(rows.filter((x) => x.expired).map((x) => x.commitId)).toEqual(
    expect.arrayContaining([commits.c0, commits.d1, commits.f1]),
  );
}, 180_000);
