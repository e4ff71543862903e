// A GC delete request resent after its answer was lost must go through the sweep's check again
// (beforeSend): between the lost answer and the resend, an object may be back at a key of the
// request (a restore copied it back once the run's lease was released, a link made at the key),
// and a resend the SDK makes on its own deleted it unchecked. The embedded S3 loses the answer.
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, inject, it } from "vitest";
import { S3GcObjectStore } from "../../lambdas/gc/adapters/s3-object-store";
import { createS3Client } from "../../lambdas/shared/aws/clients";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { testS3Admin, testS3Client, uniqueName } from "../support/clients";

const s3 = testS3Client();
const admin = testS3Admin();
const client = createS3Client({
  endpoint: inject("s3Endpoint"),
  region: "us-east-1",
  credentials: LOCAL_S3_CREDENTIALS,
  s3Timeouts: { connectionMs: 1_000, requestMs: 1_500 },
});
afterAll(() => client.destroy());

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe("a GC delete request whose answer hangs", () => {
  it("is checked again before it is sent again: an object back at its key meanwhile stays", async () => {
    const bucket = uniqueName("resend");
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/a", Body: "a" }));
    await admin.resetRequestCounts({ bucket });
    await admin.lose({ count: 1, bucket, operation: "DeleteObjects", mode: "hang" });
    let checks = 0;
    let back = false;
    const store = new S3GcObjectStore(client);
    const deleting = store.deleteKeys(bucket, ["data/a"], {
      beforeSend: async (keys) => {
        checks++;
        // The second check finds the key in use again: it is withheld.
        return back ? [] : keys;
      },
    });
    // The first request is done (the key deleted), its answer hangs: the object comes back.
    for (let i = 0; i < 100 && (await exists(bucket, "data/a")); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/a", Body: "back" }));
    back = true;
    const out = await deleting;
    const sent = (await admin.requestCounts({ bucket })).byOperation.DeleteObjects ?? 0;
    expect({ sent, checks }).toEqual({ sent: 1, checks: 2 });
    expect(out.withheld).toEqual(["data/a"]);
    expect(await exists(bucket, "data/a")).toBe(true);
  });
});

describe("a GC delete request given its own answer limit", () => {
  // The sweep's stop before its function's timeout must not wait for a hung request up to the
  // client's limit (5 minutes in Lambda, for copies): its delete requests get a shorter one.
  it("is taken as lost at that limit, not the client's, and its resend is checked", async () => {
    const slow = createS3Client({
      endpoint: inject("s3Endpoint"),
      region: "us-east-1",
      credentials: LOCAL_S3_CREDENTIALS,
      s3Timeouts: { connectionMs: 1_000, requestMs: 60_000 },
    });
    try {
      const bucket = uniqueName("reqlimit");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data/a", Body: "a" }));
      await admin.lose({ count: 1, bucket, operation: "DeleteObjects", mode: "hang" });
      let checks = 0;
      const started = Date.now();
      const out = await new S3GcObjectStore(slow).deleteKeys(bucket, ["data/a"], {
        beforeSend: async (keys) => {
          checks++;
          return keys;
        },
        requestTimeoutMs: 300,
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(checks).toBe(2);
      expect(out.failed).toEqual([]);
      expect(await exists(bucket, "data/a")).toBe(false);
    } finally {
      slow.destroy();
    }
  }, 30_000);
});
