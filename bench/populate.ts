// Fast population of lakeFS branches for benchmarks: small objects are written straight to
// the embedded S3, then linked into a branch with lakeFS's staging/backing call (no upload
// through lakeFS), then committed by the caller. Checksums are the objects' MD5s, so a copy's
// S3 ETag equals the lakeFS checksum and exports can be verified by ETag.
import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { LakeFsClient } from "../lambdas/shared/lakefs/client";
import { runPool } from "./pool";

export interface PhysicalObject {
  address: string;
  checksum: string;
  size: number;
}

export const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** Writes `count` small objects under s3://bucket/prefix and returns their addresses. */
export async function writePhysicalObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  count: number,
  label = "obj",
): Promise<PhysicalObject[]> {
  const out: PhysicalObject[] = new Array(count);
  await runPool(count, 32, async (i) => {
    const body = `${label} ${prefix} ${i}\n`;
    const key = `${prefix}${String(i).padStart(7, "0")}`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    out[i] = {
      address: `s3://${bucket}/${key}`,
      checksum: md5(body),
      size: Buffer.byteLength(body),
    };
  });
  return out;
}

/** Stages path(i) -> object(i) on a branch through lakeFS's staging/backing (link) call. */
export async function linkObjects(
  lakefs: LakeFsClient,
  repo: string,
  branch: string,
  count: number,
  pathOf: (i: number) => string,
  objectOf: (i: number) => PhysicalObject,
  concurrency = 16,
): Promise<void> {
  await runPool(count, concurrency, async (i) => {
    const o = objectOf(i);
    await lakefs.linkPhysicalAddress(repo, branch, pathOf(i), {
      physicalAddress: o.address,
      checksum: o.checksum,
      sizeBytes: o.size,
    });
  });
}

/** One entry of the development server's bulk staging (local/lakefs/bulk-staging.ts). */
export interface BulkStagingEntry {
  path: string;
  physical_address: string;
  checksum: string;
  size_bytes: number;
  mtime?: number;
}

/**
 * Stages path(i) -> object(i), i < count, through the development server's bulk staging
 * endpoint: the same staging as `linkObjects`, 10 000 entries a request instead of one.
 */
export async function bulkStageObjects(
  server: { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } },
  repo: string,
  branch: string,
  count: number,
  entryOf: (i: number) => BulkStagingEntry,
  perRequest = 10_000,
): Promise<void> {
  const { accessKeyId, secretAccessKey } = server.credentials;
  const auth = `Basic ${Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString("base64")}`;
  const url = `${server.endpoint}/_lakeport/repositories/${encodeURIComponent(repo)}/branches/${encodeURIComponent(branch)}/staging`;
  for (let from = 0; from < count; from += perRequest) {
    const entries: BulkStagingEntry[] = [];
    for (let i = from; i < Math.min(count, from + perRequest); i++) entries.push(entryOf(i));
    const res = await fetch(url, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({ entries }),
    });
    if (res.status !== 200) {
      throw new Error(`bulk staging on ${repo}/${branch}: ${res.status} ${await res.text()}`);
    }
  }
}

/** The bulk staging entry linking `path` to a physical object. */
export const linkEntry = (path: string, o: PhysicalObject): BulkStagingEntry => ({
  path,
  physical_address: o.address,
  checksum: o.checksum,
  size_bytes: o.size,
});
