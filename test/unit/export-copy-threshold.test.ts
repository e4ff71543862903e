// README (Continuous export, copy; Limits): server-side CopyObject up to 5 GiB, multipart
// UploadPartCopy above MULTIPART_THRESHOLD_BYTES (default 5 GiB), up to 10 000 parts.
import type { S3Client } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { copyObject, GiB } from "../../lambdas/shared/s3-copy/copy-object";

/** An S3 client that answers every command and records their names. */
function recordingS3() {
  const sent: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string } }) => {
      const name = command.constructor.name;
      sent.push(name);
      if (name === "CreateMultipartUploadCommand") return { UploadId: "u1" };
      if (name === "UploadPartCopyCommand") return { CopyPartResult: { ETag: '"p"' } };
      if (name === "CopyObjectCommand") return { CopyObjectResult: { ETag: '"c"' } };
      return {};
    },
  } as unknown as S3Client;
  return { client, sent };
}

const input = (size: number) => ({
  sourceBucket: "lake",
  sourceKey: "data/a",
  destBucket: "exports",
  destKey: "out/a",
  size,
});

it("copies an object of exactly 5 GiB with one CopyObject", async () => {
  const s3 = recordingS3();
  const r = await copyObject(s3.client, input(5 * GiB));
  expect(r).toMatchObject({ multipart: false, parts: 0 });
  expect(s3.sent).toEqual(["CopyObjectCommand"]);
});

it("copies an object over 5 GiB with UploadPartCopy (512 MiB parts by default)", async () => {
  const s3 = recordingS3();
  const r = await copyObject(s3.client, input(5 * GiB + 1));
  expect(r).toMatchObject({ multipart: true, parts: 11 });
  expect(s3.sent[0]).toBe("CreateMultipartUploadCommand");
  expect(s3.sent.filter((n) => n === "UploadPartCopyCommand")).toHaveLength(11);
  expect(s3.sent.at(-1)).toBe("CompleteMultipartUploadCommand");
  expect(s3.sent).not.toContain("CopyObjectCommand");
});

it("keeps within 10 000 parts for the largest objects", async () => {
  const s3 = recordingS3();
  const r = await copyObject(s3.client, input(5 * 1024 * GiB), { partConcurrency: 64 });
  expect(r.parts).toBe(10_000);
});
