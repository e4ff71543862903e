// README Limits (GC copy workflow): a restore run of a mark's part checks every object of the
// part again, those already back included, with a HEAD of the location's copy and one of the
// namespace's key: a part that one run cannot finish is not finished by repeated runs once
// those checks alone fill the function's 15 minutes.
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { copyMarkPart } from "../../lambdas/gc/app/copy-part";
import { testS3Admin, testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const admin = testS3Admin();

describe("a restore run of a part whose objects are all back already", () => {
  it("sends two HEADs per object and copies nothing", async () => {
    const ns = uniqueName("rerun-ns");
    const loc = uniqueName("rerun-loc");
    for (const b of [ns, loc]) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const lines = Array.from({ length: 20 }, (_, i) => `data/obj-${i}`);
    for (const line of lines) {
      await s3.send(new PutObjectCommand({ Bucket: ns, Key: `repo/${line}`, Body: line }));
      await s3.send(new PutObjectCommand({ Bucket: loc, Key: `backup/${line}`, Body: line }));
    }
    for (const b of [ns, loc]) await admin.resetRequestCounts({ bucket: b });
    const out = await copyMarkPart(
      new S3GcObjectStore(s3),
      s3,
      { number: 0, lines },
      {
        direction: "restore",
        namespace: { bucket: ns, keyPrefix: "repo/" },
        location: { bucket: loc, prefix: "backup" },
      },
    );
    expect(out.counts).toMatchObject({ objects: 20, copied: 0, present: 20, failed: 0 });
    const [inNs, inLoc] = await Promise.all(
      [ns, loc].map(async (b) => (await admin.requestCounts({ bucket: b })).byOperation),
    );
    expect(inNs).toMatchObject({ HeadObject: 20 });
    expect(inLoc).toMatchObject({ HeadObject: 20 });
    expect(inNs?.CopyObject ?? 0).toBe(0);
  });
});
