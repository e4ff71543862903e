// `s3://bucket[/prefix]` locations: parsing with errors that name the field, formatting, and
// joining a prefix with a key. Pure: no SDK.

export interface S3Location {
  bucket: string;
  /** Without leading or trailing '/'; "" for the bucket root. */
  prefix: string;
}

export interface S3ObjectAddress {
  bucket: string;
  key: string;
}

export class InvalidS3UriError extends Error {
  override readonly name = "InvalidS3UriError";
  constructor(
    readonly field: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${field}: ${JSON.stringify(value)} is not a valid S3 location: ${reason}`);
  }
}

// S3 bucket naming rules (general purpose buckets): 3-63 characters, lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function splitUri(uri: string, field: string): { bucket: string; rest: string } {
  if (typeof uri !== "string" || uri === "") {
    throw new InvalidS3UriError(field, String(uri), "expected s3://bucket[/prefix]");
  }
  if (!uri.startsWith("s3://")) {
    throw new InvalidS3UriError(field, uri, "expected the scheme s3://");
  }
  const body = uri.slice("s3://".length);
  const slash = body.indexOf("/");
  const bucket = slash === -1 ? body : body.slice(0, slash);
  const rest = slash === -1 ? "" : body.slice(slash + 1);
  if (bucket === "") throw new InvalidS3UriError(field, uri, "the bucket name is missing");
  if (!BUCKET_RE.test(bucket) || bucket.includes("..")) {
    throw new InvalidS3UriError(
      field,
      uri,
      `bucket ${JSON.stringify(bucket)} must be 3-63 lowercase letters, digits, dots or hyphens`,
    );
  }
  return { bucket, rest };
}

/** Parses `s3://bucket[/prefix[/]]`; trailing slashes of the prefix are dropped. */
export function parseS3Uri(uri: string, field = "uri"): S3Location {
  const { bucket, rest } = splitUri(uri, field);
  return { bucket, prefix: rest.replace(/\/+$/, "") };
}

/** Parses the address of one object, `s3://bucket/key` (the key is kept byte for byte). */
export function parseS3ObjectUri(uri: string, field = "uri"): S3ObjectAddress {
  const { bucket, rest } = splitUri(uri, field);
  if (rest === "") throw new InvalidS3UriError(field, uri, "the object key is missing");
  return { bucket, key: rest };
}

export function formatS3Uri(location: { bucket: string; prefix?: string; key?: string }): string {
  const path = location.key ?? location.prefix ?? "";
  return path === "" ? `s3://${location.bucket}` : `s3://${location.bucket}/${path}`;
}

/** `prefix` + '/' + `key`, or just `key` at the bucket root. */
export function joinKey(prefix: string, key: string): string {
  const p = prefix.replace(/\/+$/, "");
  return p === "" ? key : `${p}/${key}`;
}

/**
 * Whether `address` (s3://bucket/key) lies inside `namespace` (s3://bucket[/prefix]): the
 * namespace must be followed by '/', so `s3://b/repo1` does not contain `s3://b/repo10/x`.
 */
export function isAddressInNamespace(address: string, namespace: string): boolean {
  const ns = namespace.replace(/\/+$/, "");
  return address.startsWith(`${ns}/`) && address.length > ns.length + 1;
}
