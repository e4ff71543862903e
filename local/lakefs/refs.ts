// Resolving a ref as lakeFS does: a full (64-hex) commit id, then a branch, then a tag, then a
// commit id, and the ref expressions `main@` (committed head, no staging), `~N` (N first
// parents back) and `^N` (the Nth parent), e.g. `main~2`, `v1^2`.
import { ApiError } from "./api-error";
import type { CommitRecord, RepoState, RepositoryStore } from "./repository-store";

export interface ResolvedRef {
  commit: CommitRecord;
  /** Set when the ref is a branch: its staging area is part of the ref's content. */
  branch?: string;
}

export function resolveRef(repos: RepositoryStore, state: RepoState, ref: string): ResolvedRef {
  const plain = resolvePlain(repos, state, ref);
  if (plain) return plain;
  const m = /^(.+?)(@?)((?:[~^]\d*)*)$/.exec(ref);
  const base = m && (m[2] || m[3]) ? resolvePlain(repos, state, m[1]!) : undefined;
  if (!m || !base) throw new ApiError(404, `ref ${ref} not found`);
  let commit = base.commit;
  for (const [, op, digits] of m[3]!.matchAll(/([~^])(\d*)/g)) {
    const n = digits === "" ? 1 : Number(digits);
    if (op === "~") {
      for (let i = 0; i < n; i++) commit = parentOf(repos, state, commit, 0, ref);
    } else if (n > 0) {
      commit = parentOf(repos, state, commit, n - 1, ref);
    }
  }
  const onlyCommit = m[2] === "@" || m[3] !== "";
  return onlyCommit || !base.branch ? { commit } : { commit, branch: base.branch };
}

/** A ref lakeFS reads as a commit id before any branch or tag of that name. */
const FULL_COMMIT_ID = /^[a-fA-F0-9]{64}$/;

function resolvePlain(
  repos: RepositoryStore,
  state: RepoState,
  ref: string,
): ResolvedRef | undefined {
  // A branch may be named as a commit: lakeFS then reads the commit (no staging area).
  const full = FULL_COMMIT_ID.test(ref) ? state.commits.get(ref) : undefined;
  if (full) return { commit: full };
  const b = state.branches.get(ref);
  if (b) return { commit: repos.commitOf(state, b.commit_id), branch: ref };
  const tag = state.tags.get(ref);
  if (tag !== undefined) return { commit: repos.commitOf(state, tag) };
  const commit = state.commits.get(ref);
  if (commit) return { commit };
  return undefined;
}

function parentOf(
  repos: RepositoryStore,
  state: RepoState,
  c: CommitRecord,
  index: number,
  ref: string,
): CommitRecord {
  const id = c.parents[index];
  if (!id) throw new ApiError(404, `ref ${ref} not found`);
  return repos.commitOf(state, id);
}
