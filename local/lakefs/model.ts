// The lakeFS semantics of the development server, without HTTP: repositories, branches with
// staging areas, tags, commits with content-derived ids, merges, the commit log, listings and
// diffs. Trees are graveler metaranges (graveler.ts); refs, commits and staging are persisted
// as small atomic JSON files and append-only JSON Lines under the data directory.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import {
  AppendLogs,
  appendLine,
  FileRangeStore,
  readJsonLines,
  writeFileAtomic,
} from "./file-store";
import {
  applyChanges,
  type Bound,
  type Change,
  diffTrees,
  type EntryValue,
  entriesFrom,
  lookup,
  type Metarange,
  mergeTrees,
  sameValue,
  type TreeDifference,
} from "./graveler";
import {
  type DiffEntry,
  listSorted,
  type PageResult,
  pageDiff,
  prefixEnd,
  startBound,
} from "./paging";
import { SortedMap } from "./sorted-map";

/** An error with lakeFS's status code and message. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RepositoryRecord {
  id: string;
  creation_date: number;
  default_branch: string;
  storage_namespace: string;
  read_only: boolean;
}

export interface CommitRecord {
  id: string;
  parents: string[];
  committer: string;
  message: string;
  creation_date: number;
  meta_range_id: string;
  metadata: Record<string, string>;
  generation: number;
  version: number;
}

interface BranchRecord {
  commit_id: string;
  staging_token: string;
}

interface RefsDocument {
  branches: Record<string, BranchRecord>;
  tags: Record<string, string>;
}

export interface GcRules {
  default_retention_days: number;
  branches: { branch_id: string; retention_days: number }[];
}

interface RepoState {
  record: RepositoryRecord;
  dir: string;
  branches: SortedMap<BranchRecord>;
  tags: SortedMap<string>;
  commits: Map<string, CommitRecord>;
  staging: Map<string, SortedMap<EntryValue | null>>;
  gcRules: GcRules | undefined;
}

export interface ResolvedRef {
  commit: CommitRecord;
  /** Set when the ref is a branch: its staging area is part of the ref's content. */
  branch?: string;
}

export interface ListedEntry {
  path: string;
  /** undefined for a common prefix */
  value?: EntryValue;
}

