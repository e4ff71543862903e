// Commits of a branch: committing its staging area, merging a ref into it, reverting a
// commit on it, moving its head (hard reset), and the merge base of two refs.
import { ApiError } from "./api-error";
import { mergeBase } from "./commit-graph";
import { diffBranch } from "./diffs";
import {
  applyChanges,
  type Change,
  type EntryValue,
  lookup,
  type Metarange,
  mergeTrees,
  sameValue,
} from "./graveler";
import { resolveRef } from "./refs";
import {
  type CommitRecord,
  EMPTY_TREE,
  newToken,
  nowSeconds,
  type RepositoryStore,
} from "./repository-store";
import type { SortedMap } from "./sorted-map";

export function commit(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  input: { message?: unknown; metadata?: unknown; date?: unknown; allow_empty?: unknown },
): CommitRecord {
  const state = repos.repo(repo);
  const b = repos.branch(state, branch);
  if (typeof input.message !== "string") throw new ApiError(400, "message: required");
  const metadata = stringMap(input.metadata, "metadata");
  if (input.date !== undefined && !Number.isInteger(input.date)) {
    throw new ApiError(400, "date: must be an integer (Unix seconds)");
  }
  const head = repos.commitOf(state, b.commit_id);
  const staged = repos.staging(state, b.staging_token);
  const base = repos.tree(state, head.id);
  const changed = { count: 0 };
  const tree = applyChanges(repos.store, base, effectiveChanges(repos, base, staged, changed));
  if (changed.count === 0 && input.allow_empty !== true) {
    throw new ApiError(400, "commit: no changes");
  }
  const commit = repos.addCommit(state, {
    parents: [head.id],
    message: input.message,
    metadata,
    creation_date: (input.date as number | undefined) ?? nowSeconds(),
    meta_range_id: tree.id,
  });
  const oldToken = b.staging_token;
  state.branches.set(branch, { ...b, commit_id: commit.id, staging_token: newToken() });
  repos.saveRefs(state);
  state.staging.delete(oldToken);
  repos.removeStagingLog(state, oldToken);
  return commit;
}

/**
 * The staged entries a commit writes, as lakeFS's committer (committed/commit.go) applies
 * them: a staged entry with the committed entry's identity keeps the committed entry (its
 * physical address included) and is no change; a deletion of a path the commit does not
 * hold is none either. Counts the changes, for lakeFS's "no changes".
 */
function* effectiveChanges(
  repos: RepositoryStore,
  base: Metarange,
  staged: SortedMap<EntryValue | null>,
  changed: { count: number },
): Generator<Change> {
  for (const [key, value] of staged.entriesAfter()) {
    const committed = lookup(repos.store, base, key);
    if (value === null ? !committed : committed && sameValue(value, committed)) continue;
    changed.count++;
    yield [key, value];
  }
}

/** The body of lakeFS's mergeIntoBranch. */
export interface MergeInput {
  message?: unknown;
  metadata?: unknown;
  strategy?: unknown;
  allow_empty?: unknown;
  force?: unknown;
  squash_merge?: unknown;
}

export function merge(
  repos: RepositoryStore,
  repo: string,
  sourceRef: string,
  destination: string,
  input: MergeInput,
): CommitRecord {
  const state = repos.repo(repo);
  const dest = repos.branch(state, destination);
  const source = resolveRef(repos, state, sourceRef).commit;
  if (repos.staging(state, dest.staging_token).size > 0) {
    throw new ApiError(400, "merge: destination branch has uncommitted changes");
  }
  const strategy = input.strategy;
  if (strategy !== undefined && strategy !== "dest-wins" && strategy !== "source-wins") {
    throw new ApiError(400, "strategy: must be dest-wins or source-wins");
  }
  const metadata = stringMap(input.metadata, "metadata");
  const head = repos.commitOf(state, dest.commit_id);
  const baseCommit = mergeBase(repos, state, source.id, head.id);
  const baseTree = baseCommit ? repos.tree(state, baseCommit.id) : EMPTY_TREE;
  const destTree = repos.tree(state, head.id);
  const sourceTree = repos.tree(state, source.id);
  // lakeFS: nothing changed on the source since the merge base.
  if (sourceTree.id === baseTree.id && input.allow_empty !== true && input.force !== true) {
    throw new ApiError(400, "no changes");
  }
  const merged = mergeTrees(repos.store, baseTree, sourceTree, destTree, strategy);
  if (!merged) throw new ApiError(409, "conflict found");
  const commit = repos.addCommit(state, {
    parents: input.squash_merge === true ? [head.id] : [head.id, source.id],
    message:
      typeof input.message === "string" && input.message !== ""
        ? input.message
        : `Merge '${sourceRef}' into '${destination}'`,
    // lakeFS adds its strategy after the caller's metadata, on every merge commit.
    metadata: { ...metadata, ".lakefs.merge.strategy": strategy ?? "default" },
    creation_date: nowSeconds(),
    meta_range_id: merged.id,
  });
  state.branches.set(destination, { ...dest, commit_id: commit.id });
  repos.saveRefs(state);
  return commit;
}

