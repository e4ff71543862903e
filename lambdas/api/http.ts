// API Gateway (REST, proxy integration) plumbing shared by the handlers: JSON responses,
// typed error mapping, body parsing with the right 4xx, and the handler wrapper.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import type { z } from "zod";
import {
  ConflictError,
  LakeportError,
  NotFoundError,
  UpstreamError,
  ValidationError,
} from "../shared/errors";
import { jsonTextProblem } from "../shared/inexact-numbers";
import { LakeFsCredentialsError } from "../shared/lakefs/credentials";
import { describeNetworkError, LakeFsError, LakeFsNetworkError } from "../shared/lakefs/errors";
import { lambdaHandler } from "../shared/lambda-handler";
import { type LogKeys, logger } from "../shared/logger";
import { jsonNestingDepth } from "./json-depth";
import { type RouteDef, routeKey, routeOf } from "./routes";

export type ApiEvent = APIGatewayProxyEvent;
export type ApiResult = APIGatewayProxyResult;
export type ApiHandler = (event: ApiEvent, context?: unknown) => Promise<ApiResult>;

export const MAX_BODY_BYTES = 64 * 1024;
/** lakeFS's webhook payload nests 2 deep (commit_metadata); no body needs more than this. */
export const MAX_BODY_NESTING = 64;

export class UnsupportedMediaTypeError extends LakeportError {
  override readonly name = "UnsupportedMediaTypeError";
}
export class PayloadTooLargeError extends LakeportError {
  override readonly name = "PayloadTooLargeError";
}
export class UnauthorizedError extends LakeportError {
  override readonly name = "UnauthorizedError";
}
export class ForbiddenError extends LakeportError {
  override readonly name = "ForbiddenError";
}
export class MethodNotAllowedError extends LakeportError {
  override readonly name = "MethodNotAllowedError";
}

/** The HTTP status of each typed error (the one place statuses are chosen). */
const STATUS_OF_ERROR = new Map<abstract new (...args: never[]) => LakeportError, number>([
  [ValidationError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [MethodNotAllowedError, 405],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UpstreamError, 502],
]);

/** The status a typed error answers with; undefined for an unexpected error (a 500). */
export function statusOfError(err: unknown): number | undefined {
  if (!(err instanceof LakeportError)) return undefined;
  for (const [type, status] of STATUS_OF_ERROR) if (err instanceof type) return status;
  return undefined;
}

export function json(statusCode: number, body: unknown): ApiResult {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    body: body === undefined ? "" : JSON.stringify(body),
  };
}

export const noContent = (): ApiResult => ({ statusCode: 204, headers: {}, body: "" });

export function header(event: ApiEvent, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === lower && v !== undefined) return v;
  }
  return undefined;
}

/** "field.path: what is wrong" from the first zod issue, naming the field. */
export function formatZodError(error: z.ZodError, prefix = ""): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const path = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
  const where = prefix + path;
  if (issue.code === "unrecognized_keys") {
    const names = issue.keys.map((k) => `"${where ? `${where}.` : ""}${k}"`).join(", ");
    return `unknown field ${names}`;
  }
  if (issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined) {
    return `${where}: required`;
  }
  return where ? `${where}: ${issue.message}` : issue.message;
}

function rawBody(event: ApiEvent): string {
  if (!event.body) return "";
  return event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
}

/**
 * Parses and validates a JSON body. `optional`: an empty body is `{}`.
 * 415 without a JSON content type, 413 over 64 KiB (or `maxBytes`), 400 for bad JSON or a
 * schema violation.
 */
export function parseBody<S extends z.ZodType>(
  event: ApiEvent,
  schema: S,
  opts: { optional?: boolean; maxBytes?: number } = {},
): z.infer<S> {
  const text = rawBody(event);
  const maxBytes = opts.maxBytes ?? MAX_BODY_BYTES;
  if (Buffer.byteLength(text) > maxBytes) {
    throw new PayloadTooLargeError(`request body is larger than ${maxBytes} bytes`);
  }
  if (text.trim() === "" && opts.optional) return schema.parse({});
  const type = header(event, "content-type") ?? "";
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
    throw new UnsupportedMediaTypeError(
      `content-type must be application/json (got ${type ? `"${type}"` : "none"})`,
    );
  }
  if (text.trim() === "") throw new ValidationError("request body is required");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError("request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ValidationError("request body must be a JSON object");
  }
  if (jsonNestingDepth(value, MAX_BODY_NESTING) > MAX_BODY_NESTING) {
    throw new ValidationError(
      `request body: must not nest arrays and objects more than ${MAX_BODY_NESTING} deep`,
    );
  }
  const problem = jsonTextProblem(text);
  if (problem) throw new ValidationError(problem);
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ValidationError(formatZodError(parsed.error));
  return parsed.data;
}

