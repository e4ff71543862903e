// GC backup and restore as a workflow: the plan lists the mark's text parts into the work
// bucket, a distributed map copies each part's objects with the export copy engine
// (runCopyBatch: server-side copies, multipart above 5 GiB, throttling retried, failures per
// object). Backup copies namespace -> location, restore location -> namespace.
import type { S3Client } from "@aws-sdk/client-s3";
import { runCopyBatch } from "../../shared/s3-copy/run-copy-batch";
import type { CopyOperation } from "../../shared/s3-copy/types";
import { joinKey, parseS3Uri } from "../../shared/s3-uri";
import { isAbsentSource } from "../domain/copy-absent";
import { validateMarkId } from "../domain/ids";
import { gcPaths } from "../domain/paths";
import { encodeJsonLines } from "../domain/shards";
import type { GcStepDeps } from "../ports";
import { gcWorkKeys, namespaceObjects } from "./common";

export interface CopyMarkInput {
  repository: string;
  /** Names the work-bucket folder of this copy (e.g. the execution name). */
  copyId: string;
  markId: string;
  storageNamespace: string;
  direction: "backup" | "restore";
  /** s3://bucket/prefix outside the namespace. */
  location: string;
}

const PART_RE = /part-(\d{5})\.txt$/;

export function checkLocationOutside(storageNamespace: string, location: string): void {
  const loc = parseS3Uri(location, "location");
  const ns = namespaceObjects(storageNamespace);
  const ext = loc.prefix === "" ? "" : `${loc.prefix}/`;
  if (loc.bucket === ns.bucket && (ext.startsWith(ns.keyPrefix) || ns.keyPrefix.startsWith(ext))) {
    throw new Error(`location: ${location} overlaps the storage namespace ${storageNamespace}`);
  }
}

export async function runCopyPlanStep(
  deps: GcStepDeps,
  input: CopyMarkInput,
): Promise<{ partsKey: string; parts: number }> {
  validateMarkId(input.markId);
  checkLocationOutside(input.storageNamespace, input.location);
  const ns = namespaceObjects(input.storageNamespace);
  const parts: { key: string; part: number }[] = [];
  for await (const o of deps.s3.list(
    ns.bucket,
    ns.key(gcPaths.addressesTextPrefix(input.markId)),
  )) {
    const m = PART_RE.exec(o.key);
    if (m) parts.push({ key: o.key, part: Number(m[1]) });
  }
  if (parts.length === 0) {
    throw new Error(`mark id "${input.markId}": no address lists in ${input.storageNamespace}`);
  }
  if (input.direction === "restore") await checkBackupExists(deps, input.location);
  const key = `${gcWorkKeys(input.repository, input.copyId).root}copy-parts.jsonl`;
  await deps.s3.put(deps.workBucket, key, encodeJsonLines(parts));
  return { partsKey: key, parts: parts.length };
}

/**
 * A restore counts objects missing from the backup as absent (gone before the backup), so a
 * location that holds nothing at all (a wrong one) is refused rather than "restored".
 */
async function checkBackupExists(deps: Pick<GcStepDeps, "s3">, location: string): Promise<void> {
  const loc = parseS3Uri(location, "location");
  for await (const _ of deps.s3.list(loc.bucket, loc.prefix === "" ? "" : `${loc.prefix}/`)) {
    return;
  }
  throw new Error(`location: no object under ${location}: nothing to restore from`);
}

export interface CopyPartsEvent {
  Items: { key: string; part: number }[];
  BatchInput: Pick<CopyMarkInput, "storageNamespace" | "direction" | "location">;
}

export async function runCopyPartsStep(
  deps: Pick<GcStepDeps, "s3">,
  s3: S3Client,
  event: CopyPartsEvent,
): Promise<{
  objects: number;
  copied: number;
  copiedBytes: number;
  absent: number;
  failed: number;
}> {
  const { storageNamespace, direction, location } = event.BatchInput;
  checkLocationOutside(storageNamespace, location);
  const ns = namespaceObjects(storageNamespace);
  const ext = parseS3Uri(location, "location");
  const total = { objects: 0, copied: 0, copiedBytes: 0, absent: 0, failed: 0 };
  const failures: string[] = [];
  for (const { key } of event.Items ?? []) {
    const text = await deps.s3.getText(ns.bucket, key);
    if (text === undefined) throw new Error(`copy: marked list ${key} does not exist`);
    const ops: CopyOperation[] = text
      .split("\n")
      .filter((k) => k.length > 0)
      .map((k) => {
        const inside = { bucket: ns.bucket, key: ns.key(k) };
        const outside = { bucket: ext.bucket, key: joinKey(ext.prefix, k) };
        const [from, to] = direction === "backup" ? [inside, outside] : [outside, inside];
        return {
          kind: "copy",
          id: k,
          sourceBucket: from.bucket,
          sourceKey: from.key,
          destBucket: to.bucket,
          destKey: to.key,
          keepSourceHeaders: true,
        };
      });
    const out = await runCopyBatch(s3, ops, { concurrency: 32 });
    total.objects += ops.length;
    total.copied += out.copied;
    total.copiedBytes += out.copiedBytes;
    const failed = out.failed.filter((f) => !isAbsentSource(f));
    total.absent += out.failed.length - failed.length;
    total.failed += failed.length;
    for (const f of failed.slice(0, 5)) failures.push(`${f.path} (${f.code}: ${f.message})`);
  }
  if (total.failed > 0) {
    // Fails this map child (and so the copy workflow), naming the objects.
    const err = new Error(
      `${direction}: ${total.failed} object(s) not copied: ${failures.join("; ")}`,
    );
    err.name = "GcCopyFailed";
    throw err;
  }
  return total;
}
