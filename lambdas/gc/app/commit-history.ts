// Reading what GC needs of a repository's history from lakeFS: its branches and tags, and the
// commit graph (ids, parents, dates) of everything they reach. Shared by the commits step
// (the mark) and revalidation (the sweep), which extends the mark's graph with what was
// committed since: a log is read only until it reaches commits the graph already has.
import type { Commit, Ref } from "../../shared/lakefs/types";
import type { CommitGraph } from "../domain/commit-graph";
import type { GcLakeFs } from "../ports";

export interface RepositoryRefs {
  branches: Ref[];
  tags: Ref[];
}

/**
 * The branches and tags. lakeFS lists them apart (and a list longer than a page in several
 * calls), so a ref moved between two calls (a tag turned into a branch: the branch created
 * from it, then the tag deleted) could be in no listing at all, and a commit referenced
 * throughout look unreferenced. So both are read twice and every ref either reading saw is
 * taken: a ref missed by the first reading because it moved is in the second. (A ref deleted
 * meanwhile is taken too: it only keeps more.)
 */
export async function readRefs(lakefs: GcLakeFs, repository: string): Promise<RepositoryRefs> {
  const read = async (): Promise<RepositoryRefs> => ({
    branches: await readBranches(lakefs, repository),
    tags: await collectRefs(lakefs.listTags(repository, { amount: 1000 })),
  });
  const first = await read();
  const second = await read();
  return {
    branches: unionOfRefs(second.branches, first.branches),
    tags: unionOfRefs(second.tags, first.tags),
  };
}

/** `a`, then the refs of `b` (by name and commit) it does not hold. */
function unionOfRefs(a: Ref[], b: Ref[]): Ref[] {
  const seen = new Set(a.map((r) => `${r.id}\u0000${r.commit_id}`));
  return [...a, ...b.filter((r) => !seen.has(`${r.id}\u0000${r.commit_id}`))];
}

/**
 * Every branch, hidden ones included: lakeFS leaves a branch created with `hidden: true` out
 * of its listings unless asked, yet it is read by name like any other, and lakeFS's own GC
 * starts at its head and keeps its uncommitted entries.
 */
export async function readBranches(lakefs: GcLakeFs, repository: string): Promise<Ref[]> {
  return collectRefs(lakefs.listBranches(repository, { amount: 1000, showHidden: true }));
}

async function collectRefs(pages: AsyncIterable<{ results: Ref[] }>): Promise<Ref[]> {
  const out: Ref[] = [];
  for await (const page of pages) for (const r of page.results) if (r.commit_id) out.push(r);
  return out;
}

/** Adds the history of every branch and tag to the graph. */
export async function addRefsHistory(
  lakefs: GcLakeFs,
  repository: string,
  refs: RepositoryRefs,
  graph: CommitGraph,
  onAdded?: (commit: Commit) => void,
): Promise<void> {
  for (const ref of [...refs.branches, ...refs.tags]) {
    await addHistory(lakefs, repository, ref.commit_id, graph, onAdded);
  }
}

/**
 * Adds every ancestor of `head` to the graph. The log of a ref lists all its ancestors; it is
 * read only until every ancestor not yet in the graph has been seen, so refs sharing history
 * (a branch forked from main) cost little more than their own commits. Earlier walks always
 * completed, so a commit already in the graph has all its ancestors there too.
 */
export async function addHistory(
  lakefs: GcLakeFs,
  repository: string,
  head: string,
  graph: CommitGraph,
  /** Told each commit added, as the log read it (message and metadata included). */
  onAdded?: (commit: Commit) => void,
): Promise<void> {
  if (graph.has(head)) return;
  const pending = new Set([head]);
  for await (const page of lakefs.logCommits(repository, head, { amount: 1000 })) {
    for (const commit of page.results) {
      pending.delete(commit.id);
      if (graph.has(commit.id)) continue;
      graph.add(commit);
      onAdded?.(commit);
      for (const parent of commit.parents) if (!graph.has(parent)) pending.add(parent);
    }
    if (pending.size === 0) return;
  }
  if (pending.size > 0) {
    throw new Error(
      `commit log of ${head} ended without ${pending.size} ancestor(s), e.g. ${[...pending][0]}`,
    );
  }
}

/** Two views of the refs name the same commits (branch and tag names included). */
export function sameRefs(a: RepositoryRefs, b: RepositoryRefs): boolean {
  const key = (r: RepositoryRefs) =>
    JSON.stringify([
      r.branches.map((x) => [x.id, x.commit_id]).sort(),
      r.tags.map((x) => [x.id, x.commit_id]).sort(),
    ]);
  return key(a) === key(b);
}
