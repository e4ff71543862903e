// Where GC writes, relative to the repository's storage namespace (the same places as
// lakeFS's GC: reports under _lakefs/retention/gc/, logs under _lakefs/logs/gc/), and the
// layout of the run's scratch data in the work bucket.
import { ValidationError } from "../../shared/errors";
import { validateMarkId, validateRunId } from "./ids";

/** `dt=` values and run id prefixes: UTC, to the second, no characters S3 tools escape. */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** `part-00007.parquet`: part numbers are partition numbers. */
export function partFileName(part: number, extension: "parquet" | "txt"): string {
  if (!Number.isInteger(part) || part < 0 || part > 99_999) {
    throw new ValidationError(`part: must be a whole number from 0 to 99999 (got ${part})`);
  }
  return `part-${String(part).padStart(5, "0")}.${extension}`;
}

const GC_RETENTION = "_lakefs/retention/gc";
const GC_LOGS = "_lakefs/logs/gc";
/** Everything GC writes in a storage namespace is below these (its reports, then its logs). */
export const GC_OUTPUT_PREFIXES = [`${GC_RETENTION}/`, `${GC_LOGS}/`] as const;

/** Keys relative to the storage namespace. Prefixes end with "/". */
export const gcPaths = {
  commitsCsv: (runId: string) =>
    `${GC_RETENTION}/commits/run_id=${validateRunId(runId)}/commits.csv`,
  addressesPrefix: (markId: string) =>
    `${GC_RETENTION}/addresses/mark_id=${validateMarkId(markId)}/`,
  addressesPart: (markId: string, part: number) =>
    gcPaths.addressesPrefix(markId) + partFileName(part, "parquet"),
  addressesTextPrefix: (markId: string) =>
    `${GC_RETENTION}/addresses.text/mark_id=${validateMarkId(markId)}/`,
  addressesTextPart: (markId: string, part: number) =>
    gcPaths.addressesTextPrefix(markId) + partFileName(part, "txt"),
  expiredAddressesPrefix: (at: Date) => `${GC_LOGS}/expired_addresses/dt=${compactTimestamp(at)}/`,
  expiredAddressesPart: (at: Date, part: number) =>
    gcPaths.expiredAddressesPrefix(at) + partFileName(part, "parquet"),
  deletedObjectsPrefix: (at: Date) => `${GC_LOGS}/deleted_objects/dt=${compactTimestamp(at)}/`,
  deletedObjectsPart: (at: Date, part: number) =>
    gcPaths.deletedObjectsPrefix(at) + partFileName(part, "parquet"),
  summary: (runId: string) => `${GC_RETENTION}/summary/run_id=${validateRunId(runId)}.json`,
};