/**
 * lakeFS's revert (graveler.Revert): a commit on `branch` undoing `ref` against its parent
 * `parent_number` (1-based, required for merges), computed as a merge of that parent into
 * the branch with `ref` as the base. `force` only lifts the read-only check, as in lakeFS.
 */
export function revert(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  input: Record<string, unknown>,
): CommitRecord {
  // lakeFS checks the body against RevertCreation first (ref and parent_number required).
  const schema = (field: string, why: string) =>
    new ApiError(
      400,
      `request body has an error: doesn't match schema #/components/schemas/RevertCreation: Error at "/${field}": ${why}`,
    );
  for (const field of ["ref", "parent_number"] as const) {
    if (input[field] === undefined) throw schema(field, `property "${field}" is missing`);
  }
  if (typeof input.ref !== "string") throw schema("ref", "value must be a string");
  const parentNumber = input.parent_number as number;
  if (!Number.isInteger(parentNumber)) throw schema("parent_number", "value must be an integer");
  if (input.ref === "") throw new ApiError(400, "argument ref: required value: validation error");
  if (parentNumber < 0) {
    throw new ApiError(400, "argument parentNumber: invalid value: validation error");
  }
  const overrides = (input.commit_overrides ?? {}) as { message?: unknown; metadata?: unknown };
  if (!["undefined", "string"].includes(typeof overrides.message)) {
    throw new ApiError(400, "commit_overrides.message: must be a string");
  }
  const metadata = stringMap(overrides.metadata, "commit_overrides.metadata");
  const state = repos.repo(repo);
  if (state.record.read_only && input.force !== true) {
    throw new ApiError(403, "read-only repository");
  }
  const target = resolveRef(repos, state, input.ref).commit;
  if (target.parents.length > 1 && parentNumber === 0) {
    throw new ApiError(409, "must specify 1-based parent number for reverting merge commit");
  }
  if (parentNumber > target.parents.length) {
    throw new ApiError(
      400,
      `given commit does not have the given parent number: parent ${parentNumber}`,
    );
  }
  const b = repos.branch(state, branch);
  // lakeFS's test: the uncommitted diff is empty (staged no-ops do not count).
  if (diffBranch(repos, repo, branch, { prefix: "", delimiter: "", amount: 1 }).results.length) {
    throw new ApiError(400, "uncommitted changes (dirty branch)");
  }
  const parentId = target.parents[Math.max(0, parentNumber - 1)];
  const parentTree = parentId ? repos.tree(state, parentId) : EMPTY_TREE;
  const headTree = repos.tree(state, b.commit_id);
  const reverted = mergeTrees(repos.store, repos.tree(state, target.id), parentTree, headTree);
  if (!reverted) throw new ApiError(409, "update branch: conflict found");
  if (reverted.id === headTree.id && input.allow_empty !== true) {
    throw new ApiError(400, "update branch: no changes");
  }
  const commit = repos.addCommit(state, {
    parents: [b.commit_id],
    message: (overrides.message as string | undefined) || `Revert ${input.ref}`,
    metadata,
    creation_date: nowSeconds(),
    meta_range_id: reverted.id,
  });
  state.branches.set(branch, { ...b, commit_id: commit.id });
  repos.saveRefs(state);
  return commit;
}

