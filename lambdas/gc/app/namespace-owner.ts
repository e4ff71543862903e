// GC deletes in a storage namespace only when no other repository uses it. lakeFS refuses a
// new repository on a namespace in use, except one created bare (how refs-restore copies a
// repository, after copying its _lakefs/ directory) or read-only: two repositories then
// reference the same objects, and what one finds expired the other may still read (its marks
// would also write over the lists of this one's marks with the same id). lakeFS also accepts a
// namespace inside another's (it only looks for `<namespace>/_lakefs/`): such a repository's
// objects lie in this namespace, where an expired commit of this repository may link one.
import { namespaceReadings, namespaceSpellingProblem } from "../domain/namespace-readings";
import type { GcLakeFs } from "../ports";

export class SharedNamespaceError extends Error {
  override readonly name = "SharedNamespaceError";
}

/**
 * Throws SharedNamespaceError naming the other repositories on `storageNamespace` (or on a
 * namespace lakeFS reads as it: namespace-readings.ts), and when `storageNamespace` itself is
 * not written as lakeFS reads it; else the namespaces of other repositories inside it, as key
 * prefixes relative to it (`sub/`), every reading of each.
 */
export async function checkNamespaceOwned(
  lakefs: Pick<GcLakeFs, "listRepositories">,
  repository: string,
  storageNamespace: string,
): Promise<string[]> {
  const spelling = namespaceSpellingProblem(storageNamespace);
  if (spelling) {
    throw new SharedNamespaceError(
      `storage namespace ${storageNamespace} of repository "${repository}" is not one GC can collect: ${spelling}; nothing is deleted`,
    );
  }
  const ns = storageNamespace.replace(/\/+$/, "");
  const others: string[] = [];
  const inside = new Set<string>();
  for await (const page of lakefs.listRepositories({ amount: 1000 })) {
    for (const r of page.results) {
      if (r.id === repository) continue;
      const readings = namespaceReadings(r.storage_namespace);
      if (readings.includes(ns)) others.push(`"${r.id}"`);
      for (const theirs of readings) {
        if (theirs.startsWith(`${ns}/`)) inside.add(`${theirs.slice(ns.length + 1)}/`);
      }
    }
  }
  if (others.length === 0) return [...inside].sort();
  throw new SharedNamespaceError(
    `storage namespace ${ns} of repository "${repository}" is also the namespace of repository ${others.slice(0, 5).join(", ")}${others.length > 5 ? ` and ${others.length - 5} more` : ""}: their objects are shared, and what one repository no longer references the other may, so GC does not delete there; nothing is deleted`,
  );
}
