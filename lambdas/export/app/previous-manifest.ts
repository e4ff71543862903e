// Whether an incremental export can merge its manifest with the previous export's: the index
// of the last exported commit is there, describes this export path, and every part and CSV
// file it lists still exists (a lifecycle rule or a person may have removed earlier commits'
// status files; a merge lists untouched parts by reference, without reading them). One GET,
// and one LIST per folder the index's parts live in (the commits that wrote them).
import {
  type ManifestIndex,
  manifestFilesByFolder,
  mergeableManifestIndex,
} from "../domain/manifest";
import type { ExportObjectStore } from "../ports";

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
  for (const [folder, wanted] of manifestFilesByFolder(index)) {
    for await (const key of store.listKeys(bucket, folder)) {
      wanted.delete(key);
      if (wanted.size === 0) break;
    }
    const [missing] = wanted;
    if (missing !== undefined) return { mergeable: false, reason: `${missing} is missing` };
  }
  return { mergeable: true, index };
}
