// ExportObjectStore on the AWS SDK S3 client, throttling retried with backoff and jitter.
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { errorCode, withRetry } from "../../shared/retry";
import type { ExportObjectStore } from "../ports";

export class S3ExportObjectStore implements ExportObjectStore {
  constructor(private readonly s3: S3Client) {}

  async put(bucket: string, key: string, body: string, contentType?: string): Promise<void> {
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

  async *listKeys(bucket: string, prefix: string): AsyncGenerator<string> {
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
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
