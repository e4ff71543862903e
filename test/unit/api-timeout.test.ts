// An API request has API Gateway's 29 seconds. A lakeFS call that hangs used to take up to 5
// attempts of 30 s: the function's time ran out first, middy answered its own TimeoutError as
// 500 "internal error", and the request's work resumed whenever the function ran next. The API's
// lakeFS client now gives up well within the time (a 502 naming lakeFS), and a request that
// still runs out of time answers 504 saying its change may or may not be stored.
import { expect, it } from "vitest";
import { API_LAKEFS_LIMITS } from "../../lambdas/api/deps";
import { apiHandler, json } from "../../lambdas/api/http";
import { routeKey } from "../../lambdas/api/routes";
import { LakeFsClient } from "../../lambdas/shared/lakefs/client";
import { LakeFsNetworkError } from "../../lambdas/shared/lakefs/errors";

const API_TIMEOUT_MS = 29_000;

it("the API's lakeFS client gives up on a hanging lakeFS well within the request's time", async () => {
  const { timeoutMs, retry } = API_LAKEFS_LIMITS;
  // README (API): five attempts of 3 seconds, waits of at most a second between them.
  expect({ timeoutMs, maxAttempts: retry.maxAttempts, maxDelayMs: retry.maxDelayMs }).toEqual({
    timeoutMs: 3_000,
    maxAttempts: 5,
    maxDelayMs: 1_000,
  });
  const worstCase = timeoutMs * retry.maxAttempts + retry.maxDelayMs * (retry.maxAttempts - 1);
  // Room for the DynamoDB reads and writes after a hanging call (a request makes one or two
  // quick ones).
  expect(worstCase).toBeLessThanOrEqual(API_TIMEOUT_MS - 9_000);
  // And the limits are the ones the client applies: a lakeFS that never answers, scaled down.
  let attempts = 0;
  const client = new LakeFsClient({
    endpoint: "http://lakefs.invalid",
    credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
    ...API_LAKEFS_LIMITS,
    timeoutMs: 50,
    retry: { ...API_LAKEFS_LIMITS.retry, sleep: async () => undefined },
    fetch: (async (_url: string, init: { signal?: AbortSignal }) => {
      attempts++;
      await new Promise((_r, reject) =>
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    }) as never,
  });
  await expect(client.getRepository("repo")).rejects.toBeInstanceOf(LakeFsNetworkError);
  expect(attempts).toBe(API_LAKEFS_LIMITS.retry.maxAttempts);
});

it("a request that runs out of the function's time answers 504, not 500", async () => {
  const handler = apiHandler(
    "slow",
    {
      [routeKey("GET", "/slow")]: async () => {
        await new Promise((r) => setTimeout(r, 500));
        return json(200, {});
      },
    },
    async () => ({}),
  );
  const answer = await handler(
    { httpMethod: "GET", resource: "/slow", headers: {}, body: null } as never,
    { getRemainingTimeInMillis: () => 100, awsRequestId: "r1" } as never,
  );
  expect(answer.statusCode).toBe(504);
  expect(JSON.parse(answer.body).message).toMatch(
    /did not finish in time.*may or may not be stored/,
  );
});
