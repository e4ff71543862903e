// Object bytes in the embedded S3 at lakeFS-style addresses under a repository's storage
// namespace.
import { randomBytes } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ApiError } from "./api-error";

/**
 * lakeFS-style address: `<namespace>/data/<generation>/<unique id>`. lakeFS joins namespace
 * and key with one slash, a namespace given with a trailing slash included.
 */
export function newPhysicalAddress(namespace: string): string {
  const generation = `g${Math.floor(Date.now() / 3_600_000).toString(36)}`;
  const unique = `c${Date.now().toString(36)}${randomBytes(10).toString("hex")}`;
  return `${namespace.replace(/\/+$/, "")}/data/${generation}/${unique}`;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ApiError(400, `not an s3:// URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/** lakeFS checks the namespace is writable by writing a marker; a missing bucket is a 400. */
export async function ensureStorageNamespace(s3: S3Client, namespace: unknown): Promise<void> {
  if (typeof namespace !== "string" || !namespace.startsWith("s3://")) {
    throw new ApiError(400, "storage_namespace: must be an s3:// URI");
  }
  const { bucket, key } = parseS3Uri(namespace.replace(/\/+$/, ""));
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${key ? `${key}/` : ""}_lakefs/dummy`,
        Body: new Uint8Array(0),
        ContentLength: 0,
      }),
    );
  } catch (err) {
    const name = (err as { name?: string }).name ?? "";
    throw new ApiError(
      400,
      `storage_namespace: cannot write to ${namespace} (${name || String(err)})`,
    );
  }
}
