// The part of the commit history GC needs: ids, parents and creation dates, nothing else
// (no messages, no metadata), so 100 000 commits fit easily in one Lambda.
import type { Commit } from "../../lakefs/types";

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
  add(commit: Pick<Commit, "id" | "parents" | "creation_date">): void {
    if (this.#nodes.has(commit.id)) return;
    this.#nodes.set(commit.id, {
      parents: commit.parents.slice(),
      creationDate: commit.creation_date,
    });
  }

  addAll(commits: Iterable<Pick<Commit, "id" | "parents" | "creation_date">>): void {
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
