// Development-only bulk staging: many links of physical addresses onto one branch in one
// request, so benchmarks can build lakeFS-scale branches (millions of paths) without one HTTP
// request per path. Each entry is validated as lakeFS's linkPhysicalAddress body would be and
// then staged through the same model call, so staging logs, listings, commits and diffs are
// those of linked objects. All entries are checked before any is staged: a bad request
// stages nothing.
//   POST /_lakeport/repositories/{repo}/branches/{branch}/staging
//     {"entries": [{"path", "physical_address", "checksum", "size_bytes", "mtime"?,
//                   "content_type"?, "user_metadata"?}, ...]}
//     -> 200 {"staged": n}; 400 naming the bad field; 404 unknown repository or branch
import { ApiError } from "./api-error";
import type { EntryValue } from "./graveler";
import type { LakeFsModel } from "./model";
import type { Reply } from "./routes/routing";
import { entryFromBody } from "./routes/staging";

export const BULK_STAGING_PATH = /^\/_lakeport\/repositories\/([^/]+)\/branches\/([^/]+)\/staging$/;
export const MAX_BULK_STAGING_ENTRIES = 10_000;

const ENTRY_FIELDS = new Set([
  "path",
  "physical_address",
  "checksum",
  "size_bytes",
  "mtime",
  "content_type",
  "user_metadata",
]);

export interface BulkEntry {
  path: string;
  value: EntryValue;
}

/** The entries of a bulk staging body; ApiError 400 naming the first bad field. */
export function parseBulkStagingBody(raw: Buffer): BulkEntry[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ApiError(400, "request body: invalid JSON object");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "request body: must be a JSON object");
  }
  const entries = (body as { entries?: unknown }).entries;
  if (!Array.isArray(entries)) throw new ApiError(400, "entries: must be an array");
  if (entries.length === 0 || entries.length > MAX_BULK_STAGING_ENTRIES) {
    throw new ApiError(400, `entries: must hold 1 to ${MAX_BULK_STAGING_ENTRIES} entries`);
  }
  return entries.map((e, i) => parseEntry(e, `entries[${i}]`));
}

function parseEntry(e: unknown, at: string): BulkEntry {
  if (e === null || typeof e !== "object" || Array.isArray(e)) {
    throw new ApiError(400, `${at}: must be an object`);
  }
  const entry = e as Record<string, unknown>;
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) throw new ApiError(400, `${at}.${field}: unknown field`);
  }
  if (typeof entry.path !== "string" || entry.path === "") {
    throw new ApiError(400, `${at}.path: must be a non-empty string`);
  }
  if (entry.mtime !== undefined && !Number.isInteger(entry.mtime)) {
    throw new ApiError(400, `${at}.mtime: must be an integer (Unix seconds)`);
  }
  if (entry.content_type !== undefined && typeof entry.content_type !== "string") {
    throw new ApiError(400, `${at}.content_type: must be a string`);
  }
  try {
    return {
      path: entry.path,
      value: entryFromBody(entry.physical_address, entry, "user_metadata"),
    };
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.status, `${at}.${err.message}`);
    throw err;
  }
}

/** Serves the bulk staging endpoint for `repo` and `branch` (already URL-decoded). */
export async function serveBulkStaging(
  model: LakeFsModel,
  method: string,
  repo: string,
  branch: string,
  body: () => Promise<Buffer>,
): Promise<Reply> {
  if (method !== "POST") throw new ApiError(405, `${method}: not supported (POST entries)`);
  const raw = await body();
  model.getBranch(repo, branch);
  const entries = parseBulkStagingBody(raw);
  for (const { path, value } of entries) model.stageObject(repo, branch, path, value);
  return { status: 200, json: { staged: entries.length } };
}
