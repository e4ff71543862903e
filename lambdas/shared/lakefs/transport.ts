// HTTP to the lakeFS API: basic auth, a timeout per attempt, retries (shared/retry.ts: backoff
// with full jitter, lakeFS's Retry-After taking precedence), typed errors, JSON responses
// checked against schemas, and listings as async iterators over pages.
import type { z } from "zod";
import { type RetryOptions, withRetry } from "../retry";
import { hasUserInfo } from "../url-user-info";
import {
  describeNetworkError,
  errorMessageOf,
  LakeFsError,
  LakeFsNetworkError,
  LakeFsSchemaError,
  LakeFsValidationError,
  lakeFsErrorFor,
} from "./errors";
import { isRetryableNetworkError, isRetryableStatus, parseRetryAfterMs } from "./retryable";
import { parseResponse } from "./schemas";
import type { Page } from "./types";

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
  /** Default: 5 attempts, backoff from 100 ms, waits (Retry-After included) capped at 20 s. */
  retry?: Pick<RetryOptions, "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "sleep" | "random">;
  /** Called before every HTTP attempt (retries included). */
  onRequest?: (info: LakeFsRequestInfo) => void;
  /** Replaceable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Wraps each call (its retries included), e.g. in a trace subsegment named `lakeFS <op>`. */
  traceCall?: <T>(name: string, call: () => Promise<T>) => Promise<T>;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestSpec {
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

export class LakeFsTransport {
  private readonly baseUrl: string;
  private readonly authorization: string;
  /** What an answer must not hand back: the basic auth value and the secret key. */
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly fetchImpl: typeof fetch;
  private readonly onRequest: ((info: LakeFsRequestInfo) => void) | undefined;
  private readonly traceCall: NonNullable<LakeFsClientOptions["traceCall"]>;
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
    if (hasUserInfo(opts.endpoint)) {
      // fetch refuses such a URL with an error quoting it, and every failure would say it
      // again: refused here without repeating it.
      throw new LakeFsValidationError(
        "lakeFS client: the endpoint must not carry credentials (user:password@); the key pair is sent as basic auth",
        0,
        "",
      );
    }
    this.baseUrl = lakeFsApiBaseUrl(opts.endpoint);
    const basic = Buffer.from(
      `${opts.credentials.accessKeyId}:${opts.credentials.secretAccessKey}`,
    ).toString("base64");
    this.authorization = `Basic ${basic}`;
    const secret = opts.credentials.secretAccessKey;
    // The key as JSON writes it too, when it has a character JSON escapes (a quote, a backslash).
    this.secrets = [basic, secret, JSON.stringify(secret).slice(1, -1)];
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retry = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 20_000, ...opts.retry };
    this.fetchImpl = opts.fetch ?? fetch;
    this.onRequest = opts.onRequest;
    this.traceCall = opts.traceCall ?? ((_name, call) => call());
  }

  /** HTTP attempts made so far (retries included). */
  get requestCount(): number {
    return this.requests;
  }

  /** Pages of a listing from `firstAfter` on, until lakeFS says there are no more. */
  async *paginate<T>(
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

  /**
   * A call answering JSON, checked against `schema`. `accepts`, when given, is a quicker check
   * that passes only bodies the schema passes (page-checks.ts); what it does not pass goes to
   * the schema, which names the bad field.
   */
  async json<S extends z.ZodType>(
    schema: S,
    spec: RequestSpec,
    accepts?: (body: unknown) => boolean,
  ): Promise<z.infer<S>> {
    const res = await this.send(spec);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LakeFsSchemaError(
        `lakeFS ${spec.operation}: response is not JSON: ${this.withoutSecrets(text).slice(0, 200)}`,
        "(body)",
        res.status,
      );
    }
    if (accepts?.(body)) return body as z.infer<S>;
    return parseResponse(schema, body, spec.operation, res.status);
  }

  /**
   * An answer's text as errors may quote it: something at the endpoint that echoes requests
   * (a proxy, an echo service by mistake) would otherwise hand the credentials to every log.
   */
  private withoutSecrets(text: string): string {
    const whole = this.secrets.reduce((t, secret) => t.split(secret).join("[redacted]"), text);
    return this.secrets.reduce(withoutPiecesOf, whole);
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
  async send(spec: RequestSpec): Promise<Response> {
    return this.traceCall(`lakeFS ${spec.operation}`, () => this.sendWithRetries(spec));
  }

  private async sendWithRetries(spec: RequestSpec): Promise<Response> {
    const url = this.url(spec);
    const headers: Record<string, string> = {
      authorization: this.authorization,
      accept: "application/json",
      ...(spec.json !== undefined ? { "content-type": "application/json" } : {}),
      ...spec.headers,
    };
    const body = spec.json !== undefined ? JSON.stringify(spec.json) : spec.body;
    // The Retry-After of the last answer; attempts run one after the other.
    let retryAfterMs: number | undefined;
    return withRetry(
      async (attempt) => {
        retryAfterMs = undefined;
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
          throw new LakeFsNetworkError(
            `lakeFS ${spec.operation}: ${describeNetworkError(err)} (${spec.method} ${url})`,
            err,
          );
        }
        if (res.ok) {
          return new Response(res.status === 204 || res.status === 304 ? null : buffered, {
            status: res.status,
            headers: res.headers,
          });
        }
        retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"), Date.now());
        // JSON written with escapes the secret has no need of ("\/", "\u002f") is written
        // plainly first: errors keep the raw text of a body without a `message`.
        const text = this.withoutSecrets(plainJson(new TextDecoder().decode(buffered)));
        // Again once decoded: `message` may hold the key in a form the text did not show.
        const message = this.withoutSecrets(errorMessageOf(text));
        throw lakeFsErrorFor(res.status, message, spec.operation);
      },
      {
        ...this.retry,
        isRetryable: (err) =>
          err instanceof LakeFsNetworkError
            ? isRetryableNetworkError(err.cause, spec.method)
            : err instanceof LakeFsError && isRetryableStatus(err.status, spec.method),
        requestedDelayMs: () => retryAfterMs,
      },
    );
  }
}

/** A JSON text written again in JSON's plainest form (no optional escapes); other text as is. */
function plainJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** Pieces shorter than this are not taken for a secret's (a random key's 12 are unique). */
const SECRET_PIECE_CHARS = 12;

/**
 * `text` with every run of 12 or more characters that is part of `secret` redacted: an
 * answer quoting a header cut short (its start or its end) gives most of a secret away.
 */
function withoutPiecesOf(text: string, secret: string): string {
  if (secret.length < SECRET_PIECE_CHARS || text.length < SECRET_PIECE_CHARS) return text;
  const pieces = new Set<string>();
  for (let k = 0; k + SECRET_PIECE_CHARS <= secret.length; k++) {
    pieces.add(secret.slice(k, k + SECRET_PIECE_CHARS));
  }
  const parts: string[] = [];
  let last = 0;
  for (let i = 0; i + SECRET_PIECE_CHARS <= text.length; ) {
    if (!pieces.has(text.slice(i, i + SECRET_PIECE_CHARS))) {
      i++;
      continue;
    }
    let end = i + SECRET_PIECE_CHARS;
    while (end < text.length && secret.includes(text.slice(i, end + 1))) end++;
    parts.push(text.slice(last, i), "[redacted]");
    last = end;
    i = end;
  }
  parts.push(text.slice(last));
  return parts.join("");
}
