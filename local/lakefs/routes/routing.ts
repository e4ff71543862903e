// The development server's routing: a request as the route handlers see it, the reply they
// give, path patterns with `:name` parameters, and lakeFS's paging parameters and envelope.
import type http from "node:http";
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { EventType } from "../actions";
import { ApiError } from "../api-error";
import type { LakeFsModel } from "../model";
import type { CommitRecord } from "../repository-store";

export interface Request {
  method: string;
  segments: string[];
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: () => Promise<Buffer>;
  json: () => Promise<Record<string, unknown>>;
}

export type Reply =
  | { status: number; json?: unknown; text?: string; headers?: Record<string, string> }
  | { status: number; stream: Readable; headers: Record<string, string> };

export interface Route {
  method: string;
  pattern: string[];
  operation: string;
  handle: (req: Request, params: Record<string, string>) => Promise<Reply> | Reply;
}

/** Runs the post-* hooks of the actions of `commit` (after the reply). */
export type FireHooks = (
  repo: string,
  branch: string,
  commit: CommitRecord,
  eventType: EventType,
  mergeSource?: string,
) => void;

/** What every route group is built from. */
export interface RouteContext {
  model: LakeFsModel;
  s3: S3Client;
  fireHooks: FireHooks;
}

export const REPO = "repositories/:repository";
export const BRANCH = `${REPO}/branches/:branch`;
export const REF = `${REPO}/refs/:ref`;

/** A route for `METHOD path` named by its lakeFS operation id (stats and faults use it). */
export function route(
  method: string,
  path: string,
  operation: string,
  handle: Route["handle"],
): Route {
  return { method, pattern: path.split("/").filter(Boolean), operation, handle };
}

export function findRoute(routes: Route[], method: string, segments: string[]) {
  for (const route of routes) {
    if (route.method !== method || route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const part = route.pattern[i]!;
      if (part.startsWith(":")) params[part.slice(1)] = segments[i]!;
      else ok = part === segments[i];
    }
    if (ok) return { route, params };
  }
  return undefined;
}

const MAX_AMOUNT = 1000;
const DEFAULT_AMOUNT = 100;

export function after(req: Request): string | undefined {
  const v = req.query.get("after");
  return v === null || v === "" ? undefined : v;
}

/** lakeFS's `amount`: -1 .. 1000, default 100. */
export function amount(req: Request): number {
  const raw = req.query.get("amount");
  if (raw === null || raw === "") return DEFAULT_AMOUNT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -1 || n > MAX_AMOUNT) {
    throw new ApiError(400, `amount: must be an integer between -1 and ${MAX_AMOUNT}`);
  }
  return n <= 0 ? DEFAULT_AMOUNT : n;
}

export function listReply<T>(
  page: { results: T[]; hasMore: boolean },
  maxPerPage: number,
  offsetOf: (item: T) => string,
  toJson: (item: T) => unknown = (x) => x,
): Reply {
  const last = page.results[page.results.length - 1];
  return {
    status: 200,
    json: {
      pagination: {
        has_more: page.hasMore,
        next_offset: page.hasMore && last !== undefined ? offsetOf(last) : "",
        results: page.results.length,
        max_per_page: maxPerPage,
      },
      results: page.results.map(toJson),
    },
  };
}

export function sinceSeconds(value: string | null): number | undefined {
  if (value === null || value === "") return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError(400, "since: must be an RFC 3339 date-time");
  return Math.floor(ms / 1000);
}

export function requiredPath(req: Request): string {
  const p = req.query.get("path");
  if (p === null || p === "") throw new ApiError(400, "path: required");
  return p;
}
