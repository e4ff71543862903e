// Addresses -> keys relative to the storage namespace -> stable hash partitions.
// The mark phase works one partition at a time, so the partition count is what bounds a
// mark Lambda's memory: more data means more partitions, never bigger Lambdas.
import { ValidationError } from "../../shared/errors";

/**
 * Addresses per partition the mark Lambda is sized for (active + staged + marked keys of
 * one partition held in a Set: 2M keys take ~160-300 MB of V8 heap, see mark.ts).
 */
export const MAX_ADDRESSES_PER_PARTITION = 2_000_000;
/** Distributed map fan-out stays reasonable; 10 000 x 2M = 20 billion addresses. */
export const MAX_PARTITIONS = 10_000;

/** Partitions so that `estimatedAddresses` distinct addresses fit `perPartition` each. */
export function choosePartitionCount(
  estimatedAddresses: number,
  perPartition: number = MAX_ADDRESSES_PER_PARTITION,
): number {
  if (!Number.isFinite(estimatedAddresses) || estimatedAddresses < 0) {
    throw new ValidationError("estimatedAddresses: must be a non-negative number");
  }
  if (!Number.isInteger(perPartition) || perPartition < 1) {
    throw new ValidationError("perPartition: must be a whole number of at least 1");
  }
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(estimatedAddresses / perPartition)));
}

/** A storage namespace `scheme://bucket/prefix` without trailing slashes. */
export function normaliseNamespace(storageNamespace: string): string {
  const ns = storageNamespace.replace(/\/+$/, "");
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.test(ns)) {
    throw new ValidationError(
      `storageNamespace: "${storageNamespace}" is not a URI like s3://bucket/prefix`,
    );
  }
  return ns;
}

/**
 * Turns physical addresses into the keys GC may mark, relative to the storage namespace.
 * Addresses outside it (imported objects, other repositories, a sibling prefix like
 * `s3://b/repo-old/`) give undefined: GC never touches them. So do addresses under the
 * namespace's `_lakefs/`: lakeFS keeps its own metadata there (ranges, metaranges, GC
 * reports), and an entry linked to such a key must never make GC delete it. Nor do keys with
 * `.`, `..` or empty segments, nor keys lakeFS's GC never deletes (lakeFsCollects).
 */
export function namespaceKeyer(storageNamespace: string): (address: string) => string | undefined {
  const keyOf = insideKeyer(storageNamespace);
  return (address) => {
    const key = keyOf(address);
    return key !== undefined && lakeFsCollects(key) ? key : undefined;
  };
}

/** Where lakeFS writes a repository's objects (its relative addresses, `data/...`). */
export const LAKEFS_DATA_PREFIX = "data/";
/** What lakeFS writes at a namespace's top level when it creates the repository. */
const LAKEFS_DUMMY_OBJECT = "dummy";

/**
 * Whether lakeFS's GC may delete a namespace key: it lists only `data/` and the namespace's
 * top level (repositories older than the `data/` layout), less its `dummy`. An object linked
 * elsewhere in the namespace (`raw/file.csv`, written there by another tool) it never deletes,
 * nor does Lakeport.
 */
export function lakeFsCollects(key: string): boolean {
  if (key.startsWith(LAKEFS_DATA_PREFIX)) return true;
  return !key.includes("/") && key !== LAKEFS_DUMMY_OBJECT;
}

/** Any key inside the namespace but `_lakefs/` and keys with `.`, `..` or empty segments. */
function insideKeyer(storageNamespace: string): (address: string) => string | undefined {
  const prefix = `${normaliseNamespace(storageNamespace)}/`;
  return (address) => {
    if (!address.startsWith(prefix) || address.length === prefix.length) return undefined;
    const key = address.slice(prefix.length);
    if (key.startsWith(LAKEFS_METADATA_PREFIX) || hasDotOrEmptySegment(key)) return undefined;
    return key;
  };
}

/**
 * The namespace key an address referenced by a kept commit or a branch protects. Usually
 * namespaceKeyer's; an address with `.`, `..` or empty segments (never marked itself) protects
 * the key it resolves to, since a store or tool that resolves paths reads that object through
 * it (`ns/tmp/../data/a` and `ns/other/../ns/data/a` read `ns/data/a`): the plain key must not
 * be swept because an expired commit holds it too.
 */
