// Objects of a ref: staging uploads, links and deletions on a branch, resetting uncommitted
// changes, reading one object and listing a ref (its commit's tree overlaid by the branch's
// staging area).
import { ApiError } from "./api-error";
import { type Bound, type EntryValue, entriesFrom, lookup } from "./graveler";
import { keyLess, prefixEnd } from "./keys";
import { type PageResult, startBound } from "./paging";
import { type ResolvedRef, resolveRef } from "./refs";
import type { RepoState, RepositoryStore } from "./repository-store";

export interface ListedEntry {
  path: string;
  /** undefined for a common prefix */
  value?: EntryValue;
}

/** Stages `path` on a branch (upload or link). */
export function stageObject(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  objectPath: string,
  value: EntryValue,
): void {
  const state = repos.repo(repo);
  const b = repos.branch(state, branch);
  validatePath(objectPath);
  repos.stageChange(state, b, objectPath, value);
}

export function deleteObject(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  objectPath: string,
): void {
  const state = repos.repo(repo);
  const b = repos.branch(state, branch);
  validatePath(objectPath);
  const committed = lookup(repos.store, repos.tree(state, b.commit_id), objectPath);
  if (committed) repos.stageChange(state, b, objectPath, null);
  else if (repos.staging(state, b.staging_token).get(objectPath) !== undefined) {
    // Only staged: dropping the staged entry is the whole deletion.
    repos.staging(state, b.staging_token).delete(objectPath);
    repos.logStagingDrop(state, b.staging_token, objectPath);
  }
}

/** lakeFS's resetBranch: drops uncommitted changes (all, one path, or under a prefix). */
export function resetBranch(
  repos: RepositoryStore,
  repo: string,
  branch: string,
  body: { type?: unknown; path?: unknown },
): void {
  const state = repos.repo(repo);
  const b = repos.branch(state, branch);
  const staged = repos.staging(state, b.staging_token);
  if (body.type === "reset") {
    staged.clear();
    repos.removeStagingLog(state, b.staging_token);
    return;
  }
  if (typeof body.path !== "string") throw new ApiError(400, "path: required");
  const target = body.path;
  if (body.type === "object") {
    if (staged.delete(target)) repos.logStagingDrop(state, b.staging_token, target);
    return;
  }
  if (body.type !== "common_prefix") {
    throw new ApiError(400, "type: must be object, common_prefix or reset");
  }
  const doomed: string[] = [];
  for (const [key] of staged.entriesFrom(target)) {
    if (!key.startsWith(target)) break;
    doomed.push(key);
  }
  for (const key of doomed) {
    staged.delete(key);
    repos.logStagingDrop(state, b.staging_token, key);
  }
}

export function statObject(
  repos: RepositoryStore,
  repo: string,
  ref: string,
  objectPath: string,
): EntryValue {
  const state = repos.repo(repo);
  const resolved = resolveRef(repos, state, ref);
  if (resolved.branch) {
    const b = repos.branch(state, resolved.branch);
    const staged = repos.staging(state, b.staging_token).get(objectPath);
    if (staged === null) throw new ApiError(404, "object not found");
    if (staged) return staged;
  }
  const value = lookup(repos.store, repos.tree(state, resolved.commit.id), objectPath);
  if (!value) throw new ApiError(404, "object not found");
  return value;
}

/** A page of the objects of a ref (staging included for a branch), lakeFS-paginated. */
export function listObjects(
  repos: RepositoryStore,
  repo: string,
  ref: string,
  opts: { after?: string; prefix: string; delimiter: string; amount: number },
): PageResult<ListedEntry> {
  const state = repos.repo(repo);
  const resolved = resolveRef(repos, state, ref);
  const results: ListedEntry[] = [];
  let bound = startBound(opts.prefix, opts.after, opts.delimiter);
  for (;;) {
    let restart: Bound | undefined;
    for (const [key, value] of refEntries(repos, state, resolved, bound)) {
      if (!key.startsWith(opts.prefix)) return { results, hasMore: false };
      if (results.length === opts.amount) return { results, hasMore: true };
      const cut = opts.delimiter ? key.indexOf(opts.delimiter, opts.prefix.length) : -1;
      if (cut >= 0) {
        const commonPrefix = key.slice(0, cut + opts.delimiter.length);
        results.push({ path: commonPrefix });
        restart = { key: prefixEnd(commonPrefix), inclusive: true };
        break;
      }
      results.push({ path: key, value });
    }
    if (!restart) return { results, hasMore: false };
    bound = restart;
  }
}

/** Entries under `prefix` on a ref, for reading action files. */
export function* entriesUnder(
  repos: RepositoryStore,
  repo: string,
  commitId: string,
  prefix: string,
): Generator<[string, EntryValue]> {
  const state = repos.repo(repo);
  for (const [key, value] of entriesFrom(repos.store, repos.tree(state, commitId).ranges, {
    key: prefix,
    inclusive: true,
  })) {
    if (!key.startsWith(prefix)) return;
    yield [key, value];
  }
}

/** Entries of a ref from `bound` on: the commit's tree, overlaid by staging on a branch. */
function* refEntries(
  repos: RepositoryStore,
  state: RepoState,
  resolved: ResolvedRef,
  bound?: Bound,
): Generator<[string, EntryValue]> {
  const committed = entriesFrom(repos.store, repos.tree(state, resolved.commit.id).ranges, bound);
  if (!resolved.branch) {
    yield* committed;
    return;
  }
  const b = repos.branch(state, resolved.branch);
  const s = repos.staging(state, b.staging_token);
  const staged = bound
    ? bound.inclusive
      ? s.entriesFrom(bound.key)
      : s.entriesAfter(bound.key)
    : s.entriesAfter();
  let c = committed.next();
  let st = staged.next();
  while (!c.done || !st.done) {
    if (st.done || (!c.done && keyLess(c.value[0], st.value[0]))) {
      yield c.value as [string, EntryValue];
      c = committed.next();
    } else {
      const [key, value] = st.value;
      if (!c.done && c.value[0] === key) c = committed.next();
      if (value) yield [key, value];
      st = staged.next();
    }
  }
}

function validatePath(p: string): void {
  if (p === "") throw new ApiError(400, "path: required");
}
