// Whether an incremental export can merge its manifest with the previous export's: the index
// of the last exported commit is there, describes this export path, and every part and CSV
// file it lists still exists (a lifecycle rule or a person may have removed earlier commits'
// status files; a merge lists untouched parts by reference, without reading them). One GET,
// and one LIST per folder the index's parts live in (the commits that wrote them), a few at once.
import { mapConcurrently } from "../../shared/concurrency";
import {
  type ManifestIndex,
  manifestFilesByFolder,
  mergeableManifestIndex,
} from "../domain/manifest";
import type { ExportObjectStore } from "../ports";

/** Folders listed at once (an index of a 100 million-object branch has 1 000 parts). */
const FOLDER_LISTINGS_IN_FLIGHT = 8;

export type PreviousManifest =
  | { mergeable: true; index: ManifestIndex }
  | { mergeable: false; reason: string };

export async function previousManifestOf(
  store: Pick<ExportObjectStore, "getText" | "listKeys">,
  bucket: string,
  indexKey: string,
  exportPath: string,
): Promise<PreviousManifest> {
  const body = await store.getText(bucket, indexKey);
  if (body === undefined) return { mergeable: false, reason: "no manifest index" };
  const index = mergeableManifestIndex(body, exportPath);
  if (!index) {
    return { mergeable: false, reason: "not a manifest index of this export path" };
  }
  const missing = mapConcurrently(
    manifestFilesByFolder(index),
    FOLDER_LISTINGS_IN_FLIGHT,
    async ([folder, wanted]: [string, Set<string>]) => {
      for await (const key of store.listKeys(bucket, folder)) {
        wanted.delete(key);
        if (wanted.size === 0) break;
      }
      return [...wanted][0];
    },
  );
  for await (const key of missing) {
    if (key !== undefined) return { mergeable: false, reason: `${key} is missing` };
  }
  return { mergeable: true, index };
}
