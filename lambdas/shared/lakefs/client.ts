// The lakeFS REST client: typed calls, listings as async iterators over pages, basic auth,
// per-attempt timeouts, retries with backoff and full jitter (honouring Retry-After), typed
// errors, and responses checked against schemas written from lakeFS's API description.
import { LakeFsSchemaError } from "./errors";
import { isDiffPage, isObjectStatsPage } from "./page-checks";
import {
  CommitListSchema,
  CommitSchema,
  DiffListSchema,
  FindMergeBaseResultSchema,
  GarbageCollectionRulesSchema,
  MergeResultSchema,
  ObjectStatsListSchema,
  ObjectStatsSchema,
  RefListSchema,
  RefSchema,
  RepositoryListSchema,
  RepositorySchema,
  StagingLocationSchema,
} from "./schemas";
import { type LakeFsClientOptions, LakeFsTransport } from "./transport";
import type {
  Commit,
  CommitInput,
  CreateRepositoryInput,
  Diff,
  DiffOptions,
  GarbageCollectionRules,
  LakeFsApi,
  LinkPhysicalAddressInput,
  ListBranchesOptions,
  ListObjectsOptions,
  ListOptions,
  LogOptions,
  MergeInput,
  ObjectContent,
  ObjectStats,
  Page,
  Ref,
  Repository,
  RevertInput,
  UploadObjectInput,
} from "./types";

export {
  type LakeFsClientOptions,
  type LakeFsCredentials,
  type LakeFsRequestInfo,
  lakeFsApiBaseUrl,
} from "./transport";

const seg = (value: string) => encodeURIComponent(value);

export class LakeFsClient implements LakeFsApi {
  private readonly http: LakeFsTransport;

  constructor(opts: LakeFsClientOptions) {
    this.http = new LakeFsTransport(opts);
  }

  /** HTTP attempts made by this client so far (retries included). */
  get requestCount(): number {
    return this.http.requestCount;
  }

  // ---------------------------------------------------------------- reads (LakeFsApi)

  getRepository(repository: string): Promise<Repository> {
    return this.http.json(RepositorySchema, {
      operation: "getRepository",
      method: "GET",
      path: `/repositories/${seg(repository)}`,
    });
  }

