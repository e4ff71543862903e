// An in-memory lakeFS for the GC steps' unit and property tests: full trees per commit,
// branches with staging areas, tags, and the reads GC makes (GcLakeFs) with lakeFS's
// pagination, plus the writes a user makes between a mark and a sweep (commit, link, revert,
// branch and tag creation, hard reset). Every read is counted.

import type { GcLakeFs } from "../../lambdas/gc/ports";
import { LakeFsNotFoundError } from "../../lambdas/shared/lakefs/errors";
import type {
  Commit,
  Diff,
  ObjectStats,
  Page,
  Ref,
  Repository,
} from "../../lambdas/shared/lakefs/types";

export interface MemoryCommit {
  id: string;
  parents: string[];
  creation_date: number;
  /** path -> physical address */
  tree: Map<string, string>;
  /** As lakeFS records it; the id when not given. */
  message?: string;
  metadata?: Record<string, string>;
}

interface Branch {
  head: string;
  /** lakeFS's `hidden: true`: left out of listings unless `show_hidden` is asked for. */
  hidden?: boolean;
  /** path -> address, or null for a staged deletion. */
  staged: Map<string, string | null>;
}

/** lakeFS reads a ref of this form as the commit with that id, before any branch or tag. */
const FULL_COMMIT_ID = /^[a-fA-F0-9]{64}$/;

const notFound = (what: string) =>
  new LakeFsNotFoundError(`lakeFS: 404 ${what} not found`, 404, `${what} not found`);

function page<T>(all: T[], keyOf: (t: T) => string, after: string | undefined, amount = 100) {
  const start = after === undefined ? 0 : all.findIndex((x) => keyOf(x) > after);
  const from = start < 0 ? all.length : start;
  const results = all.slice(from, from + amount);
  const hasMore = from + amount < all.length;
  return {
    results,
    pagination: {
      has_more: hasMore,
      next_offset: hasMore ? keyOf(results.at(-1)!) : "",
      results: results.length,
      max_per_page: amount,
    },
  } satisfies Page<T>;
}

export class MemoryLakeFs implements GcLakeFs {
  readonly commits = new Map<string, MemoryCommit>();
  readonly branches = new Map<string, Branch>();
  readonly tags = new Map<string, string>();
  /** The lakeFS server's repositories, as listRepositories answers (none unless a test adds). */
  readonly repositories: Repository[] = [];
  readonly calls: Record<string, number> = {};
  /** Called before each read is answered (tests change the repository mid-check). */
  beforeRead: ((op: string, ref?: string) => void) | undefined;
  #seq = 0;

  constructor(readonly now: () => number = () => 1_800_000_000) {}

  // ------------------------------------------------------------------ writes

  addCommit(
    parents: string[],
    tree: Map<string, string>,
    date = this.now(),
    id?: string,
    record: Pick<MemoryCommit, "message" | "metadata"> = {},
  ) {
    const commit: MemoryCommit = {
      id: id ?? `c${String(this.#seq++).padStart(4, "0")}`,
      parents,
      creation_date: date,
      tree,
      ...record,
    };
    this.commits.set(commit.id, commit);
    return commit.id;
  }

  createBranch(name: string, commitId: string, opts: { hidden?: boolean } = {}) {
    if (!this.commits.has(commitId)) throw notFound(`commit ${commitId}`);
    this.branches.set(name, {
      head: commitId,
      staged: new Map(),
      ...(opts.hidden ? { hidden: true } : {}),
    });
  }

  deleteBranch(name: string) {
    this.branches.delete(name);
  }

  createTag(name: string, commitId: string) {
    this.tags.set(name, commitId);
  }

  /** Stages an upload or a link of an existing address (lakeFS stageObject / link). */
  stage(branch: string, path: string, address: string | null) {
    this.branch(branch).staged.set(path, address);
  }

  /** Commits the branch's staging area; returns the new commit id. */
  commit(branch: string, date = this.now()) {
    const b = this.branch(branch);
    const tree = new Map(this.commits.get(b.head)!.tree);
    for (const [path, address] of b.staged) {
      if (address === null) tree.delete(path);
      else tree.set(path, address);
    }
    const id = this.addCommit([b.head], tree, date);
    b.head = id;
    b.staged = new Map();
    return id;
  }

