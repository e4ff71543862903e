// Small whole objects and streamed listings on the AWS SDK S3 client, throttling retried with
// backoff and jitter: the object store port of the export steps (ExportObjectStore) and, with
// deletes added, of the GC steps (lambdas/gc/adapters/s3-object-store.ts).
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { errorCode, withRetry } from "../retry";

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

export class S3ObjectStore {
  constructor(protected readonly s3: S3Client) {}

  async put(
    bucket: string,
    key: string,
    body: string | Uint8Array,
    contentType?: string,
  ): Promise<void> {
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

  /** The object's bytes as UTF-8 text; undefined when it does not exist. */
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

  /** Every object under `prefix` (after `startAfter`, when given), in key order, a page at a time. */
  async *list(bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await withRetry(() =>
        this.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
            ...(!token && startAfter ? { StartAfter: startAfter } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) {
          yield { key: o.Key, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag } : {}) };
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *listKeys(bucket: string, prefix: string): AsyncGenerator<string> {
    for await (const o of this.list(bucket, prefix)) yield o.key;
  }
}
