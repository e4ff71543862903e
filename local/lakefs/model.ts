// The lakeFS semantics of the development server, without HTTP: repositories, branches with
// staging areas, tags, commits with content-derived ids, merges, the commit log, listings and
// diffs. Trees are graveler metaranges (graveler.ts); refs, commits and staging are persisted
// as small atomic JSON files and append-only JSON Lines under the data directory
// (repository-store.ts). Objects, commits, the log and diffs live in their own modules.
import { ApiError } from "./api-error";
import { CommitLog, type LogOptions } from "./commit-log";
import * as commits from "./commits";
import * as diffs from "./diffs";
import type { EntryValue } from "./graveler";
import * as objects from "./objects";
import type { DiffEntry, PageResult } from "./paging";
import { listSorted } from "./paging";
import { type ResolvedRef, resolveRef } from "./refs";
import {
  type CommitRecord,
  type GcRules,
  newToken,
  nowSeconds,
  type RepositoryRecord,
  RepositoryStore,
} from "./repository-store";

const REPO_NAME = /^[a-z0-9][a-z0-9-]{2,62}$/;
const BRANCH_NAME = /^\w[-\w]*$/;
const TAG_NAME = /^[^\s~^:?*[\\]+$/;

type ListOptions = { after?: string; prefix: string; delimiter: string; amount: number };

export class LakeFsModel {
  private readonly repos: RepositoryStore;
  private readonly log: CommitLog;

  constructor(dataDir: string, committer = "admin") {
    this.repos = new RepositoryStore(dataDir, committer);
    this.log = new CommitLog(this.repos);
  }

  /** Closes open files (server stop). */
  close(): void {
    this.repos.close();
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
    const record: RepositoryRecord = {
      id: input.name,
      creation_date: nowSeconds(),
      default_branch: defaultBranch,
      // Kept as given, as lakeFS keeps it (a trailing slash included); addresses join it
      // with one slash.
      storage_namespace: input.storage_namespace,
      read_only: input.read_only ?? false,
    };
    const state = this.repos.add(record);
    if (!input.bare) {
      const empty = this.repos.store.putMetarange([]);
      const commit = this.repos.addCommit(state, {
        parents: [],
        message: "Repository created",
        metadata: {},
        creation_date: record.creation_date,
        meta_range_id: empty.id,
      });
      state.branches.set(defaultBranch, { commit_id: commit.id, staging_token: newToken() });
    }
    this.repos.saveRefs(state);
    return record;
  }

  getRepository(name: string): RepositoryRecord {
    return this.repos.repo(name).record;
  }

  listRepositories(after: string | undefined, prefix: string, amount: number) {
    const names = this.repos
      .names()
      .filter((n) => n.startsWith(prefix) && (after === undefined || n > after))
      .sort();
    return {
      results: names.slice(0, amount).map((n) => this.repos.repo(n).record),
      hasMore: names.length > amount,
    };
  }

  deleteRepository(name: string): void {
    this.repos.remove(name);
  }

  // ------------------------------------------------------------- branches, tags

  createBranch(repo: string, name: unknown, source: unknown, hidden: unknown = false): string {
    const state = this.repos.repo(repo);
    if (typeof name !== "string" || !BRANCH_NAME.test(name)) {
      throw new ApiError(400, "name: invalid branch name");
    }
    if (typeof source !== "string" || source === "") throw new ApiError(400, "source: required");
    if (typeof hidden !== "boolean") throw new ApiError(400, "hidden: must be a boolean");
    if (state.branches.get(name) || state.tags.get(name)) {
      throw new ApiError(409, "branch already exists");
    }
    const { commit } = resolveRef(this.repos, state, source);
    state.branches.set(name, {
      commit_id: commit.id,
      staging_token: newToken(),
      ...(hidden ? { hidden: true } : {}),
    });
    this.repos.saveRefs(state);
    return commit.id;
  }

  getBranch(repo: string, branch: string): { id: string; commit_id: string } {
    const b = this.repos.branch(this.repos.repo(repo), branch);
    return { id: branch, commit_id: b.commit_id };
  }

  listBranches(
    repo: string,
    after: string | undefined,
    prefix: string,
    amount: number,
    showHidden = false,
  ) {
    const state = this.repos.repo(repo);
    return listSorted(
      state.branches,
      after,
      prefix,
      amount,
      (id, b) => ({ id, commit_id: b.commit_id }),
      (b) => showHidden || !b.hidden,
    );
  }

  deleteBranch(repo: string, branch: string): void {
    const state = this.repos.repo(repo);
    const b = this.repos.branch(state, branch);
    if (branch === state.record.default_branch) {
      throw new ApiError(403, "cannot delete repository default branch");
    }
    state.branches.delete(branch);
    this.repos.saveRefs(state);
    state.staging.delete(b.staging_token);
    this.repos.removeStagingLog(state, b.staging_token);
  }

  createTag(repo: string, id: unknown, ref: unknown): { id: string; commit_id: string } {
    const state = this.repos.repo(repo);
    if (typeof id !== "string" || !TAG_NAME.test(id)) throw new ApiError(400, "id: invalid tag");
    if (typeof ref !== "string" || ref === "") throw new ApiError(400, "ref: required");
    if (state.tags.get(id) !== undefined) throw new ApiError(409, "tag already exists");
    const { commit } = resolveRef(this.repos, state, ref);
    state.tags.set(id, commit.id);
    this.repos.saveRefs(state);
    return { id, commit_id: commit.id };
  }

  getTag(repo: string, tag: string): { id: string; commit_id: string } {
    const commitId = this.repos.repo(repo).tags.get(tag);
    if (commitId === undefined) throw new ApiError(404, "tag not found");
    return { id: tag, commit_id: commitId };
  }

  deleteTag(repo: string, tag: string): void {
    const state = this.repos.repo(repo);
    if (!state.tags.delete(tag)) throw new ApiError(404, "tag not found");
    this.repos.saveRefs(state);
  }

  listTags(repo: string, after: string | undefined, prefix: string, amount: number) {
    return listSorted(this.repos.repo(repo).tags, after, prefix, amount, (id, commit_id) => ({
      id,
      commit_id,
    }));
  }

  // ----------------------------------------------------------------- resolving refs

  resolveRef(repo: string, ref: string): ResolvedRef {
    return resolveRef(this.repos, this.repos.repo(repo), ref);
  }

  /** lakeFS's getCommit dereferences any ref: a commit id, else a branch's or tag's commit. */
  getCommit(repo: string, ref: string): CommitRecord {
    return resolveRef(this.repos, this.repos.repo(repo), ref).commit;
  }

  // ------------------------------------------------------------------ objects

  /** Stages `path` on a branch (upload or link). */
  stageObject(repo: string, branch: string, objectPath: string, value: EntryValue): void {
    objects.stageObject(this.repos, repo, branch, objectPath, value);
  }

  deleteObject(repo: string, branch: string, objectPath: string): void {
    objects.deleteObject(this.repos, repo, branch, objectPath);
  }

  /** lakeFS's resetBranch: drops uncommitted changes (all, one path, or under a prefix). */
  resetBranch(repo: string, branch: string, body: { type?: unknown; path?: unknown }): void {
    objects.resetBranch(this.repos, repo, branch, body);
  }

  statObject(repo: string, ref: string, objectPath: string): EntryValue {
    return objects.statObject(this.repos, repo, ref, objectPath);
  }

  /** A page of the objects of a ref (staging included for a branch), lakeFS-paginated. */
  listObjects(repo: string, ref: string, opts: ListOptions): PageResult<objects.ListedEntry> {
    return objects.listObjects(this.repos, repo, ref, opts);
  }

  /** Entries under `prefix` on a ref, for reading action files. */
  entriesUnder(repo: string, commitId: string, prefix: string): Generator<[string, EntryValue]> {
    return objects.entriesUnder(this.repos, repo, commitId, prefix);
  }

  // ------------------------------------------------------------------ commits

  commit(
    repo: string,
    branch: string,
    input: { message?: unknown; metadata?: unknown; date?: unknown; allow_empty?: unknown },
  ): CommitRecord {
    return commits.commit(this.repos, repo, branch, input);
  }

  merge(
    repo: string,
    sourceRef: string,
    destination: string,
    input: commits.MergeInput,
  ): CommitRecord {
    return commits.merge(this.repos, repo, sourceRef, destination, input);
  }

  /** lakeFS's cherry-pick (graveler.CherryPick), see commits.cherryPick. */
  cherryPick(repo: string, branch: string, input: Record<string, unknown>): CommitRecord {
    return commits.cherryPick(this.repos, repo, branch, input);
  }

  /** lakeFS's revert (graveler.Revert), see commits.revert. */
  revert(repo: string, branch: string, input: Record<string, unknown>): CommitRecord {
    return commits.revert(this.repos, repo, branch, input);
  }

  /** lakeFS's hard reset (graveler.ResetHard), see commits.hardReset. */
  hardReset(repo: string, branch: string, ref: string, force: boolean): void {
    commits.hardReset(this.repos, repo, branch, ref, force);
  }

  findMergeBase(repo: string, sourceRef: string, destinationBranch: string) {
    return commits.findMergeBase(this.repos, repo, sourceRef, destinationBranch);
  }

  /** A page of the commit log of `ref` (see CommitLog.page). */
  logCommits(repo: string, ref: string, opts: LogOptions): PageResult<CommitRecord> {
    return this.log.page(repo, ref, opts);
  }

  // --------------------------------------------------------------------- diffs

  /** Committed differences between two refs (branches resolve to their head commits). */
  diffRefs(
    repo: string,
    leftRef: string,
    rightRef: string,
    opts: ListOptions & { type: "two_dot" | "three_dot" },
  ): PageResult<DiffEntry> {
    return diffs.diffRefs(this.repos, repo, leftRef, rightRef, opts);
  }

  /** Uncommitted changes of a branch. */
  diffBranch(repo: string, branch: string, opts: ListOptions): PageResult<DiffEntry> {
    return diffs.diffBranch(this.repos, repo, branch, opts);
  }

  // --------------------------------------------------------------------- GC rules

  getGcRules(repo: string): GcRules {
    const rules = this.repos.repo(repo).gcRules;
    if (!rules) throw new ApiError(404, "no gc rules");
    return rules;
  }

  setGcRules(repo: string, body: unknown): void {
    const state = this.repos.repo(repo);
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
    this.repos.saveGcRules(state);
  }

  deleteGcRules(repo: string): void {
    const state = this.repos.repo(repo);
    state.gcRules = undefined;
    this.repos.saveGcRules(state);
  }
}
