// GC deletes in a storage namespace only when no other repository uses it. lakeFS refuses a
// new repository on a namespace in use, except one created bare (how refs-restore copies a
// repository, after copying its _lakefs/ directory) or read-only: two repositories then
// reference the same objects, and what one finds expired the other may still read (its marks
// would also write over the lists of this one's marks with the same id).
import type { GcLakeFs } from "../ports";

export class SharedNamespaceError extends Error {
  override readonly name = "SharedNamespaceError";
}

/** Throws SharedNamespaceError naming the other repositories on `storageNamespace`. */
export async function checkNamespaceOwned(
  lakefs: Pick<GcLakeFs, "listRepositories">,
  repository: string,
  storageNamespace: string,
): Promise<void> {
  const trim = (ns: string) => ns.replace(/\/+$/, "");
  const ns = trim(storageNamespace);
  const others: string[] = [];
  for await (const page of lakefs.listRepositories({ amount: 1000 })) {
    for (const r of page.results) {
      if (r.id !== repository && trim(r.storage_namespace) === ns) others.push(`"${r.id}"`);
    }
  }
  if (others.length === 0) return;
  throw new SharedNamespaceError(
    `storage namespace ${ns} of repository "${repository}" is also the namespace of repository ${others.slice(0, 5).join(", ")}${others.length > 5 ? ` and ${others.length - 5} more` : ""}: their objects are shared, and what one repository no longer references the other may, so GC does not delete there; nothing is deleted`,
  );
}
