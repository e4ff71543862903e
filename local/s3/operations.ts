// Names an incoming path-style S3 request by its API operation (PutObject, UploadPartCopy, ...),
// so the proxy can count, deny, throttle and route it. Pure: no I/O.

export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "ListObjectsV2"
  | "ListObjects"
  | "ListMultipartUploads"
  | "GetBucketLocation"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "UploadPart"
  | "UploadPartCopy"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "GetObjectTagging"
  | "PutObjectTagging"
  | "BucketSubresource"
  | "Unknown";

/** Operations that change data; a "write" deny rule answers AccessDenied to these. */
export const WRITE_OPERATIONS: ReadonlySet<S3Operation> = new Set<S3Operation>([
  "CreateBucket",
  "DeleteBucket",
  "DeleteObjects",
  "PutObject",
  "CopyObject",
  "UploadPart",
  "UploadPartCopy",
  "DeleteObject",
  "CreateMultipartUpload",
  "CompleteMultipartUpload",
  "AbortMultipartUpload",
  "PutObjectTagging",
]);

export interface ClassifiedRequest {
  operation: S3Operation;
  /** "" for ListBuckets. */
  bucket: string;
  /** Decoded object key; "" for bucket-level operations. */
  key: string;
  query: URLSearchParams;
}

export function classifyRequest(
  method: string,
  rawUrl: string,
  headers: Record<string, string | string[] | undefined>,
): ClassifiedRequest {
  const q = rawUrl.indexOf("?");
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1));
  const slash = rawPath.indexOf("/", 1);
  const bucket = safeDecode(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash));
  const key = slash === -1 ? "" : safeDecode(rawPath.slice(slash + 1));
  const has = (name: string) => query.has(name);
  const copy = headers["x-amz-copy-source"] !== undefined;
  const m = method.toUpperCase();
  const op = (operation: S3Operation): ClassifiedRequest => ({ operation, bucket, key, query });

  if (bucket === "") return op(m === "GET" ? "ListBuckets" : "Unknown");
  if (slash === -1 || key === "") {
    switch (m) {
      case "PUT":
        return op([...query.keys()].length === 0 ? "CreateBucket" : "BucketSubresource");
      case "DELETE":
        return op([...query.keys()].length === 0 ? "DeleteBucket" : "BucketSubresource");
      case "HEAD":
        return op("HeadBucket");
      case "POST":
        return op(has("delete") ? "DeleteObjects" : "Unknown");
      case "GET":
        if (query.get("list-type") === "2") return op("ListObjectsV2");
        if (has("uploads")) return op("ListMultipartUploads");
        if (has("location")) return op("GetBucketLocation");
        return op(
          [...query.keys()].every((k) => LIST_V1_PARAMS.has(k))
            ? "ListObjects"
            : "BucketSubresource",
        );
      default:
        return op("Unknown");
    }
  }
  switch (m) {
    case "PUT":
      if (has("uploadId")) return op(copy ? "UploadPartCopy" : "UploadPart");
      if (has("tagging")) return op("PutObjectTagging");
      return op(copy ? "CopyObject" : "PutObject");
    case "GET":
      if (has("uploadId")) return op("ListParts");
      if (has("tagging")) return op("GetObjectTagging");
      return op("GetObject");
    case "HEAD":
      return op("HeadObject");
    case "POST":
      if (has("uploads")) return op("CreateMultipartUpload");
      if (has("uploadId")) return op("CompleteMultipartUpload");
      return op("Unknown");
    case "DELETE":
      return op(has("uploadId") ? "AbortMultipartUpload" : "DeleteObject");
    default:
      return op("Unknown");
  }
}

const LIST_V1_PARAMS = new Set(["prefix", "delimiter", "marker", "max-keys", "encoding-type"]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/**
 * Parses x-amz-copy-source: "[/]bucket/key[?versionId=v]", URL-encoded. The query is split off
 * before decoding, so a "?" inside a key must arrive encoded (%3F), as S3 requires.
 */
export function parseCopySource(header: string): CopySource | undefined {
  const q = header.indexOf("?");
  const rawPath = q === -1 ? header : header.slice(0, q);
  const versionId =
    q === -1 ? undefined : new URLSearchParams(header.slice(q + 1)).get("versionId");
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded.startsWith("/")) decoded = decoded.slice(1);
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) return undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId !== undefined && versionId !== null ? { versionId } : {}),
  };
}

/** Parses x-amz-copy-source-range "bytes=first-last" (both required, inclusive). */
export function parseCopySourceRange(header: string): { first: number; last: number } | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return last >= first ? { first, last } : undefined;
}

/** Parses a GetObject Range header against an object size; undefined = serve the whole object. */
export function resolveRange(
  header: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined; // multiple or malformed ranges: S3 ignores
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}
