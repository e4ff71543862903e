// A multipart copy whose CompleteMultipartUpload answer was lost: the SDK's second attempt is
// answered NoSuchUpload (the first completed the upload). The copy is done when the destination
// holds the object of its parts (their multipart ETag), a failure when it holds anything else.
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { copyObject, multipartEtagOf } from "../../lambdas/shared/s3-copy/copy-object";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

function fakeS3(destinationEtag: string | undefined) {
  const sent: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push(name);
      if (name === "CreateMultipartUploadCommand") return { UploadId: "u1" };
      if (name === "UploadPartCopyCommand") {
        return { CopyPartResult: { ETag: `"${md5(String(command.input.PartNumber))}"` } };
      }
      if (name === "CompleteMultipartUploadCommand") {
        throw Object.assign(new Error("The specified upload does not exist."), {
          name: "NoSuchUpload",
          $metadata: { httpStatusCode: 404 },
        });
      }
      if (name === "HeadObjectCommand") {
        if (destinationEtag === undefined) {
          throw Object.assign(new Error("NotFound"), { $metadata: { httpStatusCode: 404 } });
        }
        return { ContentLength: 10, ETag: destinationEtag };
      }
      if (name === "AbortMultipartUploadCommand") return {};
      throw new Error(`unexpected ${name}`);
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const input = { sourceBucket: "a", sourceKey: "src", destBucket: "b", destKey: "dst", size: 10 };
const opts = { multipartThresholdBytes: 4, partSizeBytes: 4, retry: { maxAttempts: 1 } };
const partsEtag = multipartEtagOf(["1", "2", "3"].map((n) => `"${md5(n)}"`));

describe("a multipart copy whose completion is answered NoSuchUpload", () => {
  it("is done when the destination holds its parts' object", async () => {
    const { s3, sent } = fakeS3(partsEtag);
    const out = await copyObject(s3, input, opts);
    expect(out).toMatchObject({ multipart: true, parts: 3, size: 10, etag: partsEtag });
    expect(sent).not.toContain("AbortMultipartUploadCommand");
  });

  it("fails when the destination holds another object, or none", async () => {
    for (const there of [`"${md5("other")}-3"`, undefined]) {
      const { s3, sent } = fakeS3(there);
      await expect(copyObject(s3, input, opts)).rejects.toMatchObject({ name: "NoSuchUpload" });
      expect(sent).toContain("AbortMultipartUploadCommand");
    }
  });
});