/** The number of a mark's text part from its key (`.../part-00003.txt`), else undefined. */
export function textPartNumber(key: string): number | undefined {
  const m = /part-(\d{5})\.txt$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/**
 * Two lists of one part number among a mark's text parts (`old/part-00000.txt` beside
 * `part-00000.txt`: textPartNumber reads the number from the name's end), or undefined. A
 * backup keeps a part's absent keys, and the copy workflow a part's counts, under its number:
 * the second list's would replace the first's.
 */
export function duplicateTextPart(
  parts: readonly { key: string; part: number }[],
): { part: number; keys: [string, string] } | undefined {
  const seen = new Map<number, string>();
  for (const { key, part } of parts) {
    const first = seen.get(part);
    if (first !== undefined) return { part, keys: [first, key] };
    seen.set(part, key);
  }
  return undefined;
}

/** Why a mark with two lists of one part is not backed up or restored. */
export function duplicateTextPartProblem(
  markId: string,
  dup: { part: number; keys: [string, string] },
): string {
  return `mark id "${markId}": ${dup.keys[0]} and ${dup.keys[1]} are both a list of its part ${dup.part} (one was not written by the mark)`;
}

/**
 * Why a backup may not take a mark's lists as they are, or undefined: a sweep deletes what the
 * lists of its partitions 0..n-1 say, so a backup must read exactly those. With one missing, the
 * backup completed over part of the mark, and once the list was back (a restored version, an
 * S3-compatible store listing late) the sweep deleted objects the backup never held.
 */
export function markPartsProblem(
  markId: string,
  parts: readonly { key: string; part: number }[],
  partitions: number,
): string | undefined {
  const stray = parts.find((p) => p.part >= partitions);
  if (stray) {
    return `mark id "${markId}": ${stray.key} is not one of its ${partitions} partition(s) (it was not written by this mark)`;
  }
  const seen = new Set(parts.map((p) => p.part));
  for (let part = 0; part < partitions; part++) {
    if (!seen.has(part)) {
      return `mark id "${markId}": the list of its part ${part} (${gcPaths.addressesTextPart(markId, part)}) is missing from the storage namespace, so a backup would miss that part's objects`;
    }
  }
  return undefined;
}

/** `s3://bucket/prefix` + relative key -> `s3://bucket/prefix/key`. */
export function namespaceUri(storageNamespace: string, relativeKey: string): string {
  return `${storageNamespace.replace(/\/+$/, "")}/${relativeKey.replace(/^\/+/, "")}`;
}

/**
 * The run's scratch data in the work bucket (never in the namespace), for the workflow:
 *   gc/<repo>/<run>/commits.jsonl                        commit graph: {id,parents,creation_date}
 *   gc/<repo>/<run>/items/items-00000.jsonl              address work items, one JSON a line
 *   gc/<repo>/<run>/addresses/p=00007/active/<batch>.jsonl   protected keys of partition 7
 *   gc/<repo>/<run>/addresses/p=00007/expired/<batch>.jsonl  expired keys of partition 7
 *   gc/<repo>/<run>/mark/p=00007.json                    per-partition counts of the mark
 *   gc/<repo>/<run>/partitions.jsonl, sweep-parts.jsonl  items of the mark and sweep maps
 *   gc/<repo>/<run>/revalidation/snapshot.json, commits.jsonl, items.jsonl
 *                                                        the sweep's view of the repository
 *   gc/<repo>/<run>/revived/p=00007/active/<batch>.jsonl keys revalidation spares in partition 7
 *   gc/<repo>/<run>/sweep/part-00007.txt.json, counts/   counts the summary adds up
 *   gc/<repo>/.sweep-resume/<digest>.json               how far a sweep answered a marked list
 * Partition first, so a mark Lambda lists exactly its own shards.
 */
/** The work bucket prefix of every GC run's and copy's files (the GC functions' grants). */
export const GC_WORK_ROOT = "gc/";

/**
 * Where a stopped sweep records how far it answered a marked list (sweep-resume.ts), by the
 * SHA-256 of the list's key and ETag: the record outlives the run (a later sweep-only run of
 * the mark reads it) and expires with the GC work files. A run id has no dot, so no run's
 * files are there.
 */
export function gcSweepResumeKey(repository: string, listDigest: string): string {
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(repository)) {
    throw new ValidationError(`repository: "${repository}" is not a valid repository id`);
  }
  if (!/^[0-9a-f]{64}$/.test(listDigest)) throw new Error(`invalid list digest "${listDigest}"`);
  return `${GC_WORK_ROOT}${repository}/.sweep-resume/${listDigest}.json`;
}