export const REPO_NAME = /^[a-z0-9][a-z0-9-]{2,62}$/;
const BRANCH_NAME = /^\w[-\w]*$/;
const TAG_NAME = /^[^\s~^:?*[\\]+$/;
const EMPTY_TREE: Metarange = { id: "", ranges: [] };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class LakeFsModel {
  private readonly repos = new Map<string, RepoState>();
  /** Log walks paused at a page end, keyed by repo, head, stop_at and last id returned. */
  private readonly logCursors = new Map<string, Iterator<CommitRecord>>();
  readonly store: FileRangeStore;
  private readonly stagingLogs = new AppendLogs();

  constructor(
    private readonly dataDir: string,
    private readonly committer = "admin",
  ) {
    mkdirSync(path.join(dataDir, "repos"), { recursive: true });
    this.store = new FileRangeStore(dataDir);
    for (const name of readdirSync(path.join(dataDir, "repos"))) this.loadRepo(name);
  }

  /** Closes open files (server stop). */
  close(): void {
    this.stagingLogs.closeAll();
  }

  // ----------------------------------------------------------------- repositories

  createRepository(input: {
    name: string;
    storage_namespace: string;
    default_branch?: string;
    read_only?: boolean;
    bare?: boolean;
  }): RepositoryRecord {
    if (typeof input.name !== "string" || !REPO_NAME.test(input.name)) {
      throw new ApiError(400, "name: must match ^[a-z0-9][a-z0-9-]{2,62}$");
    }
    if (
      typeof input.storage_namespace !== "string" ||
      !/^s3:\/\/[^/]+/.test(input.storage_namespace)
    ) {
      throw new ApiError(400, "storage_namespace: must be an s3:// URI");
    }
    if (this.repos.has(input.name)) throw new ApiError(409, "repository already exists");
    const defaultBranch = input.default_branch || "main";
    if (!BRANCH_NAME.test(defaultBranch)) throw new ApiError(400, "default_branch: invalid name");
    const dir = path.join(this.dataDir, "repos", input.name);
    const record: RepositoryRecord = {
      id: input.name,
      creation_date: nowSeconds(),
      default_branch: defaultBranch,
      storage_namespace: input.storage_namespace.replace(/\/+$/, ""),
      read_only: input.read_only ?? false,
    };
    const state: RepoState = {
      record,
      dir,
      branches: new SortedMap(),
      tags: new SortedMap(),
      commits: new Map(),
      staging: new Map(),
      gcRules: undefined,
    };
    mkdirSync(path.join(dir, "staging"), { recursive: true });
    writeFileAtomic(path.join(dir, "repository.json"), JSON.stringify(record));
    this.repos.set(record.id, state);
    if (!input.bare) {
      const empty = this.store.putMetarange([]);
      const commit = this.addCommit(state, {
        parents: [],
        message: "Repository created",
        metadata: {},
        creation_date: record.creation_date,
        meta_range_id: empty.id,
      });
      state.branches.set(defaultBranch, { commit_id: commit.id, staging_token: newToken() });
    }
    this.saveRefs(state);
    return record;
  }

  getRepository(name: string): RepositoryRecord {
    return this.repo(name).record;
  }

  listRepositories(after: string | undefined, prefix: string, amount: number) {
    const names = [...this.repos.keys()]
      .filter((n) => n.startsWith(prefix) && (after === undefined || n > after))
      .sort();
    return {
      results: names.slice(0, amount).map((n) => this.repos.get(n)!.record),
      hasMore: names.length > amount,
    };
  }

  deleteRepository(name: string): void {
    const state = this.repo(name);
    this.repos.delete(name);
    this.stagingLogs.closeUnder(state.dir);
    rmSync(state.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------- branches, tags

  createBranch(repo: string, name: unknown, source: unknown): string {
    const state = this.repo(repo);
    if (typeof name !== "string" || !BRANCH_NAME.test(name)) {
      throw new ApiError(400, "name: invalid branch name");
    }
    if (typeof source !== "string" || source === "") throw new ApiError(400, "source: required");
    if (state.branches.get(name) || state.tags.get(name)) {
      throw new ApiError(409, "branch already exists");
    }
    const { commit } = this.resolve(state, source);
    state.branches.set(name, { commit_id: commit.id, staging_token: newToken() });
    this.saveRefs(state);
    return commit.id;
  }

  getBranch(repo: string, branch: string): { id: string; commit_id: string } {
    const b = this.branch(this.repo(repo), branch);
    return { id: branch, commit_id: b.commit_id };
  }

  listBranches(repo: string, after: string | undefined, prefix: string, amount: number) {
    const state = this.repo(repo);
    return listSorted(state.branches, after, prefix, amount, (id, b) => ({
      id,
      commit_id: b.commit_id,
    }));
  }

  deleteBranch(repo: string, branch: string): void {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    if (branch === state.record.default_branch) {
      throw new ApiError(403, "cannot delete repository default branch");
    }
    state.branches.delete(branch);
    this.saveRefs(state);
    state.staging.delete(b.staging_token);
    this.stagingLogs.close(this.stagingFile(state, b.staging_token));
    rmSync(this.stagingFile(state, b.staging_token), { force: true });
  }

  createTag(repo: string, id: unknown, ref: unknown): { id: string; commit_id: string } {
    const state = this.repo(repo);
    if (typeof id !== "string" || !TAG_NAME.test(id)) throw new ApiError(400, "id: invalid tag");
    if (typeof ref !== "string" || ref === "") throw new ApiError(400, "ref: required");
    if (state.tags.get(id) !== undefined) throw new ApiError(409, "tag already exists");
    const { commit } = this.resolve(state, ref);
    state.tags.set(id, commit.id);
    this.saveRefs(state);
    return { id, commit_id: commit.id };
  }

  getTag(repo: string, tag: string): { id: string; commit_id: string } {
    const commitId = this.repo(repo).tags.get(tag);
    if (commitId === undefined) throw new ApiError(404, "tag not found");
    return { id: tag, commit_id: commitId };
  }

  deleteTag(repo: string, tag: string): void {
    const state = this.repo(repo);
    if (!state.tags.delete(tag)) throw new ApiError(404, "tag not found");
    this.saveRefs(state);
  }

  listTags(repo: string, after: string | undefined, prefix: string, amount: number) {
    return listSorted(this.repo(repo).tags, after, prefix, amount, (id, commit_id) => ({
      id,
      commit_id,
    }));
  }

  // ----------------------------------------------------------------- resolving refs

  resolveRef(repo: string, ref: string): ResolvedRef {
    return this.resolve(this.repo(repo), ref);
  }

  getCommit(repo: string, commitId: string): CommitRecord {
    const commit = this.repo(repo).commits.get(commitId);
    if (!commit) throw new ApiError(404, "commit not found");
    return commit;
  }

  // ------------------------------------------------------------------ objects

  /** Stages `path` on a branch (upload or link). */
  stageObject(repo: string, branch: string, objectPath: string, value: EntryValue): void {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    validatePath(objectPath);
    this.stageChange(state, b, objectPath, value);
  }

  deleteObject(repo: string, branch: string, objectPath: string): void {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    validatePath(objectPath);
    const committed = lookup(this.store, this.tree(state, b.commit_id), objectPath);
    if (committed) this.stageChange(state, b, objectPath, null);
    else if (this.staging(state, b.staging_token).get(objectPath) !== undefined) {
      // Only staged: dropping the staged entry is the whole deletion.
      this.staging(state, b.staging_token).delete(objectPath);
      this.stagingLogs.append(
        this.stagingFile(state, b.staging_token),
        JSON.stringify([objectPath, "drop"]),
      );
    }
  }

  /** lakeFS's resetBranch: drops uncommitted changes (all, one path, or under a prefix). */
  resetBranch(repo: string, branch: string, body: { type?: unknown; path?: unknown }): void {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    const staged = this.staging(state, b.staging_token);
    const file = this.stagingFile(state, b.staging_token);
    if (body.type === "reset") {
      staged.clear();
      this.stagingLogs.close(file);
      rmSync(file, { force: true });
      return;
    }
    if (typeof body.path !== "string") throw new ApiError(400, "path: required");
    const target = body.path;
    if (body.type === "object") {
      if (staged.delete(target)) this.stagingLogs.append(file, JSON.stringify([target, "drop"]));
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
      this.stagingLogs.append(file, JSON.stringify([key, "drop"]));
    }
  }

  statObject(repo: string, ref: string, objectPath: string): EntryValue {
    const state = this.repo(repo);
    const resolved = this.resolve(state, ref);
    if (resolved.branch) {
      const b = this.branch(state, resolved.branch);
      const staged = this.staging(state, b.staging_token).get(objectPath);
      if (staged === null) throw new ApiError(404, "object not found");
      if (staged) return staged;
    }
    const value = lookup(this.store, this.tree(state, resolved.commit.id), objectPath);
    if (!value) throw new ApiError(404, "object not found");
    return value;
  }

  /** A page of the objects of a ref (staging included for a branch), lakeFS-paginated. */
  listObjects(
    repo: string,
    ref: string,
    opts: { after?: string; prefix: string; delimiter: string; amount: number },
  ): PageResult<ListedEntry> {
    const state = this.repo(repo);
    const resolved = this.resolve(state, ref);
    const results: ListedEntry[] = [];
    let bound = startBound(opts.prefix, opts.after, opts.delimiter);
    for (;;) {
      let restart: Bound | undefined;
      for (const [key, value] of this.refEntries(state, resolved, bound)) {
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
  *entriesUnder(repo: string, commitId: string, prefix: string): Generator<[string, EntryValue]> {
    const state = this.repo(repo);
    for (const [key, value] of entriesFrom(this.store, this.tree(state, commitId).ranges, {
      key: prefix,
      inclusive: true,
    })) {
      if (!key.startsWith(prefix)) return;
      yield [key, value];
    }
  }

  // ------------------------------------------------------------------ commits

  commit(
    repo: string,
    branch: string,
    input: { message?: unknown; metadata?: unknown; date?: unknown; allow_empty?: unknown },
  ): CommitRecord {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    if (typeof input.message !== "string") throw new ApiError(400, "message: required");
    const metadata = stringMap(input.metadata, "metadata");
    if (input.date !== undefined && !Number.isInteger(input.date)) {
      throw new ApiError(400, "date: must be an integer (Unix seconds)");
    }
    const head = this.commitOf(state, b.commit_id);
    const staged = this.staging(state, b.staging_token);
    const base = this.tree(state, head.id);
    const tree = applyChanges(this.store, base, staged.entriesAfter() as Iterable<Change>);
    if (tree.id === base.id && input.allow_empty !== true) {
      throw new ApiError(400, "commit: no changes");
    }
    const commit = this.addCommit(state, {
      parents: [head.id],
      message: input.message,
      metadata,
      creation_date: (input.date as number | undefined) ?? nowSeconds(),
      meta_range_id: tree.id,
    });
    const oldToken = b.staging_token;
    state.branches.set(branch, { commit_id: commit.id, staging_token: newToken() });
    this.saveRefs(state);
    state.staging.delete(oldToken);
    this.stagingLogs.close(this.stagingFile(state, oldToken));
    rmSync(this.stagingFile(state, oldToken), { force: true });
    return commit;
  }

  merge(
    repo: string,
    sourceRef: string,
    destination: string,
    input: {
      message?: unknown;
      metadata?: unknown;
      strategy?: unknown;
      allow_empty?: unknown;
      force?: unknown;
      squash_merge?: unknown;
    },
  ): CommitRecord {
    const state = this.repo(repo);
    const dest = this.branch(state, destination);
    const source = this.resolve(state, sourceRef).commit;
    if (this.staging(state, dest.staging_token).size > 0) {
      throw new ApiError(400, "merge: destination branch has uncommitted changes");
    }
    const strategy = input.strategy;
    if (strategy !== undefined && strategy !== "dest-wins" && strategy !== "source-wins") {
      throw new ApiError(400, "strategy: must be dest-wins or source-wins");
    }
    const metadata = stringMap(input.metadata, "metadata");
    const head = this.commitOf(state, dest.commit_id);
    const baseCommit = this.mergeBase(state, source.id, head.id);
    const baseTree = baseCommit ? this.tree(state, baseCommit.id) : EMPTY_TREE;
    const destTree = this.tree(state, head.id);
    const sourceTree = this.tree(state, source.id);
    const merged = mergeTrees(this.store, baseTree, sourceTree, destTree, strategy);
    if (!merged) throw new ApiError(409, "conflict found");
    if (merged.id === destTree.id && input.allow_empty !== true && input.force !== true) {
      throw new ApiError(400, "no changes");
    }
    const commit = this.addCommit(state, {
      parents: input.squash_merge === true ? [head.id] : [head.id, source.id],
      message:
        typeof input.message === "string" && input.message !== ""
          ? input.message
          : `Merge '${sourceRef}' into '${destination}'`,
      metadata,
      creation_date: nowSeconds(),
      meta_range_id: merged.id,
    });
    state.branches.set(destination, { commit_id: commit.id, staging_token: dest.staging_token });
    this.saveRefs(state);
    return commit;
  }

  /**
   * lakeFS's revert (graveler.Revert): a commit on `branch` undoing `ref` against its parent
   * `parent_number` (1-based, required for merges), computed as a merge of that parent into
   * the branch with `ref` as the base. `force` only lifts the read-only check, as in lakeFS.
   */
  revert(repo: string, branch: string, input: Record<string, unknown>): CommitRecord {
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
    const state = this.repo(repo);
    if (state.record.read_only && input.force !== true) {
      throw new ApiError(403, "read-only repository");
    }
    const target = this.resolve(state, input.ref).commit;
    if (target.parents.length > 1 && parentNumber === 0) {
      throw new ApiError(409, "must specify 1-based parent number for reverting merge commit");
    }
    if (parentNumber > target.parents.length) {
      throw new ApiError(
        400,
        `given commit does not have the given parent number: parent ${parentNumber}`,
      );
    }
    const b = this.branch(state, branch);
    // lakeFS's test: the uncommitted diff is empty (staged no-ops do not count).
    if (this.diffBranch(repo, branch, { prefix: "", delimiter: "", amount: 1 }).results.length) {
      throw new ApiError(400, "uncommitted changes (dirty branch)");
    }
    const parentId = target.parents[Math.max(0, parentNumber - 1)];
    const parentTree = parentId ? this.tree(state, parentId) : EMPTY_TREE;
    const headTree = this.tree(state, b.commit_id);
    const reverted = mergeTrees(this.store, this.tree(state, target.id), parentTree, headTree);
    if (!reverted) throw new ApiError(409, "update branch: conflict found");
    if (reverted.id === headTree.id && input.allow_empty !== true) {
      throw new ApiError(400, "update branch: no changes");
    }
    const commit = this.addCommit(state, {
      parents: [b.commit_id],
      message: (overrides.message as string | undefined) || `Revert ${input.ref}`,
      metadata,
      creation_date: nowSeconds(),
      meta_range_id: reverted.id,
    });
    state.branches.set(branch, { commit_id: commit.id, staging_token: b.staging_token });
    this.saveRefs(state);
    return commit;
  }

  /**
   * lakeFS's hard reset (graveler.ResetHard): the branch head moves to `ref`. lakeFS refuses
   * only while a commit is sealing staged data, never left behind here; staged changes stay
   * staged on top of the new head. `force` only lifts the read-only check.
   */
  hardReset(repo: string, branch: string, ref: string, force: boolean): void {
    const state = this.repo(repo);
    if (ref === "") {
      throw new ApiError(
        400,
        'parameter "ref" in query has an error: value is required but missing',
      );
    }
    if (state.record.read_only && !force) throw new ApiError(403, "read-only repository");
    const b = this.branch(state, branch);
    const { commit } = this.resolve(state, ref);
    state.branches.set(branch, { commit_id: commit.id, staging_token: b.staging_token });
    this.saveRefs(state);
  }

  findMergeBase(repo: string, sourceRef: string, destinationBranch: string) {
    const state = this.repo(repo);
    const source = this.resolve(state, sourceRef).commit;
    const dest = this.resolve(state, destinationBranch).commit;
    const base = this.mergeBase(state, source.id, dest.id);
    if (!base) throw new ApiError(404, "merge base not found");
    return {
      source_commit_id: source.id,
      destination_commit_id: dest.id,
      base_commit_id: base.id,
    };
  }

  /**
   * A page of the commit log of `ref`, newest first (by creation date, then generation), all
   * parents followed unless `firstParent`; ends after `stopAt` (included).
   */
  logCommits(
    repo: string,
    ref: string,
    opts: {
      after?: string;
      amount: number;
      firstParent: boolean;
      stopAt?: string;
      /** Unix seconds: commits older than this end the log. */
      since?: number;
    },
  ): PageResult<CommitRecord> {
    const state = this.repo(repo);
    const head = this.resolve(state, ref).commit;
    const stopAt = opts.stopAt ? this.resolve(state, opts.stopAt).commit.id : undefined;
    const results: CommitRecord[] = [];
    let walk: Iterator<CommitRecord>;
    let skipping = false;
    const cacheKey = (after: string) => `${repo}\0${head.id}\0${stopAt ?? ""}\0${after}`;
    const cached = opts.after ? this.logCursors.get(cacheKey(opts.after)) : undefined;
    if (cached && !opts.firstParent) {
      // The walk that produced the previous page, resumed where it stopped.
      this.logCursors.delete(cacheKey(opts.after!));
      walk = cached;
    } else if (opts.firstParent && opts.after) {
      // The first-parent chain continues right below the last commit returned.
      const last = state.commits.get(opts.after);
      if (!last) throw new ApiError(400, "after: unknown commit");
      if (last.id === stopAt) return { results, hasMore: false };
      const next = last.parents[0];
      walk = (next ? this.walkLog(state, this.commitOf(state, next), true) : [])[Symbol.iterator]();
    } else {
      walk = this.walkLog(state, head, opts.firstParent);
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
          this.logCursors.set(cacheKey(results[results.length - 1]!.id), prepend(commit, walk));
          if (this.logCursors.size > 64) {
            this.logCursors.delete(this.logCursors.keys().next().value!);
          }
        }
        return { results, hasMore: true };
      }
      results.push(commit);
      if (commit.id === stopAt) return { results, hasMore: false };
    }
    return { results, hasMore: false };
  }

  // --------------------------------------------------------------------- diffs

  /** Committed differences between two refs (branches resolve to their head commits). */
  diffRefs(
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
    const state = this.repo(repo);
    const left = this.resolve(state, leftRef).commit;
    const right = this.resolve(state, rightRef).commit;
    let leftTree = this.tree(state, left.id);
    if (opts.type === "three_dot") {
      const base = this.mergeBase(state, left.id, right.id);
      leftTree = base ? this.tree(state, base.id) : EMPTY_TREE;
    }
    const rightTree = this.tree(state, right.id);
    return pageDiff(
      (from) => diffTrees(this.store, leftTree, rightTree, from),
      opts.prefix,
      opts.after,
      opts.delimiter,
      opts.amount,
    );
  }

  /** Uncommitted changes of a branch. */
  diffBranch(
    repo: string,
    branch: string,
    opts: { after?: string; prefix: string; delimiter: string; amount: number },
  ): PageResult<DiffEntry> {
    const state = this.repo(repo);
    const b = this.branch(state, branch);
    const tree = this.tree(state, b.commit_id);
    const staged = this.staging(state, b.staging_token);
    const store = this.store;
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

  // --------------------------------------------------------------------- GC rules

  getGcRules(repo: string): GcRules {
    const rules = this.repo(repo).gcRules;
    if (!rules) throw new ApiError(404, "no gc rules");
    return rules;
  }

  setGcRules(repo: string, body: unknown): void {
    const state = this.repo(repo);
    const rules = body as Partial<GcRules> | null;
    if (!rules || !Number.isInteger(rules.default_retention_days)) {
      throw new ApiError(400, "default_retention_days: must be an integer");
    }
    if (!Array.isArray(rules.branches)) throw new ApiError(400, "branches: must be an array");
    rules.branches.forEach((b, i) => {
      if (typeof b?.branch_id !== "string")
        throw new ApiError(400, `branches[${i}].branch_id: required`);
      if (!Number.isInteger(b.retention_days)) {
        throw new ApiError(400, `branches[${i}].retention_days: must be an integer`);
      }
    });
    state.gcRules = {
      default_retention_days: rules.default_retention_days!,
      branches: rules.branches.map((b) => ({
        branch_id: b.branch_id,
        retention_days: b.retention_days,
      })),
    };
    writeFileAtomic(path.join(state.dir, "gc_rules.json"), JSON.stringify(state.gcRules));
  }

  deleteGcRules(repo: string): void {
    const state = this.repo(repo);
    state.gcRules = undefined;
    rmSync(path.join(state.dir, "gc_rules.json"), { force: true });
  }

  // ------------------------------------------------------------------- internals

  private repo(name: string): RepoState {
    const state = this.repos.get(name);
    if (!state) throw new ApiError(404, "repository not found");
    return state;
  }

  private branch(state: RepoState, name: string): BranchRecord {
    const b = state.branches.get(name);
    if (!b) throw new ApiError(404, "branch not found");
    return b;
  }

  private commitOf(state: RepoState, id: string): CommitRecord {
    const c = state.commits.get(id);
    if (!c) throw new ApiError(500, `commit ${id} missing`);
    return c;
  }

  private tree(state: RepoState, commitId: string): Metarange {
    return this.store.getMetarange(this.commitOf(state, commitId).meta_range_id);
  }

  private staging(state: RepoState, token: string): SortedMap<EntryValue | null> {
    let s = state.staging.get(token);
    if (!s) {
      s = new SortedMap();
      state.staging.set(token, s);
    }
    return s;
  }

  private stagingFile(state: RepoState, token: string): string {
    return path.join(state.dir, "staging", `${token}.jsonl`);
  }

  private stageChange(state: RepoState, b: BranchRecord, key: string, value: EntryValue | null) {
    this.staging(state, b.staging_token).set(key, value);
    this.stagingLogs.append(this.stagingFile(state, b.staging_token), JSON.stringify([key, value]));
  }

  /** Branch, then tag, then commit id (as lakeFS resolves a ref). */
  private resolve(state: RepoState, ref: string): ResolvedRef {
    const plain = this.resolvePlain(state, ref);
    if (plain) return plain;
    // lakeFS ref expressions: `main@` (committed head, no staging), `~N` (N first parents
    // back) and `^N` (the Nth parent), e.g. `main~2`, `v1^2`.
    const m = /^(.+?)(@?)((?:[~^]\d*)*)$/.exec(ref);
    const base = m && (m[2] || m[3]) ? this.resolvePlain(state, m[1]!) : undefined;
    if (!m || !base) throw new ApiError(404, `ref ${ref} not found`);
    let commit = base.commit;
    for (const [, op, digits] of m[3]!.matchAll(/([~^])(\d*)/g)) {
      const n = digits === "" ? 1 : Number(digits);
      if (op === "~") {
        for (let i = 0; i < n; i++) commit = this.parentOf(state, commit, 0, ref);
      } else if (n > 0) {
        commit = this.parentOf(state, commit, n - 1, ref);
      }
    }
    const onlyCommit = m[2] === "@" || m[3] !== "";
    return onlyCommit || !base.branch ? { commit } : { commit, branch: base.branch };
  }

  private resolvePlain(state: RepoState, ref: string): ResolvedRef | undefined {
    const b = state.branches.get(ref);
    if (b) return { commit: this.commitOf(state, b.commit_id), branch: ref };
    const tag = state.tags.get(ref);
    if (tag !== undefined) return { commit: this.commitOf(state, tag) };
    const commit = state.commits.get(ref);
    if (commit) return { commit };
    return undefined;
  }

  private parentOf(state: RepoState, c: CommitRecord, index: number, ref: string): CommitRecord {
    const id = c.parents[index];
    if (!id) throw new ApiError(404, `ref ${ref} not found`);
    return this.commitOf(state, id);
  }

  /** Entries of a ref from `bound` on: the commit's tree, overlaid by staging on a branch. */
  private *refEntries(
    state: RepoState,
    resolved: ResolvedRef,
    bound?: Bound,
  ): Generator<[string, EntryValue]> {
    const committed = entriesFrom(this.store, this.tree(state, resolved.commit.id).ranges, bound);
    if (!resolved.branch) {
      yield* committed;
      return;
    }
    const b = this.branch(state, resolved.branch);
    const s = this.staging(state, b.staging_token);
    const staged = bound
      ? bound.inclusive
        ? s.entriesFrom(bound.key)
        : s.entriesAfter(bound.key)
      : s.entriesAfter();
    let c = committed.next();
    let st = staged.next();
    while (!c.done || !st.done) {
      if (st.done || (!c.done && c.value[0] < st.value[0])) {
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

  private addCommit(
    state: RepoState,
    input: {
      parents: string[];
      message: string;
      metadata: Record<string, string>;
      creation_date: number;
      meta_range_id: string;
    },
  ): CommitRecord {
    const generation =
      Math.max(0, ...input.parents.map((p) => this.commitOf(state, p).generation)) + 1;
    const sortedMetadata = Object.fromEntries(
      Object.entries(input.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    const id = createHash("sha256")
      .update(
        JSON.stringify([
          input.parents,
          input.meta_range_id,
          input.message,
          sortedMetadata,
          this.committer,
          input.creation_date,
          generation,
        ]),
      )
      .digest("hex");
    const commit: CommitRecord = {
      id,
      parents: input.parents,
      committer: this.committer,
      message: input.message,
      creation_date: input.creation_date,
      meta_range_id: input.meta_range_id,
      metadata: input.metadata,
      generation,
      version: 1,
    };
    if (!state.commits.has(id)) {
      state.commits.set(id, commit);
      appendLine(path.join(state.dir, "commits.jsonl"), JSON.stringify(commit));
    }
    return commit;
  }

  /** Ancestry newest first: a frontier ordered by creation date, then generation, then id. */
  private *walkLog(
    state: RepoState,
    head: CommitRecord,
    firstParent: boolean,
  ): Generator<CommitRecord> {
    if (firstParent) {
      let c: CommitRecord | undefined = head;
      while (c) {
        yield c;
        c = c.parents[0] ? this.commitOf(state, c.parents[0]) : undefined;
      }
      return;
    }
    const seen = new Set<string>([head.id]);
    const frontier: CommitRecord[] = [head];
    while (frontier.length > 0) {
      const c = frontier.shift()!;
      yield c;
      for (const p of c.parents) {
        if (seen.has(p)) continue;
        seen.add(p);
        insertByRecency(frontier, this.commitOf(state, p));
      }
    }
  }

  /** The best common ancestor: walk both sides by generation until one commit is reached by both. */
  private mergeBase(state: RepoState, a: string, b: string): CommitRecord | undefined {
    const flags = new Map<string, number>();
    const queue: CommitRecord[] = [];
    const push = (id: string, flag: number) => {
      const old = flags.get(id) ?? 0;
      if ((old | flag) === old) return;
      flags.set(id, old | flag);
      const commit = this.commitOf(state, id);
      if (old === 0) insertByGeneration(queue, commit);
    };
    push(a, 1);
    push(b, 2);
    while (queue.length > 0) {
      const c = queue.shift()!;
      const flag = flags.get(c.id)!;
      if (flag === 3) return c;
      for (const p of c.parents) push(p, flag);
    }
    return undefined;
  }

  private saveRefs(state: RepoState): void {
    const doc: RefsDocument = { branches: {}, tags: {} };
    for (const [name, b] of state.branches.entriesAfter()) doc.branches[name] = b;
    for (const [name, id] of state.tags.entriesAfter()) doc.tags[name] = id;
    writeFileAtomic(path.join(state.dir, "refs.json"), JSON.stringify(doc));
  }

  private loadRepo(name: string): void {
    const dir = path.join(this.dataDir, "repos", name);
    const recordFile = path.join(dir, "repository.json");
    if (!existsSync(recordFile)) return;
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as RepositoryRecord;
    const state: RepoState = {
      record,
      dir,
      branches: new SortedMap(),
      tags: new SortedMap(),
      commits: new Map(),
      staging: new Map(),
      gcRules: undefined,
    };
    for (const c of readJsonLines<CommitRecord>(path.join(dir, "commits.jsonl"))) {
      state.commits.set(c.id, c);
    }
    const refsFile = path.join(dir, "refs.json");
    if (existsSync(refsFile)) {
      const doc = JSON.parse(readFileSync(refsFile, "utf8")) as RefsDocument;
      for (const [n, b] of Object.entries(doc.branches)) state.branches.set(n, b);
      for (const [n, id] of Object.entries(doc.tags)) state.tags.set(n, id);
    }
    for (const [, b] of state.branches.entriesAfter()) {
      const staged = new SortedMap<EntryValue | null>();
      for (const [key, value] of readJsonLines<[string, EntryValue | null | "drop"]>(
        this.stagingFile(state, b.staging_token),
      )) {
        if (value === "drop") staged.delete(key);
        else staged.set(key, value);
      }
      state.staging.set(b.staging_token, staged);
    }
    const rulesFile = path.join(dir, "gc_rules.json");
    if (existsSync(rulesFile)) state.gcRules = JSON.parse(readFileSync(rulesFile, "utf8"));
    mkdirSync(path.join(dir, "staging"), { recursive: true });
    this.repos.set(name, state);
  }
}

// ---------------------------------------------------------------------- helpers

function* prepend<T>(first: T, rest: Iterator<T>): Generator<T> {
  yield first;
  for (let step = rest.next(); !step.done; step = rest.next()) yield step.value;
}

function newToken(): string {
  return randomBytes(12).toString("hex");
}

function validatePath(p: string): void {
  if (p === "") throw new ApiError(400, "path: required");
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

function newerFirst(a: CommitRecord, b: CommitRecord): number {
  if (a.creation_date !== b.creation_date) return b.creation_date - a.creation_date;
  if (a.generation !== b.generation) return b.generation - a.generation;
  return a.id < b.id ? -1 : 1;
}

function insertByRecency(list: CommitRecord[], c: CommitRecord): void {
  let i = 0;
  while (i < list.length && newerFirst(list[i]!, c) < 0) i++;
  list.splice(i, 0, c);
}

function insertByGeneration(list: CommitRecord[], c: CommitRecord): void {
  const before = (x: CommitRecord) =>
    x.generation !== c.generation ? x.generation > c.generation : newerFirst(x, c) < 0;
  let i = 0;
  while (i < list.length && before(list[i]!)) i++;
  list.splice(i, 0, c);
}
