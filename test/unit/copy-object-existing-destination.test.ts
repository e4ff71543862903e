// copyObject with keepExistingDestination (a GC restore): the destination already holding the
// source's object is "present", another object is left alone (DestinationDiffers). An ETag is
// the MD5 of the bytes only for single-part objects without SSE-KMS or SSE-C encryption (S3's
// Object.ETag); the embedded S3 encrypts nothing, so only here can KMS ETags be seen.
import type { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { copyObject, DestinationDiffersError } from "../../lambdas/shared/s3-copy/copy-object";

type Head = { ContentLength: number; ETag: string; ServerSideEncryption?: string };

function fakeS3(heads: Record<string, Head>) {
  const sent: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push(name);
      if (name === "HeadObjectCommand") {
        const head = heads[`${command.input.Bucket}/${command.input.Key}`];
        if (!head)
          throw Object.assign(new Error("NotFound"), { $metadata: { httpStatusCode: 404 } });
        return { Metadata: {}, ...head };
      }
      if (name === "CopyObjectCommand") return { CopyObjectResult: { ETag: '"copied"' } };
      throw new Error(`unexpected ${name}`);
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const input = {
  sourceBucket: "backup",
  sourceKey: "loc/data/x",
  destBucket: "lake",
  destKey: "data/x",
  keepSourceHeaders: true,
  keepExistingDestination: true,
};

describe("copyObject into a destination that may hold the object", () => {
  it("takes an SSE-KMS object of the same size as present: its ETag is no MD5 to compare", async () => {
    const { s3, sent } = fakeS3({
      "backup/loc/data/x": { ContentLength: 5, ETag: '"0123456789abcdef0123456789abcdef"' },
      "lake/data/x": {
        ContentLength: 5,
        ETag: '"fedcba9876543210fedcba9876543210"',
        ServerSideEncryption: "aws:kms",
      },
    });
    const out = await copyObject(s3, input);
    expect(out).toMatchObject({ present: true });
    expect(sent).not.toContain("CopyObjectCommand");
  });

  it("still refuses an unencrypted object whose MD5 ETag differs", async () => {
    const { s3 } = fakeS3({
      "backup/loc/data/x": { ContentLength: 5, ETag: '"0123456789abcdef0123456789abcdef"' },
      "lake/data/x": {
        ContentLength: 5,
        ETag: '"fedcba9876543210fedcba9876543210"',
        ServerSideEncryption: "AES256",
      },
    });
    await expect(copyObject(s3, input)).rejects.toBeInstanceOf(DestinationDiffersError);
  });
});