  getBranch(repository: string, branch: string): Promise<Ref> {
    return this.http.json(RefSchema, {
      operation: "getBranch",
      method: "GET",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}`,
    });
  }

  getTag(repository: string, tag: string): Promise<Ref> {
    return this.http.json(RefSchema, {
      operation: "getTag",
      method: "GET",
      path: `/repositories/${seg(repository)}/tags/${seg(tag)}`,
    });
  }

  getCommit(repository: string, commitId: string): Promise<Commit> {
    return this.http.json(CommitSchema, {
      operation: "getCommit",
      method: "GET",
      path: `/repositories/${seg(repository)}/commits/${seg(commitId)}`,
    });
  }

  listBranches(repository: string, opts: ListBranchesOptions = {}): AsyncIterable<Page<Ref>> {
    return this.http.paginate(opts.after, (after) =>
      this.http.json(RefListSchema, {
        operation: "listBranches",
        method: "GET",
        path: `/repositories/${seg(repository)}/branches`,
        query: { after, amount: opts.amount, prefix: opts.prefix, show_hidden: opts.showHidden },
      }),
    );
  }

  listTags(repository: string, opts: ListOptions = {}): AsyncIterable<Page<Ref>> {
    return this.http.paginate(opts.after, (after) =>
      this.http.json(RefListSchema, {
        operation: "listTags",
        method: "GET",
        path: `/repositories/${seg(repository)}/tags`,
        query: { after, amount: opts.amount, prefix: opts.prefix },
      }),
    );
  }

  logCommits(repository: string, ref: string, opts: LogOptions = {}): AsyncIterable<Page<Commit>> {
    return this.http.paginate(opts.after, (after) =>
      this.logCommitsPage(repository, ref, { ...opts, after }),
    );
  }

  /** One page of the commit log. */
  logCommitsPage(repository: string, ref: string, opts: LogOptions = {}): Promise<Page<Commit>> {
    return this.http.json(CommitListSchema, {
      operation: "logCommits",
      method: "GET",
      path: `/repositories/${seg(repository)}/refs/${seg(ref)}/commits`,
      query: {
        after: opts.after,
        amount: opts.amount,
        first_parent: opts.firstParent,
        stop_at: opts.stopAt,
        since: opts.since,
      },
    });
  }

  listObjects(
    repository: string,
    ref: string,
    opts: ListObjectsOptions = {},
  ): AsyncIterable<Page<ObjectStats>> {
    return this.http.paginate(opts.after, (after) =>
      this.listObjectsPage(repository, ref, { ...opts, after }),
    );
  }

  listObjectsPage(
    repository: string,
    ref: string,
    opts: ListObjectsOptions = {},
  ): Promise<Page<ObjectStats>> {
    return this.http.json(
      ObjectStatsListSchema,
      {
        operation: "listObjects",
        method: "GET",
        path: `/repositories/${seg(repository)}/refs/${seg(ref)}/objects/ls`,
        query: {
          after: opts.after,
          amount: opts.amount,
          prefix: opts.prefix,
          delimiter: opts.delimiter,
          user_metadata: opts.userMetadata,
        },
      },
      isObjectStatsPage,
    );
  }

  statObject(repository: string, ref: string, path: string): Promise<ObjectStats> {
    return this.http.json(ObjectStatsSchema, {
      operation: "statObject",
      method: "GET",
      path: `/repositories/${seg(repository)}/refs/${seg(ref)}/objects/stat`,
      query: { path },
    });
  }

  diffRefs(
    repository: string,
    leftRef: string,
    rightRef: string,
    opts: DiffOptions = {},
  ): AsyncIterable<Page<Diff>> {
    return this.http.paginate(opts.after, (after) =>
      this.diffRefsPage(repository, leftRef, rightRef, { ...opts, after }),
    );
  }

  diffRefsPage(
    repository: string,
    leftRef: string,
    rightRef: string,
    opts: DiffOptions = {},
  ): Promise<Page<Diff>> {
    return this.http.json(
      DiffListSchema,
      {
        operation: "diffRefs",
        method: "GET",
        path: `/repositories/${seg(repository)}/refs/${seg(leftRef)}/diff/${seg(rightRef)}`,
        query: {
          after: opts.after,
          amount: opts.amount,
          prefix: opts.prefix,
          delimiter: opts.delimiter,
          type: opts.type,
          include_right_stats: opts.includeRightStats,
        },
      },
      isDiffPage,
    );
  }

  diffBranch(repository: string, branch: string, opts: ListOptions & { delimiter?: string } = {}) {
    return this.http.paginate(opts.after, (after) =>
      this.http.json(
        DiffListSchema,
        {
          operation: "diffBranch",
          method: "GET",
          path: `/repositories/${seg(repository)}/branches/${seg(branch)}/diff`,
          query: { after, amount: opts.amount, prefix: opts.prefix, delimiter: opts.delimiter },
        },
        isDiffPage,
      ),
    );
  }

  // ------------------------------------------------- more reads (not part of LakeFsApi)

  listRepositories(opts: ListOptions = {}): AsyncIterable<Page<Repository>> {
    return this.http.paginate(opts.after, (after) =>
      this.http.json(RepositoryListSchema, {
        operation: "listRepositories",
        method: "GET",
        path: "/repositories",
        query: { after, amount: opts.amount, prefix: opts.prefix },
      }),
    );
  }

  findMergeBase(repository: string, sourceRef: string, destinationBranch: string) {
    return this.http.json(FindMergeBaseResultSchema, {
      operation: "findMergeBase",
      method: "GET",
      path: `/repositories/${seg(repository)}/refs/${seg(sourceRef)}/merge/${seg(destinationBranch)}`,
    });
  }

  /** Object bytes. A physical object removed by GC answers 410: LakeFsGoneError. */
  async getObject(repository: string, ref: string, path: string): Promise<ObjectContent> {
    const res = await this.http.send({
      operation: "getObject",
      method: "GET",
      path: `/repositories/${seg(repository)}/refs/${seg(ref)}/objects`,
      query: { path },
    });
    return {
      body: new Uint8Array(await res.arrayBuffer()),
      contentType: res.headers.get("content-type"),
      etag: res.headers.get("etag"),
      lastModified: res.headers.get("last-modified"),
    };
  }

  getGcRules(repository: string): Promise<GarbageCollectionRules> {
    return this.http.json(GarbageCollectionRulesSchema, {
      operation: "getGCRules",
      method: "GET",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
    });
  }

  // ------------------------------------------------------------------------ writes

  createRepository(input: CreateRepositoryInput): Promise<Repository> {
    const { bare, ...body } = input;
    return this.http.json(RepositorySchema, {
      operation: "createRepository",
      method: "POST",
      path: "/repositories",
      query: { bare },
      json: body,
    });
  }

  async deleteRepository(repository: string): Promise<void> {
    await this.http.send({
      operation: "deleteRepository",
      method: "DELETE",
      path: `/repositories/${seg(repository)}`,
    });
  }

  /**
   * Creates a branch from `source` (any ref); returns the commit id it points at. `hidden`:
   * left out of branch listings unless asked for (lakeFS's `show_hidden`).
   */
  async createBranch(
    repository: string,
    name: string,
    source: string,
    opts: { hidden?: boolean } = {},
  ): Promise<string> {
    const res = await this.http.send({
      operation: "createBranch",
      method: "POST",
      path: `/repositories/${seg(repository)}/branches`,
      json: { name, source, ...(opts.hidden ? { hidden: true } : {}) },
    });
    return (await res.text()).trim();
  }

  async deleteBranch(repository: string, branch: string): Promise<void> {
    await this.http.send({
      operation: "deleteBranch",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}`,
    });
  }

  /** Drops uncommitted changes: all (`reset`), one `object`, or under a `common_prefix`. */
  async resetBranch(
    repository: string,
    branch: string,
    reset: { type: "reset" } | { type: "object" | "common_prefix"; path: string },
  ): Promise<void> {
    await this.http.send({
      operation: "resetBranch",
      method: "PUT",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}`,
      json: reset,
    });
  }

  createTag(repository: string, id: string, ref: string): Promise<Ref> {
    return this.http.json(RefSchema, {
      operation: "createTag",
      method: "POST",
      path: `/repositories/${seg(repository)}/tags`,
      json: { id, ref },
    });
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    await this.http.send({
      operation: "deleteTag",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/tags/${seg(tag)}`,
    });
  }

  /** Uploads bytes through lakeFS (application/octet-stream); the object is staged. */
  uploadObject(
    repository: string,
    branch: string,
    path: string,
    input: UploadObjectInput,
  ): Promise<ObjectStats> {
    const headers: Record<string, string> = {
      "content-type": input.contentType ?? "application/octet-stream",
    };
    for (const [key, value] of Object.entries(input.metadata ?? {})) {
      headers[`x-lakefs-meta-${key}`] = value;
    }
    if (input.ifNoneMatch) headers["if-none-match"] = input.ifNoneMatch;
    const body =
      typeof input.content === "string" ? new TextEncoder().encode(input.content) : input.content;
    return this.http.json(ObjectStatsSchema, {
      operation: "uploadObject",
      method: "POST",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/objects`,
      query: { path },
      body,
      headers,
    });
  }

  /** A fresh address inside the storage namespace to upload to before linking it. */
  async getPhysicalAddress(repository: string, branch: string, path: string): Promise<string> {
    const location = await this.http.json(StagingLocationSchema, {
      operation: "getPhysicalAddress",
      method: "GET",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/staging/backing`,
      query: { path },
    });
    if (!location.physical_address) {
      throw new LakeFsSchemaError(
        "lakeFS getPhysicalAddress: response does not fit the API description: physical_address: expected string",
        "physical_address",
        200,
      );
    }
    return location.physical_address;
  }

  /** Stages `path` pointing at an existing physical object (inside or outside the namespace). */
  linkPhysicalAddress(
    repository: string,
    branch: string,
    path: string,
    input: LinkPhysicalAddressInput,
  ): Promise<ObjectStats> {
    return this.http.json(ObjectStatsSchema, {
      operation: "linkPhysicalAddress",
      method: "PUT",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/staging/backing`,
      query: { path },
      json: {
        staging: { physical_address: input.physicalAddress },
        checksum: input.checksum,
        size_bytes: input.sizeBytes,
        ...(input.contentType ? { content_type: input.contentType } : {}),
        ...(input.userMetadata ? { user_metadata: input.userMetadata } : {}),
        ...(input.mtime !== undefined ? { mtime: input.mtime } : {}),
      },
    });
  }

  async deleteObject(repository: string, branch: string, path: string): Promise<void> {
    await this.http.send({
      operation: "deleteObject",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/objects`,
      query: { path },
    });
  }

  commit(repository: string, branch: string, input: CommitInput): Promise<Commit> {
    return this.http.json(CommitSchema, {
      operation: "commit",
      method: "POST",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/commits`,
      json: {
        message: input.message,
        ...(input.metadata ? { metadata: input.metadata } : {}),
        ...(input.date !== undefined ? { date: input.date } : {}),
        ...(input.allowEmpty ? { allow_empty: true } : {}),
      },
    });
  }

  /** Merges `sourceRef` into `destinationBranch`; returns the merge commit id. */
  async merge(
    repository: string,
    sourceRef: string,
    destinationBranch: string,
    input: MergeInput = {},
  ): Promise<string> {
    const result = await this.http.json(MergeResultSchema, {
      operation: "mergeIntoBranch",
      method: "POST",
      path: `/repositories/${seg(repository)}/refs/${seg(sourceRef)}/merge/${seg(destinationBranch)}`,
      json: {
        ...(input.message !== undefined ? { message: input.message } : {}),
        ...(input.metadata ? { metadata: input.metadata } : {}),
        ...(input.strategy ? { strategy: input.strategy } : {}),
        ...(input.allowEmpty ? { allow_empty: true } : {}),
        ...(input.squashMerge ? { squash_merge: true } : {}),
      },
    });
    return result.reference;
  }

  /**
   * Commits, on `branch`, the inverse of `ref`'s changes against its parent `parentNumber`
   * (1-based; lakeFS requires it for a merge commit, 0 = the only parent). lakeFS answers 204
   * without the new commit: read the branch head for it.
   */
  async revertBranch(repository: string, branch: string, input: RevertInput): Promise<void> {
    await this.http.send({
      operation: "revertBranch",
      method: "POST",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/revert`,
      json: {
        ref: input.ref,
        parent_number: input.parentNumber ?? 0,
        ...(input.allowEmpty ? { allow_empty: true } : {}),
        ...(input.force ? { force: true } : {}),
        ...(input.commitOverrides ? { commit_overrides: input.commitOverrides } : {}),
      },
    });
  }

  /** Moves the branch head to `ref` (lakeFS's experimental hard reset); no commit is made. */
  async hardResetBranch(
    repository: string,
    branch: string,
    ref: string,
    opts: { force?: boolean } = {},
  ): Promise<void> {
    await this.http.send({
      operation: "hardResetBranch",
      method: "PUT",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/hard_reset`,
      query: { ref, force: opts.force },
    });
  }

  async setGcRules(repository: string, rules: GarbageCollectionRules): Promise<void> {
    await this.http.send({
      operation: "setGCRules",
      method: "PUT",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
      json: rules,
    });
  }

  async deleteGcRules(repository: string): Promise<void> {
    await this.http.send({
      operation: "deleteGCRules",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
    });
  }
}
