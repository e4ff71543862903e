// A mark partition of several passes on the embedded S3: its shards are split by pass into the
// work bucket (test/unit/gc-mark-pass-reads.test.ts counts the reads), and the mark's text list
// holds the same keys as a mark of one pass.
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { runMarkStep } from "../../lambdas/gc/app/mark";
import { gcWorkKeys } from "../../lambdas/gc/domain/paths";
import type { GcStepDeps } from "../../lambdas/gc/ports";
import { testS3Client, uniqueName } from "../support/clients";
import { MemoryGcRecords } from "../support/memory-gc";

const s3 = testS3Client();
const RUN = "20261123T010000000Z-abcdef0123";

async function markedList(keysPerPass: number): Promise<string[]> {
  const work = uniqueName("mark-work");
  const ns = uniqueName("mark-ns");
  for (const b of [work, ns]) await s3.send(new CreateBucketCommand({ Bucket: b }));
  const store = new S3GcObjectStore(s3);
  const keys = gcWorkKeys("repo1", RUN);
  const expired = Array.from({ length: 300 }, (_, i) => `data/x${i} é`);
  const active = expired.filter((_, i) => i % 3 === 0);
  const put = (side: "active" | "expired", name: string, list: string[]) =>
    store.put(
      work,
      keys.addressShard(0, side, name),
      list.map((k) => JSON.stringify(k)).join("\n"),
    );
  await put("active", "a1", active);
  for (let s = 0; s < 6; s++) await put("expired", `e${s}`, expired.slice(s * 50, s * 50 + 70));
  const runs = new MemoryGcRecords();
  runs.leaseHolder = RUN;
  const deps: GcStepDeps = {
    s3: store,
    lakefs: {} as GcStepDeps["lakefs"],
    runs,
    lease: runs,
    workBucket: work,
    now: () => new Date("2026-11-23T02:00:00Z"),
  };
  const ctx = {
    repository: "repo1",
    runId: RUN,
    markId: "m1",
    storageNamespace: `s3://${ns}/repo1`,
    now: 1,
  };
  await runMarkStep(deps, { Items: [{ partition: 0 }], BatchInput: ctx }, { keysPerPass });
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: ns,
      Key: "repo1/_lakefs/retention/gc/addresses.text/mark_id=m1/part-00000.txt",
    }),
  );
  return (await out.Body!.transformToString()).split("\n").filter(Boolean).sort();
}

describe("a mark partition of several passes on S3", () => {
  it("marks what one pass marks", async () => {
    const one = await markedList(2_000_000);
    expect(one).toHaveLength(200);
    expect(await markedList(8)).toEqual(one);
  });
});
