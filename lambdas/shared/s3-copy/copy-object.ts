// One server-side copy: CopyObject up to the multipart threshold (S3 allows 5 GiB), above it
// CreateMultipartUpload + UploadPartCopy over byte ranges + CompleteMultipartUpload, aborted
// on failure. The destination gets the lakeFS content type and user metadata
// (MetadataDirective REPLACE) and no tags (TaggingDirective REPLACE), not whatever the
// physical object carries; a copy that keeps the source's headers (GC backup and restore)
// keeps its tags too, multipart copies included (given to the upload, so the object never
// exists without them).
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { createLimiter } from "../concurrency";
import { errorCode, httpStatusOf, type RetryOptions, withRetry } from "../retry";
import { createDirectCopier, type DirectCopier, UNRESERVED_AND_SLASH } from "./direct-copy";
import type { CopyOperation } from "./types";

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** S3 limits. */
export const MAX_SINGLE_COPY_BYTES = 5 * GiB;
export const MAX_PARTS = 10_000;

export interface CopyObjectOptions {
  /** Objects larger than this use multipart copy. Default (and S3's maximum) 5 GiB. */
  multipartThresholdBytes?: number;
  /** Part size of multipart copies (raised to fit 10 000 parts). Default 512 MiB. S3 wants >= 5 MiB except the last part; tests may go lower against the embedded S3. */
  partSizeBytes?: number;
  /** UploadPartCopy calls in flight per object. Default 4. */
  partConcurrency?: number;
  retry?: RetryOptions;
}

export interface CopyObjectResult {
  multipart: boolean;
  parts: number;
  size: number;
  etag?: string;
  /** Nothing copied: the destination already held the source's object (keepExistingDestination). */
  present?: boolean;
}

/** The destination holds another object than the source (keepExistingDestination): kept. */
export class DestinationDiffersError extends Error {
  override readonly name = "DestinationDiffers";
}

export type CopyObjectInput = Omit<CopyOperation, "kind" | "id">;

/** `bucket/key` URL-encoded for the x-amz-copy-source header ('/' kept). */
export function copySourceOf(bucket: string, key: string): string {
  if (UNRESERVED_AND_SLASH.test(key)) return `${bucket}/${key}`;
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, "/")}`;
}

/**
 * A user metadata value as S3 takes it over REST: US-ASCII as is, anything else RFC 2047
 * encoded (S3 decodes it before storing). Sent as is, a character past U+00FF is no valid Node
 * header value, and one in U+0080..U+00FF goes out as a Latin-1 byte while the SDK signs its
 * UTF-8 form: S3 answers SignatureDoesNotMatch.
 */
export function s3MetadataValue(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/**
 * A content type as an HTTP header carries it: printable US-ASCII as is, every other character
 * percent-encoded as its UTF-8 bytes. lakeFS takes any string as a content type; sent as is,
 * a character past U+00FF or a line break is no valid Node header value and one in
 * U+0080..U+00FF fails S3's signature check, so every export of the object failed. (S3 decodes
 * RFC 2047 in user metadata only, not in Content-Type.)
 */
export function s3ContentType(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return value.replace(/[^\x20-\x7e]/gu, (c) =>
    [...Buffer.from(c, "utf8")]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)
      .join(""),
  );
}

/** User metadata for S3: keys without an `x-amz-meta-` prefix, lower case; values s3MetadataValue. */
export function s3UserMetadata(
  metadata: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    out[k.replace(/^x-amz-meta-/i, "").toLowerCase()] = s3MetadataValue(v);
  }
  return out;
}

/** Byte ranges of a multipart copy: inclusive [start, end] pairs. */
export function partRanges(size: number, partSizeBytes: number): [number, number][] {
  const partSize = Math.max(partSizeBytes, Math.ceil(size / MAX_PARTS));
  const ranges: [number, number][] = [];
  for (let start = 0; start < size; start += partSize) {
    ranges.push([start, Math.min(size, start + partSize) - 1]);
  }
  return ranges;
}

/** The headers of a HEAD answer that a new upload can carry over. */
function sourceHeaders(head: HeadObjectCommandOutput) {
  const out: Pick<
    HeadObjectCommandOutput,
    | "ContentType"
    | "ContentEncoding"
    | "CacheControl"
    | "ContentDisposition"
    | "ContentLanguage"
    | "Expires"
    | "Metadata"
  > = { Metadata: head.Metadata ?? {} };
  if (head.ContentType) out.ContentType = head.ContentType;
  if (head.ContentEncoding) out.ContentEncoding = head.ContentEncoding;
  if (head.CacheControl) out.CacheControl = head.CacheControl;
  if (head.ContentDisposition) out.ContentDisposition = head.ContentDisposition;
  if (head.ContentLanguage) out.ContentLanguage = head.ContentLanguage;
  if (head.Expires) out.Expires = head.Expires;
  return out;
}

/**
 * The source's tags as a multipart upload takes them (x-amz-tagging, URL query form), or
 * undefined when it has none. Given to CreateMultipartUpload, not set once the upload is
 * complete: an object completed but not tagged (the tagging request failed) would be taken by
 * a restore run again for one already in the namespace (same size), and stay without its tags.
 */
async function sourceTagging(
  s3: S3Client,
  input: CopyObjectInput,
  retry: RetryOptions,
): Promise<string | undefined> {
  const tags = await withRetry(
    () =>
      s3.send(new GetObjectTaggingCommand({ Bucket: input.sourceBucket, Key: input.sourceKey })),
    retry,
  );
  if (!tags.TagSet?.length) return undefined;
  return tags.TagSet.map(
    (t) => `${encodeURIComponent(t.Key ?? "")}=${encodeURIComponent(t.Value ?? "")}`,
  ).join("&");
}

const isMultipartEtag = (etag: string | undefined) => /-\d+"?$/.test(etag ?? "");

/**
 * Whether a HEAD's ETag is the MD5 of the object's bytes: not for a multipart upload, nor for
 * an object encrypted with SSE-KMS or SSE-C (S3 gives those another ETag).
 */
const etagIsMd5 = (head: HeadObjectCommandOutput) =>
  !isMultipartEtag(head.ETag) &&
  !head.SSECustomerAlgorithm &&
  !(head.ServerSideEncryption ?? "").startsWith("aws:kms");

/**
 * Whether the destination already holds the source's object (same size, and same ETag when
 * both are MD5s of the bytes); undefined when it holds nothing. Another object is refused
 * (DestinationDiffersError) rather than overwritten.
 */
async function destinationHolds(
  s3: S3Client,
  input: CopyObjectInput,
  source: HeadObjectCommandOutput,
  retry: RetryOptions,
): Promise<boolean> {
  let there: HeadObjectCommandOutput;
  try {
    there = await withRetry(
      () => s3.send(new HeadObjectCommand({ Bucket: input.destBucket, Key: input.destKey })),
      retry,
    );
  } catch (error) {
    if (httpStatusOf(error) === 404) return false;
    throw error;
  }
  const comparable = etagIsMd5(source) && etagIsMd5(there);
  if (there.ContentLength === source.ContentLength && (!comparable || there.ETag === source.ETag)) {
    return true;
  }
  throw new DestinationDiffersError(
    `s3://${input.destBucket}/${input.destKey} already exists with other content (${there.ContentLength} bytes, ETag ${there.ETag}; the copy's source has ${source.ContentLength} bytes, ETag ${source.ETag}): left as it is, not overwritten`,
  );
}

