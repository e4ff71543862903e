// Small helpers the GC steps share: where the namespace's objects are, the run's timestamp.
import { compactTimestamp, gcWorkKeys, splitNamespace } from "../domain/paths";
import type { GcObjectStore } from "../ports";

/** Bucket and key of `relativeKey` inside the storage namespace. */
export function namespaceObjects(storageNamespace: string) {
  const { scheme, bucket, keyPrefix } = splitNamespace(storageNamespace);
  if (scheme !== "s3") {
    throw new Error(
      `storageNamespace: "${storageNamespace}" is not on S3 (GC supports s3:// only)`,
    );
  }
  return { bucket, keyPrefix, key: (relativeKey: string) => `${keyPrefix}${relativeKey}` };
}

/** The run's fixed "now" (epoch seconds) as a Date: `dt=` of its logs. */
export const runDate = (now: number) => new Date(now * 1000);
export const runStamp = (now: number) => compactTimestamp(runDate(now));

export type WorkKeys = ReturnType<typeof gcWorkKeys>;
export { gcWorkKeys };

/** Sums numeric fields of JSON count files; fields ending in `_max_ms` keep the largest. */
export function addCounts(into: Record<string, number>, add: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(add)) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    into[k] = k.endsWith("_max_ms") ? Math.max(into[k] ?? 0, v) : (into[k] ?? 0) + v;
  }
}

/** Writes a small object at `relativeKey` of the storage namespace. */
export async function putInNamespace(
  s3: Pick<GcObjectStore, "put">,
  storageNamespace: string,
  relativeKey: string,
  body: string | Uint8Array,
  contentType: string,
): Promise<void> {
  const ns = namespaceObjects(storageNamespace);
  await s3.put(ns.bucket, ns.key(relativeKey), body, contentType);
}