/** Validates a path parameter against a schema; 400 naming the parameter. */
export function pathParam<S extends z.ZodType>(
  event: ApiEvent,
  name: string,
  schema: S,
): z.infer<S> {
  const value = event.pathParameters?.[name];
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ValidationError(formatZodError(parsed.error, name));
  return parsed.data;
}

/**
 * A query parameter given at most once: API Gateway passes the function the last of repeated
 * values, and which one the caller meant is not known (400 naming it).
 */
export function queryParam(event: ApiEvent, name: string): string | undefined {
  const values = event.multiValueQueryStringParameters?.[name];
  if (values && values.length > 1) {
    throw new ValidationError(`${name}: must be given once (got ${values.length} values)`);
  }
  return event.queryStringParameters?.[name];
}

/** Refuses a query parameter the route does not take (400 naming it): it would be ignored. */
export function checkQueryParameters(event: ApiEvent, route: RouteDef | undefined): void {
  const allowed = route?.query ?? [];
  if (allowed === "any") return;
  const names = Object.keys(event.multiValueQueryStringParameters ?? {}).concat(
    Object.keys(event.queryStringParameters ?? {}),
  );
  const unknown = names.find((name) => !allowed.includes(name));
  if (unknown === undefined) return;
  throw new ValidationError(
    `${unknown}: not a query parameter of this route (it takes ${allowed.join(", ") || "none"})`,
  );
}

export type RouteFn<D> = (event: ApiEvent, deps: D) => Promise<ApiResult>;

/** The log keys of an API request: the repository, branch, run or mark it names. */
function requestKeys(event: ApiEvent): LogKeys {
  const p = event?.pathParameters ?? {};
  return { repository: p.repository, branch: p.branch, runId: p.runId, markId: p.markId };
}

/**
 * A Lakeport handler (shared/lambda-handler.ts) dispatching on the API Gateway `resource` and
 * method; typed errors become `{"message"}` with their status, anything else a 500 that hides
 * internals (and is logged at ERROR).
 */
export function apiHandler<D>(
  name: string,
  routes: Record<string, RouteFn<D>>,
  deps: () => D | Promise<D>,
): ApiHandler {
  const handler = lambdaHandler({
    name,
    keys: requestKeys,
    run: async (event: ApiEvent): Promise<ApiResult> => {
      const fn = routes[routeKey(event.httpMethod, event.resource)];
      if (!fn)
        throw new MethodNotAllowedError(
          `${event.httpMethod} ${event.resource} is not a route of this function`,
        );
      checkQueryParameters(event, routeOf(event.httpMethod, event.resource));
      return fn(event, await deps());
    },
    summary: (result) => ({ statusCode: result.statusCode }),
    // middy's default, which the API functions have always had.
    timeoutEarlyInMillis: 5,
  });
  return handler.onError((request) => {
    request.response = errorResponse(request.error);
  }) as unknown as ApiHandler;
}

export function errorResponse(err: unknown): ApiResult {
  const { statusCode, message } = errorAnswer(err);
  return json(statusCode, { message });
}

/**
 * The status and message an error is answered with, logged: a typed error's own, lakeFS's
 * failure named, anything else "internal error" (its stack in the log, nothing of it in the
 * answer). Also for errors reported inside a successful answer.
 */
export function errorAnswer(err: unknown): { statusCode: number; message: string } {
  const status = statusOfError(err);
  if (status !== undefined) {
    logger.info("request refused", { statusCode: status, reason: (err as Error).message });
    return { statusCode: status, message: (err as Error).message };
  }
  // lakeFS failing or refusing Lakeport's credentials is not Lakeport's internal error: a 502
  // that says so points the caller at lakeFS (its answer, never the credentials themselves).
  const upstream = lakeFsFailure(err);
  if (upstream) {
    logger.error("lakeFS request failed", err as Error);
    return { statusCode: 502, message: upstream };
  }
  // The function's time ran out (middy answers just before it does): a gateway timeout, not
  // an internal error. What the request was doing may or may not have been stored.
  if ((err as Error)?.name === "TimeoutError") {
    logger.error("request timed out", err as Error);
    return {
      statusCode: 504,
      message:
        "the request did not finish in time (lakeFS or AWS answering slowly); its change may or may not be stored: read it back before retrying",
    };
  }
  logger.error("unhandled error", err as Error);
  return { statusCode: 500, message: "internal error" };
}

function lakeFsFailure(err: unknown): string | undefined {
  if (err instanceof LakeFsCredentialsError) {
    return "lakeFS: Lakeport's lakeFS credentials could not be read (see the function's log)";
  }
  if (err instanceof LakeFsNetworkError) {
    return `lakeFS could not be reached: ${describeNetworkError(err.cause)}`;
  }
  if (err instanceof LakeFsError && err.status > 0) {
    return `lakeFS answered ${err.status}${err.lakeFsMessage ? `: ${err.lakeFsMessage}` : ""}`;
  }
  return undefined;
}