/** S3's ETag of an object completed from these parts: md5 of their md5s, "-", their count. */
export function multipartEtagOf(partEtags: readonly string[]): string {
  const digest = createHash("md5");
  for (const e of partEtags) digest.update(Buffer.from(e.replace(/"/g, ""), "hex"));
  return `"${digest.digest("hex")}-${partEtags.length}"`;
}

/**
 * CompleteMultipartUpload. When its answer is lost (a connection reset) the SDK sends it
 * again, and S3 may answer NoSuchUpload: the first attempt completed the upload. The upload is
 * then done if the object holds what these parts make (their multipart ETag); anything else
 * there is no proof of it, and the error stands.
 */
export async function completeMultipartUpload(
  s3: S3Client,
  upload: { bucket: string; key: string; uploadId: string },
  parts: { PartNumber: number; ETag: string }[],
  retry: RetryOptions = {},
): Promise<string | undefined> {
  const { bucket, key, uploadId } = upload;
  try {
    const done = await withRetry(
      () =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      retry,
    );
    return done.ETag;
  } catch (error) {
    if (errorCode(error) !== "NoSuchUpload") throw error;
    const expected = multipartEtagOf(parts.map((p) => p.ETag));
    const there = await withRetry(
      () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
      retry,
    ).catch(() => undefined);
    if (there?.ETag !== expected) throw error;
    return there.ETag;
  }
}

const directCopiers = new WeakMap<S3Client, DirectCopier>();
/** One direct copier per client: its endpoints are cached per bucket. */
function directCopierOf(s3: S3Client): DirectCopier {
  let copier = directCopiers.get(s3);
  if (!copier) {
    copier = createDirectCopier(s3);
    directCopiers.set(s3, copier);
  }
  return copier;
}

/** A single CopyObject's headers, as the SDK sends CopyObjectCommand's fields. */
export function copyHeadersOf(input: CopyObjectInput): Record<string, string> {
  if (input.keepSourceHeaders) {
    return { "x-amz-metadata-directive": "COPY", "x-amz-tagging-directive": "COPY" };
  }
  const out: Record<string, string> = {
    "x-amz-metadata-directive": "REPLACE",
    "x-amz-tagging-directive": "REPLACE",
  };
  if (input.contentType) out["content-type"] = s3ContentType(input.contentType);
  if (input.metadata) {
    for (const [k, v] of Object.entries(s3UserMetadata(input.metadata))) {
      out[`x-amz-meta-${k}`] = v;
    }
  }
  return out;
}

export function copyObject(
  s3: S3Client,
  input: CopyObjectInput,
  opts: CopyObjectOptions = {},
): Promise<CopyObjectResult> {
  const threshold = opts.multipartThresholdBytes ?? MAX_SINGLE_COPY_BYTES;
  // An export's copy (its size known, nothing to read first) goes straight to the single copy:
  // it needs neither the checks nor the multipart path of checkedCopy.
  if (
    input.size !== undefined &&
    input.size <= threshold &&
    !input.keepSourceHeaders &&
    !input.keepExistingDestination
  ) {
    return singleCopy(s3, input, input.size, undefined, opts.retry ?? {});
  }
  return checkedCopy(s3, input, threshold, opts);
}

/** One CopyObject (up to the multipart threshold): direct, or through the SDK's `send` where
 * the direct path cannot take it. `head`: the source's HEAD, for keepSourceHeaders. */
async function singleCopy(
  s3: S3Client,
  input: CopyObjectInput,
  size: number,
  head: HeadObjectCommandOutput | undefined,
  retry: RetryOptions,
): Promise<CopyObjectResult> {
  const direct = directCopierOf(s3);
  const request = {
    bucket: input.destBucket,
    key: input.destKey,
    copySource: copySourceOf(input.sourceBucket, input.sourceKey),
    headers: copyHeadersOf(input),
  };
  const etag = await withRetry(async () => {
    const out = await direct.copy(request);
    if (out) return out.etag;
    const sent = await s3.send(
      new CopyObjectCommand({
        Bucket: input.destBucket,
        Key: input.destKey,
        CopySource: request.copySource,
        // COPY: S3 keeps every header and tag of the source, not only those HEAD shows.
        ...(input.keepSourceHeaders
          ? { MetadataDirective: "COPY", TaggingDirective: "COPY" }
          : {
              MetadataDirective: "REPLACE",
              TaggingDirective: "REPLACE",
              ...sdkHeadersOf(input, head),
            }),
      }),
    );
    return sent.CopyObjectResult?.ETag;
  }, retry);
  return etag !== undefined
    ? { multipart: false, parts: 0, size, etag }
    : { multipart: false, parts: 0, size };
}

/** The SDK's fields for a copy's headers (copyHeadersOf): only calls through `send` need them. */
function sdkHeadersOf(input: CopyObjectInput, head: HeadObjectCommandOutput | undefined) {
  return input.keepSourceHeaders
    ? sourceHeaders(head!)
    : {
        ...(input.contentType ? { ContentType: s3ContentType(input.contentType) } : {}),
        Metadata: s3UserMetadata(input.metadata),
      };
}

/** A copy that reads the source (its size, its headers) or the destination first. */
async function checkedCopy(
  s3: S3Client,
  input: CopyObjectInput,
  threshold: number,
  opts: CopyObjectOptions,
): Promise<CopyObjectResult> {
  const retry = opts.retry ?? {};
  const head =
    input.size === undefined || input.keepSourceHeaders || input.keepExistingDestination
      ? await withRetry(
          () =>
            s3.send(new HeadObjectCommand({ Bucket: input.sourceBucket, Key: input.sourceKey })),
          retry,
        )
      : undefined;
  const size = input.size ?? head?.ContentLength ?? 0;
  if (input.keepExistingDestination && (await destinationHolds(s3, input, head!, retry))) {
    return { multipart: false, parts: 0, size, present: true };
  }
  if (size <= threshold) return singleCopy(s3, input, size, head, retry);

  const copySource = copySourceOf(input.sourceBucket, input.sourceKey);
  const headers = sdkHeadersOf(input, head);
  const tagging = input.keepSourceHeaders ? await sourceTagging(s3, input, retry) : undefined;
  const created = await withRetry(
    () =>
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket: input.destBucket,
          Key: input.destKey,
          ...headers,
          ...(tagging ? { Tagging: tagging } : {}),
        }),
      ),
    retry,
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload of ${input.destKey} returned no UploadId`);
  try {
    const ranges = partRanges(size, opts.partSizeBytes ?? 512 * MiB);
    const limit = createLimiter(opts.partConcurrency ?? 4);
    const parts = await Promise.all(
      ranges.map(([start, end], i) =>
        limit(async () => {
          const out = await withRetry(
            () =>
              s3.send(
                new UploadPartCopyCommand({
                  Bucket: input.destBucket,
                  Key: input.destKey,
                  UploadId: uploadId,
                  PartNumber: i + 1,
                  CopySource: copySource,
                  CopySourceRange: `bytes=${start}-${end}`,
                }),
              ),
            retry,
          );
          const etag = out.CopyPartResult?.ETag;
          if (!etag)
            throw new Error(`UploadPartCopy part ${i + 1} of ${input.destKey} returned no ETag`);
          return { PartNumber: i + 1, ETag: etag };
        }),
      ),
    );
    const etag = await completeMultipartUpload(
      s3,
      { bucket: input.destBucket, key: input.destKey, uploadId },
      parts,
      retry,
    );
    return { multipart: true, parts: parts.length, size, etag };
  } catch (error) {
    // Best effort: an upload left behind costs storage until a lifecycle rule removes it.
    await s3
      .send(
        new AbortMultipartUploadCommand({
          Bucket: input.destBucket,
          Key: input.destKey,
          UploadId: uploadId,
        }),
      )
      .catch(() => undefined);
    throw error;
  }
}
