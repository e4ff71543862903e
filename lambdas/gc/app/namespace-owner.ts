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
  const { others, inside } = await namespaceUsers(lakefs, repository, ns);
  if (others.length === 0) return [...inside.keys()].sort();
  throw sharedError(ns, repository, others);
}

/**
 * During a sweep (its checks, sweep-guard.ts): throws SharedNamespaceError when another
 * repository now uses `storageNamespace`, or one lies inside it that revalidation did not see
 * (its prefix not in `known`): a bare copy made by refs-restore from an older dump may name
 * commits this repository expired, and the sweep would delete what that copy reads.
 */
export async function checkNamespaceStillOwned(
  lakefs: Pick<GcLakeFs, "listRepositories">,
  repository: string,
  storageNamespace: string,
  known: readonly string[],
): Promise<void> {
  const ns = storageNamespace.replace(/\/+$/, "");
  const { others, inside } = await namespaceUsers(lakefs, repository, ns);
  if (others.length > 0) throw sharedError(ns, repository, others, " (created during the sweep)");
  const added = [...inside].filter(([prefix]) => !known.includes(prefix));
  if (added.length === 0) return;
  const names = [...new Set(added.flatMap(([, repos]) => repos))];
  throw new SharedNamespaceError(
    `repository ${names.slice(0, 5).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""} was created inside storage namespace ${ns} of repository "${repository}" during the sweep (under ${added
      .map(([p]) => p)
      .slice(0, 5)
      .join(", ")}): its objects lie there, so the sweep stopped; nothing more is deleted`,
  );
}

/** Other repositories on `ns`, and those inside it by prefix (`sub/`, every reading of each). */
async function namespaceUsers(
  lakefs: Pick<GcLakeFs, "listRepositories">,
  repository: string,
  ns: string,
): Promise<{ others: string[]; inside: Map<string, string[]> }> {
  const others: string[] = [];
  const inside = new Map<string, string[]>();
  for await (const page of lakefs.listRepositories({ amount: 1000 })) {
    for (const r of page.results) {
      if (r.id === repository) continue;
      const readings = namespaceReadings(r.storage_namespace);
      if (readings.includes(ns)) others.push(`"${r.id}"`);
      for (const theirs of readings) {
        if (!theirs.startsWith(`${ns}/`)) continue;
        const prefix = `${theirs.slice(ns.length + 1)}/`;
        inside.set(prefix, [...(inside.get(prefix) ?? []), `"${r.id}"`]);
      }
    }
  }
  return { others, inside };
}

function sharedError(ns: string, repository: string, others: string[], when = "") {
  return new SharedNamespaceError(
    `storage namespace ${ns} of repository "${repository}" is also the namespace of repository ${others.slice(0, 5).join(", ")}${others.length > 5 ? ` and ${others.length - 5} more` : ""}${when}: their objects are shared, and what one repository no longer references the other may, so GC does not delete there; nothing is deleted`,
  );
}
