// A brute-force model of GC (what README.md says GC deletes) for the property tests:
// full trees for every commit, no shortcuts, no partitions.
import type { Diff, ObjectStats } from "../../lambdas/shared/lakefs/types";

export interface ModelCommit {
  id: string;
  parents: string[];
  creationDate: number;
  /** path -> physical address (full URI). */
  tree: Map<string, string>;
}

export interface ModelStart {
  commitId: string;
  retentionDays: number;
}

export interface ModelRepo {
  commits: Map<string, ModelCommit>;
  storageNamespace: string;
  /** branch -> staged physical addresses (uncommitted added/changed entries). */
  staged: Map<string, string[]>;
}

/**
 * Active, by the definition: every start, and the main parent of every commit `c` on a
 * start's whole main (first-parent) chain that was created after that start's threshold (a
 * date in the threshold's own second counts: lakeFS's API truncates dates to the second).
 */
export function modelRetention(
  repo: ModelRepo,
  starts: readonly ModelStart[],
  now: number,
): { active: Set<string>; expired: Set<string> } {
  const active = new Set<string>();
  for (const s of starts) {
    // Lakeport's window: lakeFS's days of 86 400 s, plus three hours (daylight saving, skew).
    const threshold = now - s.retentionDays * 86_400 - 3 * 3_600;
    active.add(s.commitId);
    let c: ModelCommit | undefined = repo.commits.get(s.commitId);
    while (c) {
      const main = c.parents[0];
      if (main === undefined) break;
      if (c.creationDate >= threshold) active.add(main);
      c = repo.commits.get(main);
    }
  }
  const reachable = new Set<string>();
  const visit = (id: string): void => {
    if (reachable.has(id)) return;
    reachable.add(id);
    for (const p of repo.commits.get(id)!.parents) visit(p);
  };
  for (const s of starts) visit(s.commitId);
  const expired = new Set([...reachable].filter((id) => !active.has(id)));
  return { active, expired };
}

/** Keys (relative to the namespace) that only expired commits reference. */
export function modelMark(
  repo: ModelRepo,
  retention: { active: Set<string>; expired: Set<string> },
): Set<string> {
  const inside = `${repo.storageNamespace}/`;
  const protectedAddresses = new Set<string>();
  for (const id of retention.active) {
    for (const a of repo.commits.get(id)!.tree.values()) protectedAddresses.add(a);
  }
  for (const addresses of repo.staged.values())
    for (const a of addresses) protectedAddresses.add(a);
  const marked = new Set<string>();
  for (const id of retention.expired) {
    for (const a of repo.commits.get(id)!.tree.values()) {
      if (a.startsWith(inside) && a.length > inside.length && !protectedAddresses.has(a)) {
        marked.add(a.slice(inside.length));
      }
    }
  }
  return marked;
}

/** What lakeFS answers for a listing of a commit (one page). */
export function modelListing(repo: ModelRepo, commit: string): ObjectStats[] {
  return [...repo.commits.get(commit)!.tree].map(([path, physical_address]) => ({
    path,
    physical_address,
    path_type: "object",
    checksum: physical_address,
    mtime: 0,
  }));
}

/** What lakeFS answers for a two_dot diff parent..commit (one page, paths only). */
export function modelDiffEntries(repo: ModelRepo, parent: string, commit: string): Diff[] {
  const left = repo.commits.get(parent)!.tree;
  const right = repo.commits.get(commit)!.tree;
  const out: Diff[] = [];
  for (const [path, address] of right) {
    if (!left.has(path)) out.push({ type: "added", path, path_type: "object" });
    else if (left.get(path) !== address) out.push({ type: "changed", path, path_type: "object" });
  }
  for (const path of left.keys()) {
    if (!right.has(path)) out.push({ type: "removed", path, path_type: "object" });
  }
  return out;
}

/** What lakeFS answers for a stat of a path at a commit. */
export function modelStat(repo: ModelRepo, commit: string, path: string): string {
  const address = repo.commits.get(commit)!.tree.get(path);
  if (address === undefined) throw new Error(`no "${path}" in ${commit}`);
  return address;
}
