// The part of the commit history GC needs: ids, parents and creation dates, nothing else
// (no messages, no metadata), so 100 000 commits fit easily in one Lambda.
import type { Commit } from "../../shared/lakefs/types";

/** Read access to commits; the retention and planning algorithms only need this. */
export interface CommitSource {
  /** Parents, the main (first) parent first; undefined when the commit is unknown. */
  parentsOf(commitId: string): readonly string[] | undefined;
  /** Unix epoch seconds; undefined when the commit is unknown. */
  creationDateOf(commitId: string): number | undefined;
}

export interface CommitNode {
  parents: readonly string[];
  creationDate: number;
}

export type GraphCommit = Pick<Commit, "id" | "parents" | "creation_date" | "version">;

/**
 * Parents with the main parent first. lakeFS commits of record version 0 (written before
 * lakeFS switched the parent order) keep the main parent last; version 1 and later (and
 * commits whose version lakeFS does not report) keep it first.
 */
export function mainParentFirst(commit: Pick<Commit, "parents" | "version">): string[] {
  const parents = commit.parents.slice();
  if (commit.version === 0 && parents.length > 1) parents.unshift(parents.pop()!);
  return parents;
}

/** The commit is needed (a starting point or a parent) but was never added. */
export class MissingCommitError extends Error {
  override readonly name = "MissingCommitError";
  constructor(readonly commitId: string) {
    super(`commit "${commitId}" is not in the commit graph (is the log complete?)`);
  }
}

/**
 * A commit graph built incrementally, e.g. from the pages of lakeFS's log of every branch
 * and tag. Adding a commit twice is harmless (logs of different branches overlap).
 */
export class CommitGraph implements CommitSource {
  readonly #nodes = new Map<string, CommitNode>();

  /** Adds one commit of a log page. */
  add(commit: GraphCommit): void {
    if (this.#nodes.has(commit.id)) return;
    this.#nodes.set(commit.id, {
      parents: mainParentFirst(commit),
      creationDate: commit.creation_date,
    });
  }

  addAll(commits: Iterable<GraphCommit>): void {
    for (const c of commits) this.add(c);
  }

  has(commitId: string): boolean {
    return this.#nodes.has(commitId);
  }

  get size(): number {
    return this.#nodes.size;
  }

  ids(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  parentsOf(commitId: string): readonly string[] | undefined {
    return this.#nodes.get(commitId)?.parents;
  }

  creationDateOf(commitId: string): number | undefined {
    return this.#nodes.get(commitId)?.creationDate;
  }
}
