// Differences as lakeFS pages them: committed differences between two refs (two-dot, or
// three-dot from their merge base) and the uncommitted changes of a branch.
import { mergeBase } from "./commit-graph";
import { type Bound, diffTrees, lookup, sameValue, type TreeDifference } from "./graveler";
import { type DiffEntry, type PageResult, pageDiff } from "./paging";
import { resolveRef } from "./refs";
import { EMPTY_TREE, type RepositoryStore } from "./repository-store";

/** Committed differences between two refs (branches resolve to their head commits). */
export function diffRefs(
  repos: RepositoryStore,
  repo: string,
  leftRef: string,
  rightRef: string,
  opts: {
    type: "two_dot" | "three_dot";
    after?: string;
    prefix: string;
    delimiter: string;
    amount: number;
  },
): PageResult<DiffEntry> {
  const state = repos.repo(repo);
  const left = resolveRef(repos, state, leftRef).commit;
  const right = resolveRef(repos, state, rightRef).commit;
  let leftTree = repos.tree(state, left.id);
  if (opts.type === "three_dot") {
    const base = mergeBase(repos, state, left.id, right.id);
    leftTree = base ? repos.tree(state, base.id) : EMPTY_TREE;
  }
  const rightTree = repos.tree(state, right.id);
  return pageDiff(
    (from) => diffTrees(repos.store, leftTree, rightTree, from),
    opts.prefix,
    opts.after,
    opts.delimiter,
    opts.amount,
  );
}

/** Uncommitted changes of a branch. */
export function diffBranch(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  opts: { after?: string; prefix: string; delimiter: string; amount: number },
): PageResult<DiffEntry> {
  const state = repos.repo(repo);
  const b = repos.branch(state, branch);
  const tree = repos.tree(state, b.commit_id);
  const staged = repos.staging(state, b.staging_token);
  const store = repos.store;
  function* differences(from?: Bound): Generator<TreeDifference> {
    const it = from
      ? from.inclusive
        ? staged.entriesFrom(from.key)
        : staged.entriesAfter(from.key)
      : staged.entriesAfter();
    for (const [key, value] of it) {
      const committed = lookup(store, tree, key);
      if (value === null && !committed) continue;
      if (value && committed && sameValue(value, committed)) continue;
      yield { key, left: committed, ...(value ? { right: value } : {}) };
    }
  }
  return pageDiff(differences, opts.prefix, opts.after, opts.delimiter, opts.amount);
}
