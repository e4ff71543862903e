// GcObjectStore on the AWS SDK S3 client; deletes go through the export copy engine's
// deleteObjects (DeleteObjects of 1 000 keys, per-key retries of throttling).
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { deleteObjects } from "../../export/copy/delete-objects";
import { errorCode, withRetry } from "../../shared/retry";
import type { GcObjectStore, KeyDeleteFailure, StoredObject } from "../ports";

export class S3GcObjectStore implements GcObjectStore {
  constructor(private readonly s3: S3Client) {}

  async put(bucket: string, key: string, body: string | Uint8Array, contentType?: string) {
    await withRetry(() =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      ),
    );
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      return await withRetry(async () => {
        const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await out.Body?.transformToString("utf8")) ?? "";
      });
    } catch (err) {
      if (errorCode(err) === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async *list(bucket: string, prefix: string): AsyncGenerator<StoredObject> {
    let token: string | undefined;
    do {
      const page = await withRetry(() =>
        this.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async deleteKeys(bucket: string, keys: readonly string[]) {
    const out = await deleteObjects(this.s3, bucket, keys);
    // S3 answers success for a missing key; some stores say NoSuchKey: already done either way.
    const failed: KeyDeleteFailure[] = out.failed.filter((f) => f.code !== "NoSuchKey");
    return { failed };
  }
}
