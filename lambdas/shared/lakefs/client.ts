// The lakeFS REST client: typed calls, listings as async iterators over pages, basic auth,
// per-attempt timeouts, retries with backoff and full jitter (honouring Retry-After), typed
// errors, and responses checked against schemas written from lakeFS's API description.
import type { z } from "zod";
import {
  describeNetworkError,
  errorMessageOf,
  type LakeFsError,
  LakeFsNetworkError,
  LakeFsSchemaError,
  LakeFsValidationError,
  lakeFsErrorFor,
} from "./errors";
import {
  backoffDelayMs,
  defaultSleep,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfterMs,
  type RetryOptions,
} from "./retryable";
import {
  CommitListSchema,
  CommitSchema,
  DiffListSchema,
  FindMergeBaseResultSchema,
  GarbageCollectionRulesSchema,
  MergeResultSchema,
  ObjectStatsListSchema,
  ObjectStatsSchema,
  parseResponse,
  RefListSchema,
  RefSchema,
  RepositoryListSchema,
  RepositorySchema,
  StagingLocationSchema,
} from "./schemas";
import type {
  Commit,
  Diff,
  DiffOptions,
  GarbageCollectionRules,
  LakeFsApi,
  ListObjectsOptions,
  ListOptions,
  LogOptions,
  ObjectStats,
  Page,
  Ref,
  Repository,
} from "./types";

export interface LakeFsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** One HTTP attempt, reported to `onRequest` (counting calls in tests and benchmarks). */
export interface LakeFsRequestInfo {
  /** lakeFS operationId, e.g. `listObjects`. */
  operation: string;
  method: string;
  url: string;
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: number;
}

export interface LakeFsClientOptions {
  /**
   * lakeFS server URL. Either the server root (`http://127.0.0.1:8000`) or the API base
   * (`http://127.0.0.1:8000/api/v1`); `/api/v1` is appended when missing, as lakectl does.
   */
  endpoint: string;
  credentials: LakeFsCredentials;
  /** Per-attempt timeout in ms (whole response for JSON calls). Default 30 000. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Called before every HTTP attempt (retries included). */
  onRequest?: (info: LakeFsRequestInfo) => void;
  /** Replaceable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

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

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec {
  operation: string;
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  path: string;
  query?: Query;
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
}

/** The API base URL (with `/api/v1`, no trailing slash) for an endpoint given either way. */
export function lakeFsApiBaseUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, "");
  return trimmed.endsWith("/api/v1") ? trimmed : `${trimmed}/api/v1`;
}

const seg = (value: string) => encodeURIComponent(value);

export class LakeFsClient implements LakeFsApi {
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly fetchImpl: typeof fetch;
  private readonly onRequest: ((info: LakeFsRequestInfo) => void) | undefined;
  private requests = 0;

