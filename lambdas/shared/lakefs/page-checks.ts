// Quick acceptance of the two pages Lakeport reads by the million (object listings and diffs:
// a 100 million-object export or GC reads 100 000 of them). Each check accepts a body only
// when its schema in schemas.ts would (the same required fields, types and enums); anything
// else goes to the schema, which names the bad field. A page accepted here is returned as
// parsed instead of as the schema's copy.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown) => Number.isSafeInteger(v);
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const isString = (v: unknown) => typeof v === "string";

function isStringMap(v: unknown): boolean {
  if (!isObj(v)) return false;
  for (const k in v) if (typeof v[k] !== "string") return false;
  return true;
}

const isPathType = (v: unknown) => v === "object" || v === "common_prefix";

function isPagination(v: unknown): boolean {
  return (
    isObj(v) &&
    typeof v.has_more === "boolean" &&
    isString(v.next_offset) &&
    isInt(v.results) &&
    (v.results as number) >= 0 &&
    isInt(v.max_per_page) &&
    (v.max_per_page as number) >= 0
  );
}

function isPageOf(body: unknown, item: (v: unknown) => boolean): boolean {
  if (!isObj(body) || !isPagination(body.pagination) || !Array.isArray(body.results)) return false;
  for (const r of body.results) if (!item(r)) return false;
  return true;
}

function isObjectStats(v: unknown): boolean {
  return (
    isObj(v) &&
    isString(v.path) &&
    isPathType(v.path_type) &&
    isString(v.physical_address) &&
    optional(v.physical_address_expiry, isInt) &&
    isString(v.checksum) &&
    optional(v.size_bytes, isInt) &&
    isInt(v.mtime) &&
    optional(v.metadata, isStringMap) &&
    optional(v.content_type, isString)
  );
}

const DIFF_TYPES = new Set(["added", "removed", "changed", "conflict", "prefix_changed"]);

function isDiffObjectStat(v: unknown): boolean {
  return (
    isObj(v) &&
    isString(v.checksum) &&
    isInt(v.mtime) &&
    isString(v.content_type) &&
    optional(v.metadata, isStringMap)
  );
}

function isDiff(v: unknown): boolean {
  return (
    isObj(v) &&
    typeof v.type === "string" &&
    DIFF_TYPES.has(v.type) &&
    isString(v.path) &&
    isPathType(v.path_type) &&
    optional(v.size_bytes, isInt) &&
    optional(v.right, isDiffObjectStat)
  );
}

/** A page of `listObjects` that ObjectStatsListSchema accepts. */
export const isObjectStatsPage = (body: unknown): boolean => isPageOf(body, isObjectStats);

/** A page of `diffRefs` / `diffBranch` that DiffListSchema accepts. */
export const isDiffPage = (body: unknown): boolean => isPageOf(body, isDiff);