  /**
   * lakeFS revert: a new commit on the branch undoing `commitId`'s changes to its parent, with
   * lakeFS's default message (`Revert <ref>`) unless `message` overrides it.
   */
  revert(branch: string, commitId: string, date = this.now(), message?: string) {
    const c = this.commits.get(commitId)!;
    return this.#applyChanges(branch, this.commits.get(c.parents[0]!)!, c, date, {
      message: message ?? `Revert ${commitId}`,
    });
  }

  /** lakeFS cherry-pick: a new commit on the branch applying `commitId`'s changes to its parent. */
  cherryPick(branch: string, commitId: string, date = this.now()) {
    const c = this.commits.get(commitId)!;
    return this.#applyChanges(branch, c, this.commits.get(c.parents[0]!)!, date, {
      message: c.message ?? c.id,
      metadata: { ...c.metadata, "cherry-pick-origin": c.id, "cherry-pick-committer": "t" },
    });
  }

  /** A commit on `branch` setting each path where `to` differs from `base` to `to`'s entry. */
  #applyChanges(
    branch: string,
    to: MemoryCommit,
    base: MemoryCommit,
    date: number,
    record: Pick<MemoryCommit, "message" | "metadata">,
  ) {
    const b = this.branch(branch);
    const tree = new Map(this.commits.get(b.head)!.tree);
    for (const path of new Set([...to.tree.keys(), ...base.tree.keys()])) {
      const after = to.tree.get(path);
      if (after === base.tree.get(path)) continue;
      if (after === undefined) tree.delete(path);
      else tree.set(path, after);
    }
    const id = this.addCommit([b.head], tree, date, undefined, record);
    b.head = id;
    return id;
  }

  /** lakeFS hard_reset: the branch head moves to `commitId`. */
  hardReset(branch: string, commitId: string) {
    this.branch(branch).head = commitId;
  }

  private branch(name: string): Branch {
    const b = this.branches.get(name);
    if (!b) throw notFound(`branch ${name}`);
    return b;
  }

  private count(op: string, ref?: string) {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    this.beforeRead?.(op, ref);
  }

  // ------------------------------------------------------------------ reads (GcLakeFs)

  async *listRepositories(opts: { after?: string; amount?: number } = {}) {
    this.count("listRepositories");
    const repos = [...this.repositories].sort((a, b) => (a.id < b.id ? -1 : 1));
    yield page(repos, (r) => r.id, opts.after, opts.amount);
  }

  async *listBranches(
    _repo: string,
    opts: { after?: string; amount?: number; showHidden?: boolean } = {},
  ) {
    this.count("listBranches");
    const refs: Ref[] = [...this.branches]
      .filter(([, b]) => opts.showHidden || !b.hidden)
      .map(([id, b]) => ({ id, commit_id: b.head }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    yield page(refs, (r) => r.id, opts.after, opts.amount);
  }

  async *listTags(_repo: string, opts: { after?: string; amount?: number } = {}) {
    this.count("listTags");
    const refs: Ref[] = [...this.tags]
      .map(([id, commit_id]) => ({ id, commit_id }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    yield page(refs, (r) => r.id, opts.after, opts.amount);
  }

  async *logCommits(_repo: string, ref: string, opts: { amount?: number } = {}) {
    const head = this.resolve(ref);
    const seen = new Set<string>();
    const order: MemoryCommit[] = [];
    const stack = [head];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const c = this.commits.get(id)!;
      order.push(c);
      for (const p of c.parents) stack.push(p);
    }
    order.sort((a, b) => b.creation_date - a.creation_date || (a.id < b.id ? 1 : -1));
    const amount = opts.amount ?? 100;
    for (let i = 0; i < order.length; i += amount) {
      this.count("logCommits");
      const results: Commit[] = order.slice(i, i + amount).map((c) => ({
        id: c.id,
        parents: c.parents,
        committer: "t",
        message: c.message ?? c.id,
        ...(c.metadata ? { metadata: c.metadata } : {}),
        creation_date: c.creation_date,
        meta_range_id: "",
      }));
      yield {
        results,
        pagination: {
          has_more: i + amount < order.length,
          next_offset: results.at(-1)!.id,
          results: results.length,
          max_per_page: amount,
        },
      } satisfies Page<Commit>;
    }
  }

  async listObjectsPage(
    _repo: string,
    ref: string,
    opts: { after?: string; amount?: number } = {},
  ) {
    this.count("listObjects", ref);
    const objects: ObjectStats[] = [...this.viewOf(ref)]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([path, address]) => stats(path, address));
    return page(objects, (o) => o.path, opts.after, opts.amount);
  }

  /** As lakeFS's getCommit: `ref` is dereferenced (a branch or tag gives its commit). */
  async getCommit(_repo: string, ref: string): Promise<Commit> {
    this.count("getCommit");
    const c = this.commits.get(this.resolve(ref))!;
    return {
      id: c.id,
      parents: c.parents,
      committer: "t",
      message: c.message ?? c.id,
      ...(c.metadata ? { metadata: c.metadata } : {}),
      creation_date: c.creation_date,
      meta_range_id: "",
    };
  }

  async statObject(_repo: string, ref: string, path: string): Promise<ObjectStats> {
    this.count("statObject");
    const b = this.branchNamed(ref);
    if (b?.staged.has(path)) {
      const address = b.staged.get(path);
      if (address === null || address === undefined) throw notFound(`object ${path}`);
      return stats(path, address);
    }
    const address = this.treeOf(ref).get(path);
    if (address === undefined) throw notFound(`object ${path}`);
    return stats(path, address);
  }

  async diffRefsPage(
    _repo: string,
    left: string,
    right: string,
    opts: { after?: string; amount?: number } = {},
  ) {
    this.count("diffRefs");
    const l = this.treeOf(left);
    const r = this.treeOf(right);
    const diffs: Diff[] = [];
    for (const path of [...new Set([...l.keys(), ...r.keys()])].sort()) {
      const a = l.get(path);
      const b = r.get(path);
      if (a === b || (a !== undefined && b !== undefined && this.sameEntry(a, b))) continue;
      const type = a === undefined ? "added" : b === undefined ? "removed" : "changed";
      diffs.push({ type, path, path_type: "object" });
    }
    return page(diffs, (d) => d.path, opts.after, opts.amount);
  }

  async *diffBranch(_repo: string, branch: string, opts: { after?: string; amount?: number } = {}) {
    this.count("diffBranch", branch);
    const b = this.branch(branch);
    const head = this.commits.get(b.head)!.tree;
    const committed = (path: string) => head.get(path);
    const diffs: Diff[] = [...b.staged]
      .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      .filter(([path, address]) => {
        const c = committed(path);
        return address === null || c === undefined || !this.sameEntry(c, address);
      })
      .map(([path, address]) => ({
        type: address === null ? "removed" : head.has(path) ? "changed" : "added",
        path,
        path_type: "object" as const,
      }));
    yield page(diffs, (d) => d.path, opts.after, opts.amount);
  }

  /**
   * Whether two entries (by their addresses) are the same to a diff. Here: the same address;
   * a subclass can compare as lakeFS does, by identity (size, ETag, metadata, content type).
   */
  protected sameEntry(a: string, b: string): boolean {
    return a === b;
  }

  // ------------------------------------------------------------------ helpers

  /** The branch a ref names, as lakeFS resolves refs: a full commit id names that commit. */
  private branchNamed(ref: string): Branch | undefined {
    if (FULL_COMMIT_ID.test(ref) && this.commits.has(ref)) return undefined;
    return this.branches.get(ref);
  }

  resolve(ref: string): string {
    if (FULL_COMMIT_ID.test(ref) && this.commits.has(ref)) return ref;
    const id = this.branches.get(ref)?.head ?? this.tags.get(ref) ?? ref;
    if (!this.commits.has(id)) throw notFound(`ref ${ref}`);
    return id;
  }

  treeOf(ref: string): Map<string, string> {
    return this.commits.get(this.resolve(ref))!.tree;
  }

  /** What listing `ref` shows, as lakeFS lists a branch: its staged entries over its head. */
  viewOf(ref: string): Map<string, string> {
    const staged = this.branchNamed(ref)?.staged;
    if (!staged || staged.size === 0) return this.treeOf(ref);
    const view = new Map(this.treeOf(ref));
    for (const [path, address] of staged) {
      if (address === null) view.delete(path);
      else view.set(path, address);
    }
    return view;
  }

  /** Every address something visible references now: reachable commits' trees and staging. */
  referencedNow(): Set<string> {
    const out = new Set<string>();
    const seen = new Set<string>();
    const stack = [...[...this.branches.values()].map((b) => b.head), ...this.tags.values()];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const c = this.commits.get(id)!;
      for (const a of c.tree.values()) out.add(a);
      stack.push(...c.parents);
    }
    for (const b of this.branches.values()) {
      for (const a of b.staged.values()) if (a !== null) out.add(a);
    }
    return out;
  }
}

function stats(path: string, address: string): ObjectStats {
  return { path, path_type: "object", physical_address: address, checksum: "x", mtime: 0 };
}
