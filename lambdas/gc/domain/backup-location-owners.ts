// A GC backup is kept outside every repository's storage namespace, not only its own: what
// owns a namespace may take the objects under it for its own (lakeFS's garbage collection of
// objects no commit references lists the namespace, and Lakeport's GC of that repository
// deletes marked keys there), so a backup kept inside one can be gone when it is needed.
import { locationsOverlap, normalizeS3Location } from "../../shared/s3-naming";
import { namespaceReadings } from "./namespace-readings";

export interface NamespaceHolder {
  id: string;
  storage_namespace: string;
}

/**
 * Why `location` (s3://bucket[/prefix]) cannot hold a backup, given some of the lakeFS
 * server's repositories: it overlaps (is, holds or lies inside) a namespace of one of them, in
 * any way lakeFS may read that namespace. Undefined when it overlaps none.
 */
export function backupLocationOverlap(
  location: string,
  repositories: Iterable<NamespaceHolder>,
): string | undefined {
  for (const repo of repositories) {
    for (const reading of namespaceReadings(repo.storage_namespace)) {
      if (!reading.startsWith("s3://")) continue;
      if (locationsOverlap(location, reading)) {
        return `${normalizeS3Location(location)} overlaps the storage namespace ${reading} of repository "${repo.id}", whose garbage collection may delete what a backup keeps there: back up outside every storage namespace`;
      }
    }
  }
  return undefined;
}