/**
 * lakeFS's cherry-pick (graveler.CherryPick): a commit on `branch` applying `ref`'s changes
 * against its parent `parent_number` (1-based, required for merges), computed as a merge of
 * `ref` into the branch with that parent as the base. It keeps the picked commit's message
 * and metadata (or the overrides) and records where it came from under `cherry-pick-origin`
 * and `cherry-pick-committer`, after the overrides, as lakeFS does.
 */
export function cherryPick(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  input: Record<string, unknown>,
): CommitRecord {
  if (typeof input.ref !== "string") {
    throw new ApiError(
      400,
      'request body has an error: doesn\'t match schema #/components/schemas/CherryPickCreation: Error at "/ref": property "ref" is missing',
    );
  }
  if (input.ref === "") throw new ApiError(400, "argument ref: required value: validation error");
  const parentNumber = input.parent_number as number | undefined;
  if (parentNumber !== undefined && (!Number.isInteger(parentNumber) || parentNumber <= 0)) {
    throw new ApiError(400, "argument parentNumber: invalid value: validation error");
  }
  const overrides = (input.commit_overrides ?? {}) as { message?: unknown; metadata?: unknown };
  if (!["undefined", "string"].includes(typeof overrides.message)) {
    throw new ApiError(400, "commit_overrides.message: must be a string");
  }
  const overridden = stringMap(overrides.metadata, "commit_overrides.metadata");
  const state = repos.repo(repo);
  if (state.record.read_only && input.force !== true) {
    throw new ApiError(403, "read-only repository");
  }
  const picked = resolveRef(repos, state, input.ref).commit;
  if (parentNumber === undefined && picked.parents.length > 1) {
    throw new ApiError(400, "must specify 1-based parent number for cherry-picking merge commit");
  }
  if ((parentNumber ?? 1) > picked.parents.length && picked.parents.length > 0) {
    throw new ApiError(400, `parent ${parentNumber}: parent number out of range`);
  }
  const b = repos.branch(state, branch);
  const parentId = picked.parents[(parentNumber ?? 1) - 1];
  const parentTree = parentId ? repos.tree(state, parentId) : EMPTY_TREE;
  const headTree = repos.tree(state, b.commit_id);
  const applied = mergeTrees(repos.store, parentTree, repos.tree(state, picked.id), headTree);
  if (!applied) throw new ApiError(409, "update branch: conflict found");
  const commit = repos.addCommit(state, {
    parents: [b.commit_id],
    message: (overrides.message as string | undefined) || picked.message,
    metadata: {
      ...(overrides.metadata !== undefined ? overridden : picked.metadata),
      "cherry-pick-origin": picked.id,
      "cherry-pick-committer": picked.committer,
    },
    creation_date: nowSeconds(),
    meta_range_id: applied.id,
  });
  state.branches.set(branch, { ...b, commit_id: commit.id });
  repos.saveRefs(state);
  return commit;
}

/**
 * lakeFS's hard reset (graveler.ResetHard): the branch head moves to `ref`. lakeFS refuses
 * only while a commit is sealing staged data, never left behind here; staged changes stay
 * staged on top of the new head. `force` only lifts the read-only check.
 */
export function hardReset(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  ref: string,
  force: boolean,
): void {
  const state = repos.repo(repo);
  if (ref === "") {
    throw new ApiError(400, 'parameter "ref" in query has an error: value is required but missing');
  }
  if (state.record.read_only && !force) throw new ApiError(403, "read-only repository");
  const b = repos.branch(state, branch);
  const { commit } = resolveRef(repos, state, ref);
  state.branches.set(branch, { ...b, commit_id: commit.id });
  repos.saveRefs(state);
}

export function findMergeBase(
  repos: RepositoryStore,
  repo: string,
  sourceRef: string,
  destinationBranch: string,
) {
  const state = repos.repo(repo);
  const source = resolveRef(repos, state, sourceRef).commit;
  const dest = resolveRef(repos, state, destinationBranch).commit;
  const base = mergeBase(repos, state, source.id, dest.id);
  if (!base) throw new ApiError(404, "merge base not found");
  return {
    source_commit_id: source.id,
    destination_commit_id: dest.id,
    base_commit_id: base.id,
  };
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, `${field}: must be an object of strings`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new ApiError(400, `${field}.${k}: must be a string`);
  }
  return value as Record<string, string>;
}
