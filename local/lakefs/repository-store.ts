// The state of every repository of the development server and its files: the repository
// record, refs (branches with their staging tokens, tags) as one atomic JSON document,
// commits appended to a JSON Lines file, one append-only log per staging area, GC rules.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ApiError } from "./api-error";
import {
  AppendLogs,
  appendLine,
  FileRangeStore,
  readJsonLines,
  writeFileAtomic,
} from "./file-store";
import type { EntryValue, Metarange } from "./graveler";
import { SortedMap } from "./sorted-map";

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

export interface BranchRecord {
  commit_id: string;
  staging_token: string;
  /** Created with `hidden: true`: listed only with `show_hidden=true`, read by name as any. */
  hidden?: boolean;
}

interface RefsDocument {
  branches: Record<string, BranchRecord>;
  tags: Record<string, string>;
}

export interface GcRules {
  default_retention_days: number;
  branches: { branch_id: string; retention_days: number }[];
}

export interface RepoState {
  record: RepositoryRecord;
  dir: string;
  branches: SortedMap<BranchRecord>;
  tags: SortedMap<string>;
  commits: Map<string, CommitRecord>;
  staging: Map<string, SortedMap<EntryValue | null>>;
  gcRules: GcRules | undefined;
}

export interface NewCommit {
  parents: string[];
  message: string;
  metadata: Record<string, string>;
  creation_date: number;
  meta_range_id: string;
}

export const EMPTY_TREE: Metarange = { id: "", ranges: [] };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function newToken(): string {
  return randomBytes(12).toString("hex");
}

export class RepositoryStore {
  private readonly repos = new Map<string, RepoState>();
  readonly store: FileRangeStore;
  private readonly stagingLogs = new AppendLogs();

  constructor(
    private readonly dataDir: string,
    private readonly committer: string,
  ) {
    mkdirSync(path.join(dataDir, "repos"), { recursive: true });
    this.store = new FileRangeStore(dataDir);
    for (const name of readdirSync(path.join(dataDir, "repos"))) this.load(name);
  }

  /** Closes open files (server stop). */
  close(): void {
    this.stagingLogs.closeAll();
  }

  has(name: string): boolean {
    return this.repos.has(name);
  }

  names(): string[] {
    return [...this.repos.keys()];
  }

  repoDir(name: string): string {
    return path.join(this.dataDir, "repos", name);
  }

  /** Registers a new repository: its directory and record file (refs are saved by the caller). */
  add(record: RepositoryRecord): RepoState {
    const dir = this.repoDir(record.id);
    const state = emptyState(record, dir);
    mkdirSync(path.join(dir, "staging"), { recursive: true });
    writeFileAtomic(path.join(dir, "repository.json"), JSON.stringify(record));
    this.repos.set(record.id, state);
    return state;
  }

  remove(name: string): void {
    const state = this.repo(name);
    this.repos.delete(name);
    this.stagingLogs.closeUnder(state.dir);
    rmSync(state.dir, { recursive: true, force: true });
  }

  repo(name: string): RepoState {
    const state = this.repos.get(name);
    if (!state) throw new ApiError(404, "repository not found");
    return state;
  }

  branch(state: RepoState, name: string): BranchRecord {
    const b = state.branches.get(name);
    if (!b) throw new ApiError(404, "branch not found");
    return b;
  }

  commitOf(state: RepoState, id: string): CommitRecord {
    const c = state.commits.get(id);
    if (!c) throw new ApiError(500, `commit ${id} missing`);
    return c;
  }

  tree(state: RepoState, commitId: string): Metarange {
    return this.store.getMetarange(this.commitOf(state, commitId).meta_range_id);
  }

  staging(state: RepoState, token: string): SortedMap<EntryValue | null> {
    let s = state.staging.get(token);
    if (!s) {
      s = new SortedMap();
      state.staging.set(token, s);
    }
    return s;
  }

  stagingFile(state: RepoState, token: string): string {
    return path.join(state.dir, "staging", `${token}.jsonl`);
  }

  stageChange(state: RepoState, b: BranchRecord, key: string, value: EntryValue | null) {
    this.staging(state, b.staging_token).set(key, value);
    this.stagingLogs.append(this.stagingFile(state, b.staging_token), JSON.stringify([key, value]));
  }

  /** Drops one staged entry (a deletion of something only staged, a reset of a path). */
  logStagingDrop(state: RepoState, token: string, key: string): void {
    this.stagingLogs.append(this.stagingFile(state, token), JSON.stringify([key, "drop"]));
  }

  /** Closes and removes a staging area's log (its entries are dropped by the caller). */
  removeStagingLog(state: RepoState, token: string): void {
    this.stagingLogs.close(this.stagingFile(state, token));
    rmSync(this.stagingFile(state, token), { force: true });
  }

  /** A commit with its content-derived id, appended to the commit log unless known. */
  addCommit(state: RepoState, input: NewCommit): CommitRecord {
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

  saveRefs(state: RepoState): void {
    const doc: RefsDocument = { branches: {}, tags: {} };
    for (const [name, b] of state.branches.entriesAfter()) doc.branches[name] = b;
    for (const [name, id] of state.tags.entriesAfter()) doc.tags[name] = id;
    writeFileAtomic(path.join(state.dir, "refs.json"), JSON.stringify(doc));
  }

  saveGcRules(state: RepoState): void {
    if (state.gcRules) {
      writeFileAtomic(path.join(state.dir, "gc_rules.json"), JSON.stringify(state.gcRules));
    } else {
      rmSync(path.join(state.dir, "gc_rules.json"), { force: true });
    }
  }

  private load(name: string): void {
    const dir = this.repoDir(name);
    const recordFile = path.join(dir, "repository.json");
    if (!existsSync(recordFile)) return;
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as RepositoryRecord;
    const state = emptyState(record, dir);
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

function emptyState(record: RepositoryRecord, dir: string): RepoState {
  return {
    record,
    dir,
    branches: new SortedMap(),
    tags: new SortedMap(),
    commits: new Map(),
    staging: new Map(),
    gcRules: undefined,
  };
}