  constructor(opts: LakeFsClientOptions) {
    if (!opts.endpoint)
      throw new LakeFsValidationError("lakeFS client: endpoint is required", 0, "");
    if (!opts.credentials?.accessKeyId || !opts.credentials?.secretAccessKey) {
      throw new LakeFsValidationError(
        "lakeFS client: credentials.accessKeyId and credentials.secretAccessKey are required",
        0,
        "",
      );
    }
    this.baseUrl = lakeFsApiBaseUrl(opts.endpoint);
    this.authorization = `Basic ${Buffer.from(
      `${opts.credentials.accessKeyId}:${opts.credentials.secretAccessKey}`,
    ).toString("base64")}`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 5);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 100;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 20_000;
    this.sleep = opts.retry?.sleep ?? defaultSleep;
    this.random = opts.retry?.random ?? Math.random;
    this.fetchImpl = opts.fetch ?? fetch;
    this.onRequest = opts.onRequest;
  }

  /** HTTP attempts made by this client so far (retries included). */
  get requestCount(): number {
    return this.requests;
  }

  // ---------------------------------------------------------------- reads (LakeFsApi)

  getRepository(repository: string): Promise<Repository> {
    return this.json(RepositorySchema, {
      operation: "getRepository",
      method: "GET",
      path: `/repositories/${seg(repository)}`,
    });
  }

  getBranch(repository: string, branch: string): Promise<Ref> {
    return this.json(RefSchema, {
      operation: "getBranch",
      method: "GET",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}`,
    });
  }

  getTag(repository: string, tag: string): Promise<Ref> {
    return this.json(RefSchema, {
      operation: "getTag",
      method: "GET",
      path: `/repositories/${seg(repository)}/tags/${seg(tag)}`,
    });
  }

  getCommit(repository: string, commitId: string): Promise<Commit> {
    return this.json(CommitSchema, {
      operation: "getCommit",
      method: "GET",
      path: `/repositories/${seg(repository)}/commits/${seg(commitId)}`,
    });
  }

  listBranches(repository: string, opts: ListOptions = {}): AsyncIterable<Page<Ref>> {
    return this.paginate(opts.after, (after) =>
      this.json(RefListSchema, {
        operation: "listBranches",
        method: "GET",
        path: `/repositories/${seg(repository)}/branches`,
        query: { after, amount: opts.amount, prefix: opts.prefix },
      }),
    );
  }

  listTags(repository: string, opts: ListOptions = {}): AsyncIterable<Page<Ref>> {
    return this.paginate(opts.after, (after) =>
      this.json(RefListSchema, {
        operation: "listTags",
        method: "GET",
        path: `/repositories/${seg(repository)}/tags`,
        query: { after, amount: opts.amount, prefix: opts.prefix },
      }),
    );
  }

  logCommits(repository: string, ref: string, opts: LogOptions = {}): AsyncIterable<Page<Commit>> {
    return this.paginate(opts.after, (after) =>
      this.logCommitsPage(repository, ref, { ...opts, after }),
    );
  }

  /** One page of the commit log. */
  logCommitsPage(repository: string, ref: string, opts: LogOptions = {}): Promise<Page<Commit>> {
    return this.json(CommitListSchema, {
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
    return this.paginate(opts.after, (after) =>
      this.listObjectsPage(repository, ref, { ...opts, after }),
    );
  }

  listObjectsPage(
    repository: string,
    ref: string,
    opts: ListObjectsOptions = {},
  ): Promise<Page<ObjectStats>> {
    return this.json(ObjectStatsListSchema, {
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
    });
  }

  statObject(repository: string, ref: string, path: string): Promise<ObjectStats> {
    return this.json(ObjectStatsSchema, {
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
    return this.paginate(opts.after, (after) =>
      this.diffRefsPage(repository, leftRef, rightRef, { ...opts, after }),
    );
  }

  diffRefsPage(
    repository: string,
    leftRef: string,
    rightRef: string,
    opts: DiffOptions = {},
  ): Promise<Page<Diff>> {
    return this.json(DiffListSchema, {
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
    });
  }

  diffBranch(repository: string, branch: string, opts: ListOptions & { delimiter?: string } = {}) {
    return this.paginate(opts.after, (after) =>
      this.json(DiffListSchema, {
        operation: "diffBranch",
        method: "GET",
        path: `/repositories/${seg(repository)}/branches/${seg(branch)}/diff`,
        query: { after, amount: opts.amount, prefix: opts.prefix, delimiter: opts.delimiter },
      }),
    );
  }

  // ------------------------------------------------- more reads (not part of LakeFsApi)

  listRepositories(opts: ListOptions = {}): AsyncIterable<Page<Repository>> {
    return this.paginate(opts.after, (after) =>
      this.json(RepositoryListSchema, {
        operation: "listRepositories",
        method: "GET",
        path: "/repositories",
        query: { after, amount: opts.amount, prefix: opts.prefix },
      }),
    );
  }

  findMergeBase(repository: string, sourceRef: string, destinationBranch: string) {
    return this.json(FindMergeBaseResultSchema, {
      operation: "findMergeBase",
      method: "GET",
      path: `/repositories/${seg(repository)}/refs/${seg(sourceRef)}/merge/${seg(destinationBranch)}`,
    });
  }

  /** Object bytes. A physical object removed by GC answers 410: LakeFsGoneError. */
  async getObject(repository: string, ref: string, path: string): Promise<ObjectContent> {
    const res = await this.send({
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
    return this.json(GarbageCollectionRulesSchema, {
      operation: "getGCRules",
      method: "GET",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
    });
  }

  // ------------------------------------------------------------------------ writes

  createRepository(input: CreateRepositoryInput): Promise<Repository> {
    const { bare, ...body } = input;
    return this.json(RepositorySchema, {
      operation: "createRepository",
      method: "POST",
      path: "/repositories",
      query: { bare },
      json: body,
    });
  }

  async deleteRepository(repository: string): Promise<void> {
    await this.send({
      operation: "deleteRepository",
      method: "DELETE",
      path: `/repositories/${seg(repository)}`,
    });
  }

  /** Creates a branch from `source` (any ref); returns the commit id it points at. */
  async createBranch(repository: string, name: string, source: string): Promise<string> {
    const res = await this.send({
      operation: "createBranch",
      method: "POST",
      path: `/repositories/${seg(repository)}/branches`,
      json: { name, source },
    });
    return (await res.text()).trim();
  }

  async deleteBranch(repository: string, branch: string): Promise<void> {
    await this.send({
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
    await this.send({
      operation: "resetBranch",
      method: "PUT",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}`,
      json: reset,
    });
  }

  createTag(repository: string, id: string, ref: string): Promise<Ref> {
    return this.json(RefSchema, {
      operation: "createTag",
      method: "POST",
      path: `/repositories/${seg(repository)}/tags`,
      json: { id, ref },
    });
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    await this.send({
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
    return this.json(ObjectStatsSchema, {
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
    const location = await this.json(StagingLocationSchema, {
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
    return this.json(ObjectStatsSchema, {
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
    await this.send({
      operation: "deleteObject",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/objects`,
      query: { path },
    });
  }

  commit(repository: string, branch: string, input: CommitInput): Promise<Commit> {
    return this.json(CommitSchema, {
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
    const result = await this.json(MergeResultSchema, {
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
    await this.send({
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
    await this.send({
      operation: "hardResetBranch",
      method: "PUT",
      path: `/repositories/${seg(repository)}/branches/${seg(branch)}/hard_reset`,
      query: { ref, force: opts.force },
    });
  }

  async setGcRules(repository: string, rules: GarbageCollectionRules): Promise<void> {
    await this.send({
      operation: "setGCRules",
      method: "PUT",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
      json: rules,
    });
  }

  async deleteGcRules(repository: string): Promise<void> {
    await this.send({
      operation: "deleteGCRules",
      method: "DELETE",
      path: `/repositories/${seg(repository)}/settings/gc_rules`,
    });
  }

  // ------------------------------------------------------------------------ plumbing

  private async *paginate<T>(
    firstAfter: string | undefined,
    fetchPage: (after: string | undefined) => Promise<Page<T>>,
  ): AsyncGenerator<Page<T>> {
    let after = firstAfter;
    for (;;) {
      const page = await fetchPage(after);
      yield page;
      if (!page.pagination.has_more) return;
      if (page.pagination.next_offset === "" || page.pagination.next_offset === after) {
        throw new LakeFsSchemaError(
          "lakeFS listing: has_more is true but next_offset does not advance",
          "pagination.next_offset",
          200,
        );
      }
      after = page.pagination.next_offset;
    }
  }

  private async json<S extends z.ZodType>(schema: S, spec: RequestSpec): Promise<z.infer<S>> {
    const res = await this.send(spec);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LakeFsSchemaError(
        `lakeFS ${spec.operation}: response is not JSON: ${text.slice(0, 200)}`,
        "(body)",
        res.status,
      );
    }
    return parseResponse(schema, body, spec.operation, res.status);
  }

  private url(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${spec.path}${qs ? `?${qs}` : ""}`;
  }

  /**
   * One call with retries. Returns a 2xx response (body unread); throws a typed error
   * otherwise. JSON bodies are read inside the attempt so the timeout covers them.
   */
  private async send(spec: RequestSpec): Promise<Response> {
    const url = this.url(spec);
    const headers: Record<string, string> = {
      authorization: this.authorization,
      accept: "application/json",
      ...(spec.json !== undefined ? { "content-type": "application/json" } : {}),
      ...spec.headers,
    };
    const body = spec.json !== undefined ? JSON.stringify(spec.json) : spec.body;
    let lastError: LakeFsError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      this.requests++;
      this.onRequest?.({ operation: spec.operation, method: spec.method, url, attempt });
      let res: Response;
      let buffered: Uint8Array;
      try {
        res = await this.fetchImpl(url, {
          method: spec.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        // Read the whole body within the attempt: a reset mid-body is retryable too.
        buffered = new Uint8Array(await res.arrayBuffer());
      } catch (err) {
        const retryable = isRetryableNetworkError(err, spec.method);
        lastError = new LakeFsNetworkError(
          `lakeFS ${spec.operation}: ${describeNetworkError(err)} (${spec.method} ${url})`,
          err,
        );
        if (!retryable || attempt === this.maxAttempts) throw lastError;
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if (res.ok) {
        return new Response(res.status === 204 || res.status === 304 ? null : buffered, {
          status: res.status,
          headers: res.headers,
        });
      }
      const text = new TextDecoder().decode(buffered);
      lastError = lakeFsErrorFor(res.status, errorMessageOf(text), spec.operation);
      if (!isRetryableStatus(res.status, spec.method) || attempt === this.maxAttempts) {
        throw lastError;
      }
      const retryAfter = parseRetryAfterMs(res.headers.get("retry-after"), Date.now());
      await this.sleep(
        retryAfter !== undefined ? Math.min(retryAfter, this.maxDelayMs) : this.backoff(attempt),
      );
    }
    throw lastError!;
  }

  private backoff(attempt: number): number {
    return backoffDelayMs(attempt, {
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      random: this.random,
    });
  }
}
