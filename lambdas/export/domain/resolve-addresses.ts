// Physical addresses of paths of a commit, for an incremental export's plan: diff entries carry
// none. Few paths: one statObject each; many: listing windows merge-joined with the paths (see
// plan.ts's header for the costs).
import { forEachConcurrently } from "../../shared/concurrency";
import type { LakeFsApi, ObjectStats } from "../../shared/lakefs/types";
import { compareKeys, keyBefore } from "./keys";

export type PlannerLakeFs = Pick<
  LakeFsApi,
  "diffRefs" | "listObjects" | "listObjectsPage" | "statObject"
>;

export interface ResolveOptions {
  /** A diff page with at most this many objects to resolve uses statObject. Default 16. */
  statThreshold?: number;
  /** A listing window resolving fewer than this switches the page to statObject. Default 8. */
  minHitsPerListing?: number;
  /** Default 1 000 (lakeFS's maximum). */
  pageSize?: number;
  /** statObject calls in flight. Default 8. */
  statConcurrency?: number;
}

/** lakeFS client errors carry the HTTP status; accept the usual spellings. */
function isNotFound(err: unknown): boolean {
  const e = err as { status?: number; statusCode?: number; name?: string } | undefined;
  return e?.status === 404 || e?.statusCode === 404 || /NotFound/.test(e?.name ?? "");
}

/**
 * Stats of `paths` (sorted) in `to`; a path `to` does not have is absent from the map.
 * statObject when few, listing windows merge-joined with the paths when many (see the header).
 */
export async function resolvePhysicalAddresses(
  lakefs: PlannerLakeFs,
  req: { repository: string; commitId: string },
  paths: readonly string[],
  resolve: ResolveOptions = {},
): Promise<Map<string, ObjectStats>> {
  const statThreshold = resolve.statThreshold ?? 16;
  const minHits = resolve.minHitsPerListing ?? 8;
  const pageSize = resolve.pageSize ?? 1000;
  const found = new Map<string, ObjectStats>();
  let i = 0;
  if (paths.length > statThreshold) {
    while (i < paths.length) {
      const page = await lakefs.listObjectsPage(req.repository, req.commitId, {
        after: keyBefore(paths[i]!),
        amount: pageSize,
        userMetadata: true,
      });
      let resolved = 0;
      for (const obj of page.results) {
        if (obj.path_type !== "object") continue;
        // Pending paths sorting before the listed one are not in `to`: the listing is
        // complete from where it started up to this object.
        while (i < paths.length && compareKeys(paths[i]!, obj.path) < 0) {
          i++;
          resolved++;
        }
        if (i >= paths.length) break;
        if (paths[i] === obj.path) {
          found.set(obj.path, obj);
          resolved++;
          i++;
        }
      }
      if (!page.pagination.has_more) {
        // The listing reached the end of `to`: whatever is left is not there.
        i = paths.length;
        break;
      }
      if (resolved < minHits) break;
    }
  }
  await forEachConcurrently(paths.slice(i), resolve.statConcurrency ?? 8, async (path) => {
    try {
      found.set(path, await lakefs.statObject(req.repository, req.commitId, path));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  return found;
}
