// The part of the lakeFS API Lakeport reads, as TypeScript types. Field names follow lakeFS's
// OpenAPI description (snake_case), so responses map one to one.

export interface Repository {
  id: string;
  creation_date: number;
  default_branch: string;
  storage_namespace: string;
  read_only?: boolean;
}

export interface Ref {
  id: string;
  commit_id: string;
}

export interface Commit {
  id: string;
  parents: string[];
  committer: string;
  message: string;
  /** Unix epoch seconds. */
  creation_date: number;
  meta_range_id: string;
  metadata?: Record<string, string>;
  generation?: number;
  version?: number;
}

export interface ObjectStats {
  path: string;
  path_type: "object" | "common_prefix";
  physical_address: string;
  checksum: string;
  size_bytes?: number;
  mtime: number;
  metadata?: Record<string, string>;
  content_type?: string;
}

export interface DiffObjectStat {
  checksum: string;
  mtime: number;
  content_type: string;
  metadata?: Record<string, string>;
}

export interface Diff {
  type: "added" | "removed" | "changed" | "conflict" | "prefix_changed";
  path: string;
  path_type: "object" | "common_prefix";
  size_bytes?: number;
  right?: DiffObjectStat;
}

export interface Pagination {
  has_more: boolean;
  next_offset: string;
  results: number;
  max_per_page: number;
}

export interface Page<T> {
  results: T[];
  pagination: Pagination;
}

export interface GarbageCollectionRules {
  default_retention_days: number;
  branches: { branch_id: string; retention_days: number }[];
}

export interface ListOptions {
  /** Start after this value (exclusive). */
  after?: string;
  /** Page size, at most 1000. */
  amount?: number;
  prefix?: string;
}

export interface ListBranchesOptions extends ListOptions {
  /**
   * Also list hidden branches (lakeFS's `show_hidden`; a branch created with `hidden: true` is
   * left out of listings by default, yet readable by name and a GC starting point in lakeFS).
   */
  showHidden?: boolean;
}

export interface ListObjectsOptions extends ListOptions {
  delimiter?: string;
  userMetadata?: boolean;
}

export interface DiffOptions extends ListOptions {
  delimiter?: string;
  type?: "two_dot" | "three_dot";
  includeRightStats?: boolean;
}

export interface LogOptions {
  after?: string;
  amount?: number;
  firstParent?: boolean;
  stopAt?: string;
  /** RFC 3339 date-time: only commits at least this recent (lakeFS's `since`). */
  since?: string;
}

/**
 * What Lakeport reads from lakeFS. Listings are async iterators over pages, so callers can
 * stream; nothing loads a whole listing. The `list*Page` variants fetch exactly one page
 * (for Lambdas that checkpoint between pages).
 */
export interface LakeFsApi {
  getRepository(repository: string): Promise<Repository>;
  getBranch(repository: string, branch: string): Promise<Ref>;
  getTag(repository: string, tag: string): Promise<Ref>;
  getCommit(repository: string, commitId: string): Promise<Commit>;
  listBranches(repository: string, opts?: ListBranchesOptions): AsyncIterable<Page<Ref>>;
  listTags(repository: string, opts?: ListOptions): AsyncIterable<Page<Ref>>;
  logCommits(repository: string, ref: string, opts?: LogOptions): AsyncIterable<Page<Commit>>;
  listObjects(
    repository: string,
    ref: string,
    opts?: ListObjectsOptions,
  ): AsyncIterable<Page<ObjectStats>>;
  listObjectsPage(
    repository: string,
    ref: string,
    opts?: ListObjectsOptions,
  ): Promise<Page<ObjectStats>>;
  statObject(repository: string, ref: string, path: string): Promise<ObjectStats>;
  diffRefs(
    repository: string,
    leftRef: string,
    rightRef: string,
    opts?: DiffOptions,
  ): AsyncIterable<Page<Diff>>;
  diffRefsPage(
    repository: string,
    leftRef: string,
    rightRef: string,
    opts?: DiffOptions,
  ): Promise<Page<Diff>>;
  /** Uncommitted changes of a branch. */
  diffBranch(repository: string, branch: string, opts?: ListOptions): AsyncIterable<Page<Diff>>;
}

// Inputs of the writes (tests, the demo and the embedded environment make repositories).

export interface CreateRepositoryInput {
  name: string;
  storage_namespace: string;
  default_branch?: string;
  read_only?: boolean;
  /** Create without the initial commit and default branch. */
  bare?: boolean;
}

export interface UploadObjectInput {
  content: Uint8Array | string;
  contentType?: string;
  /** User metadata, sent as `X-Lakefs-Meta-<key>` headers. */
  metadata?: Record<string, string>;
  /** Set to "*" to upload only when the path has no object yet. */
  ifNoneMatch?: string;
}

export interface LinkPhysicalAddressInput {
  physicalAddress: string;
  checksum: string;
  sizeBytes: number;
  contentType?: string;
  userMetadata?: Record<string, string>;
  mtime?: number;
}

export interface CommitInput {
  message: string;
  metadata?: Record<string, string>;
  /** Creation date override, Unix seconds. */
  date?: number;
  allowEmpty?: boolean;
}

export interface MergeInput {
  message?: string;
  metadata?: Record<string, string>;
  strategy?: "dest-wins" | "source-wins";
  allowEmpty?: boolean;
  squashMerge?: boolean;
}

export interface RevertInput {
  /** The commit to revert, given by any ref. */
  ref: string;
  /** 1-based parent to revert against; required for merge commits. Default 0. */
  parentNumber?: number;
  allowEmpty?: boolean;
  /** Only lifts lakeFS's read-only repository check. */
  force?: boolean;
  commitOverrides?: { message?: string; metadata?: Record<string, string> };
}

export interface ObjectContent {
  body: Uint8Array;
  contentType: string | null;
  etag: string | null;
  lastModified: string | null;
}
