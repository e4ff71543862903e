// lakeFS webhook receiver: checks the shared secret, validates the payload, dedupes repeated
// deliveries and puts one event on the EventBridge bus. The starter Lambda (triggered by a
// bus rule) starts the export.
import { createHash, timingSafeEqual } from "node:crypto";
import { LAKEFS_EVENT_SOURCE } from "../../export/domain/lakefs-event";
import { UpstreamError } from "../../shared/errors";
import { logger } from "../../shared/logger";
import { withRetry } from "../../shared/retry";
import { busEventDetail } from "../bus-event-detail";
import { type ApiDeps, depsFromEnv, lazyDeps } from "../deps";
import {
  type ApiEvent,
  type ApiHandler,
  apiHandler,
  ForbiddenError,
  header,
  json,
  parseBody,
  type RouteFn,
  UnauthorizedError,
} from "../http";
import { API_BASE_PATH, routeKey } from "../routes";
import { type LakeFsWebhookEvent, LakeFsWebhookEventSchema } from "../schemas";

export const WEBHOOK_TOKEN_HEADER = "X-Lakeport-Token";

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Identity of one delivery: the same event delivered twice has the same key. */
export function deliveryKey(e: LakeFsWebhookEvent): string {
  return createHash("sha256")
    .update([e.repository_id, e.branch_id, e.commit_id, e.event_type, e.hook_id].join("\0"))
    .digest("hex");
}

async function checkToken(event: ApiEvent, deps: ApiDeps) {
  const given = header(event, WEBHOOK_TOKEN_HEADER);
  if (given === undefined) throw new UnauthorizedError(`missing ${WEBHOOK_TOKEN_HEADER} header`);
  const matches = (expected: string | undefined) => !!expected && tokensMatch(given, expected);
  if (matches(await deps.webhookToken())) return;
  // The secret may have been rotated since this container read it.
  if (matches(await deps.webhookToken({ refresh: true }))) return;
  throw new ForbiddenError(`wrong ${WEBHOOK_TOKEN_HEADER} header`);
}

/**
 * lakeFS's payload carries the commit's message and metadata, of any size: taken up to 4 MiB,
 * and trimmed for the bus (bus-event-detail.ts). What reaches the function is bounded by the
 * Lambda invocation (6 MB of proxy event, in which the payload's escaped quotes and backslashes
 * are escaped again): a payload of such characters over about 3 MiB gets API Gateway's 413.
 */
export const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

export const webhookRoutes: Record<string, RouteFn<ApiDeps>> = {
  [routeKey("POST", `${API_BASE_PATH}/webhooks/lakefs`)]: async (event, deps) => {
    await checkToken(event, deps);
    const payload = parseBody(event, LakeFsWebhookEventSchema, { maxBytes: MAX_WEBHOOK_BYTES });
    const key = deliveryKey(payload);
    const nowSeconds = Math.floor(deps.now().getTime() / 1000);
    if (!(await deps.stores.webhooks.claim(key, nowSeconds))) {
      return json(200, { published: false, duplicate: true });
    }
    try {
      await deps.events.publish({
        source: LAKEFS_EVENT_SOURCE,
        detailType: payload.event_type,
        detail: busEventDetail(payload),
      });
    } catch (err) {
      // Give the key back so lakeFS's retry of this delivery is not taken for a repeat
      // (throttling retried); if even that fails, the answer is still the publish's failure.
      const kept = await withRetry(() => deps.stores.webhooks.release(key), {}).then(
        () => false,
        (releaseError: unknown) => {
          logger.error("webhook delivery claim not released", releaseError as Error);
          return true;
        },
      );
      // The bus's message (on AWS it names the account and the function's role) is logged, not
      // answered: lakeFS keeps webhook answers in its action runs, readable by its users.
      logger.error("webhook event not published", err as Error);
      throw new UpstreamError(
        `could not publish the event (${errorName(err)}; the webhook function's log has the details)${kept ? "; a repeat of this delivery is dropped for 7 days (the stuck-export check exports the head within 15 minutes)" : ""}`,
      );
    }
    return json(202, { published: true, duplicate: false });
  },
};

export function createWebhookHandler(deps: () => ApiDeps | Promise<ApiDeps>): ApiHandler {
  return apiHandler("API webhook", webhookRoutes, deps);
}

export const handler = createWebhookHandler(lazyDeps(() => depsFromEnv(process.env)));

/** An error's name when it is a plain identifier (an SDK exception's), else "Error". */
function errorName(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === "string" && /^[A-Za-z][A-Za-z0-9.]{0,80}$/.test(name) ? name : "Error";
}