export function gcWorkKeys(repository: string, runId: string) {
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(repository)) {
    throw new ValidationError(`repository: "${repository}" is not a valid repository id`);
  }
  const root = `${GC_WORK_ROOT}${repository}/${validateRunId(runId)}`;
  const p = (partition: number) => `p=${String(partition).padStart(5, "0")}`;
  return {
    root: `${root}/`,
    commitGraph: `${root}/commits.jsonl`,
    /**
     * The mark's commits.csv as written: revalidation reads which commits the mark kept here,
     * not from the namespace, where anyone with write access can edit the published copy.
     */
    commitsCsv: `${root}/commits.csv`,
    itemsShard: (n: number) => `${root}/items/items-${String(n).padStart(5, "0")}.jsonl`,
    partitionPrefix: (partition: number) => `${root}/addresses/${p(partition)}/`,
    addressShardPrefix: (partition: number, side: AddressSide, area: ShardArea = "addresses") =>
      `${root}/${area}/${p(partition)}/${side}/`,
    addressShard: (
      partition: number,
      side: AddressSide,
      batch: string,
      area: ShardArea = "addresses",
    ) => `${root}/${area}/${p(partition)}/${side}/${batch}.jsonl`,
    markCounts: (partition: number) => `${root}/mark/${p(partition)}.json`,
    /** `{"partition": n}` a line: the mark map's items. */
    partitionList: `${root}/partitions.jsonl`,
    /** `{"key", "part"}` a line: the marked text parts the sweep map deletes. */
    sweepParts: `${root}/sweep-parts.jsonl`,
    sweepCounts: (part: number) => `${root}/sweep/${partFileName(part, "txt")}.json`,
    commitsCounts: `${root}/counts/commits.json`,
    /**
     * Which attempt of the commits step the mark is: the keys of its outputs, created only if
     * absent (overlapping attempts each write their own, commitsAttempt).
     */
    commitsRecord: `${root}/commits-record.json`,
    commitsAttempt: (attempt: string) => {
      if (!/^[0-9a-f]{8,64}$/.test(attempt)) throw new Error(`invalid attempt id "${attempt}"`);
      const a = `${root}/commits-attempts/${attempt}`;
      return {
        commitsCsv: `${a}/commits.csv`,
        commitGraph: `${a}/commits.jsonl`,
        items: `${a}/items.jsonl`,
        partitionList: `${a}/partitions.jsonl`,
        commitsCounts: `${a}/counts.json`,
      };
    },
    /** Counts of the address map (area "addresses") or of revalidation (area "revived"). */
    addressesCountsPrefix: (area: ShardArea = "addresses") => `${root}/counts/${area}/`,
    addressesCounts: (batch: string, area: ShardArea = "addresses") =>
      `${root}/counts/${area}/${batch}.json`,
    /** The repository as the sweep last saw it: refs, covered commits, rules, partitions. */
    revalidationSnapshot: `${root}/revalidation/snapshot.json`,
    /** The commit graph of a snapshot that does not name its own (written before they did). */
    revalidationGraph: `${root}/revalidation/commits.jsonl`,
    /**
     * One attempt's work items (active-side diffs, lists and staged items) and commit graph (the
     * mark's, extended with what was committed since), which its snapshot names: overlapping
     * attempts of a step never write the same key.
     */
    revalidationAttempt: (attempt: string) => {
      if (!/^[0-9a-f]{8,64}$/.test(attempt)) throw new Error(`invalid attempt id "${attempt}"`);
      return {
        items: `${root}/revalidation/${attempt}/items.jsonl`,
        graph: `${root}/revalidation/${attempt}/commits.jsonl`,
      };
    },
    /** Work items of a catch-up round whose snapshot does not name its own (written before). */
    catchUpItems: (round: number) => `${root}/revalidation/items-${round}.jsonl`,
    revalidationCounts: `${root}/counts/revalidation.json`,
  };
}

/** Where address shards go: the mark's collection, or the sweep's revalidation. */
export type ShardArea = "addresses" | "revived";
export type AddressSide = "active" | "expired";

/** `s3://bucket/a/b` -> bucket "bucket", keyPrefix "a/b/" ("" for a whole bucket). */
export function splitNamespace(storageNamespace: string): {
  scheme: string;
  bucket: string;
  keyPrefix: string;
} {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/]+)(?:\/(.*))?$/i.exec(
    storageNamespace.replace(/\/+$/, ""),
  );
  if (!match) {
    throw new ValidationError(
      `storageNamespace: "${storageNamespace}" is not a URI like s3://bucket/prefix`,
    );
  }
  const path = match[3] ?? "";
  return { scheme: match[1]!, bucket: match[2]!, keyPrefix: path ? `${path}/` : "" };
}
