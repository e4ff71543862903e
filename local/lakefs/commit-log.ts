// The commit log of a ref, paged as lakeFS pages it. A walk over all parents paused at a page
// end is kept, so the next page continues it instead of walking again from the head.
import { ApiError } from "./api-error";
import { walkLog } from "./commit-graph";
import type { PageResult } from "./paging";
import { resolveRef } from "./refs";
import type { CommitRecord, RepositoryStore } from "./repository-store";

export interface LogOptions {
  after?: string;
  amount: number;
  firstParent: boolean;
  stopAt?: string;
  /** Unix seconds: commits older than this end the log. */
  since?: number;
}

export class CommitLog {
  /** Log walks paused at a page end, keyed by repo, head, stop_at and last id returned. */
  private readonly cursors = new Map<string, Iterator<CommitRecord>>();

  constructor(private readonly repos: RepositoryStore) {}

  /**
   * A page of the commit log of `ref`, newest first (by creation date, then generation), all
   * parents followed unless `firstParent`; ends after `stopAt` (included).
   */
  page(repo: string, ref: string, opts: LogOptions): PageResult<CommitRecord> {
    const state = this.repos.repo(repo);
    const head = resolveRef(this.repos, state, ref).commit;
    const stopAt = opts.stopAt ? resolveRef(this.repos, state, opts.stopAt).commit.id : undefined;
    const results: CommitRecord[] = [];
    let walk: Iterator<CommitRecord>;
    let skipping = false;
    const cacheKey = (after: string) => `${repo}\0${head.id}\0${stopAt ?? ""}\0${after}`;
    const cached = opts.after ? this.cursors.get(cacheKey(opts.after)) : undefined;
    if (cached && !opts.firstParent) {
      // The walk that produced the previous page, resumed where it stopped.
      this.cursors.delete(cacheKey(opts.after!));
      walk = cached;
    } else if (opts.firstParent && opts.after) {
      // The first-parent chain continues right below the last commit returned.
      const last = state.commits.get(opts.after);
      if (!last) throw new ApiError(400, "after: unknown commit");
      if (last.id === stopAt) return { results, hasMore: false };
      const next = last.parents[0];
      walk = (next ? walkLog(this.repos, state, this.repos.commitOf(state, next), true) : [])[
        Symbol.iterator
      ]();
    } else {
      walk = walkLog(this.repos, state, head, opts.firstParent);
      skipping = opts.after !== undefined;
    }
    for (let step = walk.next(); !step.done; step = walk.next()) {
      const commit = step.value;
      if (opts.since !== undefined && commit.creation_date < opts.since) {
        return { results, hasMore: false };
      }
      if (skipping) {
        if (commit.id === opts.after) skipping = false;
        if (commit.id === stopAt) return { results, hasMore: false };
        continue;
      }
      if (results.length === opts.amount) {
        if (!opts.firstParent) {
          this.cursors.set(cacheKey(results[results.length - 1]!.id), prepend(commit, walk));
          if (this.cursors.size > 64) {
            this.cursors.delete(this.cursors.keys().next().value!);
          }
        }
        return { results, hasMore: true };
      }
      results.push(commit);
      if (commit.id === stopAt) return { results, hasMore: false };
    }
    return { results, hasMore: false };
  }
}

function* prepend<T>(first: T, rest: Iterator<T>): Generator<T> {
  yield first;
  for (let step = rest.next(); !step.done; step = rest.next()) yield step.value;
}