export function protectedKeyer(storageNamespace: string): (address: string) => string | undefined {
  // Every key, markable or not: protection never narrows.
  const keyOf = insideKeyer(storageNamespace);
  return (address) => {
    const key = keyOf(address);
    if (key !== undefined) return key;
    const resolved = resolvePath(address);
    return resolved === undefined ? undefined : keyOf(resolved);
  };
}

/** `scheme://bucket/a/./b//../c` -> `scheme://bucket/a/c`; undefined when nothing resolves. */
function resolvePath(address: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]+)\/(.*)$/is.exec(address);
  if (!m || !hasDotOrEmptySegment(m[2]!)) return undefined;
  const out: string[] = [];
  for (const segment of m[2]!.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `${m[1]}/${out.join("/")}`;
}

/**
 * `a/../b`, `a/./b`, `a//b`: S3 keeps such a key as it is, but stores and tools that resolve
 * paths read another object (outside the namespace, for `..`), so GC leaves it alone.
 */
export function hasDotOrEmptySegment(key: string): boolean {
  return DOT_OR_EMPTY_SEGMENT.test(key);
}
const DOT_OR_EMPTY_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)|\/\/|^\//;

/** Where lakeFS keeps a repository's own metadata in its storage namespace. */
export const LAKEFS_METADATA_PREFIX = "_lakefs/";

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/**
 * FNV-1a 64 over the UTF-8 bytes of `text`, as [high 32 bits, low 32 bits]; computed in
 * 32-bit halves (no BigInt) because it runs once per address.
 */
export function fnv1a64(text: string): [number, number] {
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < written; i++) {
    lo = (lo ^ scratch[i]!) >>> 0;
    // h * 0x100000001b3 = h * 0x1b3 + (h << 40), modulo 2^64.
    const loProduct = lo * 0x1b3;
    const carry = Math.floor(loProduct / 0x1_0000_0000);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = loProduct >>> 0;
  }
  return [hi, lo];
}

/** The partition (0..count-1) of a key: stable across runs, Lambdas and Node versions. */
export function partitionOf(key: string, count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new ValidationError(`partitionCount: must be a whole number from 1 to ${MAX_PARTITIONS}`);
  }
  const [hi, lo] = fnv1a64(key);
  // (hi * 2^32 + lo) mod count, without leaving exact double arithmetic.
  return ((((hi % count) * (0x1_0000_0000 % count)) % count) + (lo % count)) % count;
}

/**
 * Groups the namespace keys of some addresses by partition, dropping addresses outside
 * the namespace. For one page or one batch at a time: memory is that batch.
 */
export function partitionAddresses(
  addresses: Iterable<string>,
  storageNamespace: string,
  count: number,
): Map<number, string[]> {
  const keyOf = namespaceKeyer(storageNamespace);
  const out = new Map<number, string[]>();
  for (const address of addresses) {
    const key = keyOf(address);
    if (key === undefined) continue;
    const p = partitionOf(key, count);
    const bucket = out.get(p);
    if (bucket) bucket.push(key);
    else out.set(p, [key]);
  }
  return out;
}

/**
 * When one partition still holds more keys than a mark Lambda can keep (an estimate that
 * was too low), the mark runs in several passes over the same shards, pass i keeping only
 * the keys with passOf(key, passes) === i. Salted so that it is independent of partitionOf.
 */
export function passOf(key: string, passes: number): number {
  if (!Number.isInteger(passes) || passes < 1) {
    throw new ValidationError("passes: must be a whole number of at least 1");
  }
  if (passes === 1) return 0;
  const [hi, lo] = fnv1a64(`pass:${key}`);
  return ((((hi % passes) * (0x1_0000_0000 % passes)) % passes) + (lo % passes)) % passes;
}

/** Passes needed for `keys` keys (protected + expired lines of one partition's shards). */
export function choosePassCount(
  keys: number,
  perPass: number = MAX_ADDRESSES_PER_PARTITION,
): number {
  return choosePartitionCount(keys, perPass);
}
