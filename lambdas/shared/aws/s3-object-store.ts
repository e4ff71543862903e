// Small whole objects and streamed listings on the AWS SDK S3 client, throttling retried with
// backoff and jitter: the object store port of the export steps (ExportObjectStore) and, with
// deletes added, of the GC steps (lambdas/gc/adapters/s3-object-store.ts).
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { errorCode, httpStatusOf, withRetry } from "../retry";
import { completeMultipartUpload } from "../s3-copy/copy-object";
import {
  type VersionedText,
  type WriteCondition,
  WriteConditionFailedError,
} from "../write-condition";

/** Bytes buffered before a streamed upload sends a part (S3's minimum part is 5 MiB). */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

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
    await this.#putObject(bucket, key, body, contentType, {});
  }

  #putObject(
    bucket: string,
    key: string,
    body: string | Uint8Array,
    contentType: string | undefined,
    conditions: { IfNoneMatch?: string; IfMatch?: string },
  ) {
    return withRetry(() =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(contentType ? { ContentType: contentType } : {}),
          ...conditions,
        }),
      ),
    );
  }

  /** Deletes the object (nothing to do when it does not exist). */
  async delete(bucket: string, key: string): Promise<void> {
    await withRetry(() => this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  }

  /** The object's bytes as UTF-8 text; undefined when it does not exist. */
  async getText(bucket: string, key: string): Promise<string | undefined> {
    return (await this.getVersioned(bucket, key))?.text;
  }

  /** The object's text and ETag; undefined when it does not exist. */
  async getVersioned(bucket: string, key: string): Promise<VersionedText | undefined> {
    try {
      return await withRetry(async () => {
        const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = (await out.Body?.transformToString("utf8")) ?? "";
        return { text, etag: out.ETag ?? "" };
      });
    } catch (err) {
      if (errorCode(err) === "NoSuchKey") return undefined;
      throw err;
    }
  }

  /**
   * PutObject only if `condition` holds (If-None-Match: * or If-Match); returns the new ETag.
   * Throws WriteConditionFailedError when it does not: the key appeared, changed or vanished.
   */
  async putIf(
    bucket: string,
    key: string,
    body: string,
    condition: WriteCondition,
    contentType?: string,
  ): Promise<string> {
    try {
      const out = await this.#putObject(
        bucket,
        key,
        body,
        contentType,
        condition === "absent" ? { IfNoneMatch: "*" } : { IfMatch: condition.etag },
      );
      return out.ETag ?? "";
    } catch (err) {
      // 412: the condition failed; 409: a concurrent conditional write won; 404: an If-Match
      // key was deleted.
      const status = httpStatusOf(err);
      if (status === 412 || status === 409 || errorCode(err) === "NoSuchKey") {
        throw new WriteConditionFailedError(bucket, key, condition);
      }
      throw err;
    }
  }

  /**
   * The object's text line by line, streamed (a chunk of the body in memory at a time);
   * undefined when it does not exist. A read that breaks part way throws.
   */
  async lines(
    bucket: string,
    key: string,
    opts: { ifMatch?: string } = {},
  ): Promise<AsyncIterable<string> | undefined> {
    let body: AsyncIterable<Uint8Array>;
    try {
      body = await withRetry(async () => {
        const out = await this.s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(opts.ifMatch ? { IfMatch: opts.ifMatch } : {}),
          }),
        );
        return out.Body as unknown as AsyncIterable<Uint8Array>;
      });
    } catch (err) {
      if (errorCode(err) === "NoSuchKey") return undefined;
      if (opts.ifMatch && httpStatusOf(err) === 412) {
        throw new WriteConditionFailedError(bucket, key, { etag: opts.ifMatch });
      }
      throw err;
    }
    return splitLines(body);
  }

  /** A streamed upload of `key`: one PutObject when small, else a multipart upload. */
  upload(bucket: string, key: string, contentType?: string): StreamedUpload {
    return new StreamedUpload(this.s3, bucket, key, contentType);
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
            // Keys as stored: in plain XML a key's carriage return reaches the SDK's parser as
            // it is, which reads it as a line feed (another key).
            EncodingType: "url",
            ...(token ? { ContinuationToken: token } : {}),
            ...(!token && startAfter ? { StartAfter: startAfter } : {}),
          }),
        ),
      );
      const encoded = page.EncodingType === "url";
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) {
          const key = encoded ? decodeListedKey(o.Key) : o.Key;
          yield { key, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag } : {}) };
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *listKeys(bucket: string, prefix: string): AsyncGenerator<string> {
    for await (const o of this.list(bucket, prefix)) yield o.key;
  }
}

/** A key of a listing with EncodingType url: S3 encodes it form-style ("+" for a space). */
function decodeListedKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, "%20"));
}

async function* splitLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  // ignoreBOM: a leading U+FEFF belongs to the first line (an S3 key may begin with one). The
  // default decoder drops it, and a GC list read back so named another key: the sweep deleted
  // `data/x` for a marked `\uFEFFdata/x`.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let partial = "";
  for await (const chunk of body) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    yield* lines;
  }
  partial += decoder.decode();
  if (partial.length > 0) yield partial;
}

/**
 * Bytes written go out in parts of UPLOAD_PART_BYTES, so memory stays at about one part
 * whatever the object's size. The object appears only when close() completes it.
 */
export class StreamedUpload {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #uploadId: string | undefined;
  readonly #parts: { ETag: string; PartNumber: number }[] = [];
  readonly #encoder = new TextEncoder();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly contentType?: string,
  ) {}

  async write(chunk: Uint8Array | string): Promise<void> {
    const bytes = typeof chunk === "string" ? this.#encoder.encode(chunk) : chunk;
    if (bytes.length === 0) return;
    // Copied: callers (e.g. a Parquet writer) reuse their buffers.
    this.#chunks.push(bytes.slice());
    this.#buffered += bytes.length;
    if (this.#buffered >= UPLOAD_PART_BYTES) await this.#sendPart();
  }

  /** Completes the object; its ETag. */
  async close(): Promise<string | undefined> {
    if (this.#uploadId === undefined) {
      const body = this.#take();
      const put = await withRetry(() =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: body,
            ...(this.contentType ? { ContentType: this.contentType } : {}),
          }),
        ),
      );
      return put.ETag;
    }
    if (this.#buffered > 0 || this.#parts.length === 0) await this.#sendPart();
    const uploadId = this.#uploadId;
    // A lost answer's second attempt may find the upload completed (NoSuchUpload): checked.
    return completeMultipartUpload(
      this.s3,
      { bucket: this.bucket, key: this.key, uploadId },
      this.#parts,
    );
  }

  async abort(): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#uploadId === undefined) return;
    const uploadId = this.#uploadId;
    this.#uploadId = undefined;
    await withRetry(() =>
      this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }),
      ),
    );
  }

  #take(): Uint8Array {
    const out = new Uint8Array(this.#buffered);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.#chunks = [];
    this.#buffered = 0;
    return out;
  }

  async #sendPart(): Promise<void> {
    if (this.#uploadId === undefined) {
      const created = await withRetry(() =>
        this.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            ...(this.contentType ? { ContentType: this.contentType } : {}),
          }),
        ),
      );
      this.#uploadId = created.UploadId;
    }
    const body = this.#take();
    const partNumber = this.#parts.length + 1;
    const uploadId = this.#uploadId;
    const out = await withRetry(() =>
      this.s3.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
        }),
      ),
    );
    this.#parts.push({ ETag: out.ETag ?? "", PartNumber: partNumber });
  }
}
