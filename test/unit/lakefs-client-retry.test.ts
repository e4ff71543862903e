// The lakeFS client's retry policy, timeouts and schema checks against tiny HTTP servers.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LakeFsClient, lakeFsApiBaseUrl } from "../../lambdas/shared/lakefs/client";
import {
  LakeFsNetworkError,
  LakeFsNotFoundError,
  LakeFsSchemaError,
  LakeFsServerError,
  LakeFsTooManyRequestsError,
} from "../../lambdas/shared/lakefs/errors";
import { parseRetryAfterMs } from "../../lambdas/shared/lakefs/retryable";
import { fullJitterDelayMs } from "../../lambdas/shared/retry";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
const servers: http.Server[] = [];

async function serve(handler: Handler) {
  let n = 0;
  const seen: { url: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", auth: req.headers.authorization });
    handler(req, res, ++n);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const REPO = {
  id: "repo1",
  creation_date: 1,
  default_branch: "main",
  storage_namespace: "s3://b/p",
};

function json(res: http.ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function client(
  url: string,
  sleeps: number[],
  extra: Partial<ConstructorParameters<typeof LakeFsClient>[0]> = {},
) {
  return new LakeFsClient({
    endpoint: url,
    credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
    retry: {
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 5000,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
    ...extra,
  });
}

describe("LakeFsClient retries", () => {
  it("retries 429 honouring Retry-After (seconds), then 503 with backoff, then succeeds", async () => {
    const { url, seen } = await serve((_req, res, n) => {
      if (n === 1) return json(res, 429, { message: "slow down" }, { "retry-after": "2" });
      if (n === 2) return json(res, 503, { message: "unavailable" });
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    const attempts: number[] = [];
    const c = client(url, sleeps, { onRequest: (i) => attempts.push(i.attempt) });
    expect(await c.getRepository("repo1")).toMatchObject({ id: "repo1" });
    expect(sleeps).toEqual([2000, 100]); // Retry-After 2 s; then 0.5 * 100 * 2^1
    expect(attempts).toEqual([1, 2, 3]);
    expect(c.requestCount).toBe(3);
    expect(seen[0]!.url).toBe("/api/v1/repositories/repo1");
    expect(seen[0]!.auth).toBe(`Basic ${Buffer.from("AK:SK").toString("base64")}`);
  });

  it("honours Retry-After as an HTTP date and caps it at maxDelayMs", async () => {
    const { url } = await serve((_req, res, n) => {
      if (n === 1) {
        return json(
          res,
          503,
          { message: "x" },
          {
            "retry-after": new Date(Date.now() + 3_600_000).toUTCString(),
          },
        );
      }
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    await client(url, sleeps).getRepository("repo1");
    expect(sleeps).toEqual([5000]);
  });

  it("gives up after maxAttempts with the typed error and lakeFS's message", async () => {
    const { url } = await serve((_req, res) => json(res, 429, { message: "too many" }));
    const sleeps: number[] = [];
    const err = await client(url, sleeps)
      .getRepository("repo1")
      .catch((e) => e);
    expect(err).toBeInstanceOf(LakeFsTooManyRequestsError);
    expect(err).toMatchObject({ status: 429, lakeFsMessage: "too many" });
    expect(sleeps).toHaveLength(3);
  });

  it.each([429, 500, 502, 503, 504])("retries a %i answer to a read", async (status) => {
    const { url, seen } = await serve((_req, res, n) => {
      if (n === 1) return json(res, status, { message: "transient" });
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    expect((await client(url, sleeps).getRepository("repo1")).id).toBe("repo1");
    expect(seen).toHaveLength(2);
  });

  it("makes 5 attempts by default (README: What GC guarantees)", async () => {
    const { url, seen } = await serve((_req, res) => json(res, 503, { message: "down" }));
    const sleeps: number[] = [];
    const c = new LakeFsClient({
      endpoint: url,
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
      retry: {
        random: () => 0.5,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    });
    await expect(c.getRepository("repo1")).rejects.toMatchObject({ status: 503 });
    expect(seen).toHaveLength(5);
    expect(sleeps).toHaveLength(4);
  });

  it("does not retry 404", async () => {
    const { url, seen } = await serve((_req, res) =>
      json(res, 404, { message: "repository not found" }),
    );
    const sleeps: number[] = [];
    await expect(client(url, sleeps).getRepository("missing")).rejects.toBeInstanceOf(
      LakeFsNotFoundError,
    );
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("retries a 500 on a GET with backoff, then succeeds", async () => {
    const { url, seen } = await serve((_req, res, n) => {
      if (n <= 2) return json(res, 500, { message: "kv store unavailable" });
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    expect((await client(url, sleeps).getRepository("repo1")).id).toBe("repo1");
    expect(seen).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // 0.5 * 100 * 2^0, 0.5 * 100 * 2^1
  });

  it("gives up on a persistent GET 500 after maxAttempts with lakeFS's message", async () => {
    const { url, seen } = await serve((_req, res) => json(res, 500, { message: "boom" }));
    const sleeps: number[] = [];
    const err = await client(url, sleeps)
      .getRepository("repo1")
      .catch((e) => e);
    expect(err).toBeInstanceOf(LakeFsServerError);
    expect(err).toMatchObject({ status: 500, lakeFsMessage: "boom" });
    expect(err.message).toBe("lakeFS getRepository: 500 boom");
    expect(seen).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it("does not retry a 500 on POST, PUT or DELETE (lakeFS may have done the work)", async () => {
    const { url, seen } = await serve((_req, res) => json(res, 500, { message: "boom" }));
    const sleeps: number[] = [];
    const c = client(url, sleeps);
    const calls = [
      () => c.commit("r", "main", { message: "m" }),
      () => c.setGcRules("r", { default_retention_days: 1, branches: [] }),
      () => c.deleteBranch("r", "b"),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject({
        name: "LakeFsServerError",
        lakeFsMessage: "boom",
      });
    }
    expect(seen.map((s) => s.url)).toEqual([
      "/api/v1/repositories/r/branches/main/commits",
      "/api/v1/repositories/r/settings/gc_rules",
      "/api/v1/repositories/r/branches/b",
    ]);
    expect(sleeps).toEqual([]);
  });

  it("retries a connection reset on a GET", async () => {
    const { url } = await serve((req, res, n) => {
      if (n === 1) return req.socket.destroy();
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    expect((await client(url, sleeps).getRepository("repo1")).id).toBe("repo1");
    expect(sleeps).toHaveLength(1);
  });

  it("does not retry a reset POST (a commit must not run twice)", async () => {
    const { url, seen } = await serve((req) => req.socket.destroy());
    const sleeps: number[] = [];
    await expect(client(url, sleeps).commit("r", "main", { message: "m" })).rejects.toBeInstanceOf(
      LakeFsNetworkError,
    );
    expect(seen).toHaveLength(1);
  });

  it("times out a hanging response and retries it", async () => {
    const { url } = await serve((_req, res, n) => {
      if (n === 1) return; // never answers
      json(res, 200, REPO);
    });
    const sleeps: number[] = [];
    const c = client(url, sleeps, { timeoutMs: 200 });
    expect((await c.getRepository("repo1")).id).toBe("repo1");
    expect(sleeps).toHaveLength(1);
  });
});

describe("LakeFsClient responses", () => {
  it("names the field of a response that does not fit the API description", async () => {
    const good = {
      path: "a",
      path_type: "object",
      physical_address: "s3://b/a",
      checksum: "x",
      mtime: 1,
    };
    const { url } = await serve((_req, res) =>
      json(res, 200, {
        pagination: { has_more: false, next_offset: "", results: 4, max_per_page: 100 },
        results: [good, good, good, { ...good, physical_address: 42 }],
      }),
    );
    const err = await client(url, [])
      .listObjectsPage("r", "main")
      .catch((e) => e);
    expect(err).toBeInstanceOf(LakeFsSchemaError);
    expect(err.field).toBe("results[3].physical_address");
    expect(err.message).toContain("results[3].physical_address: expected string");
  });

  it("names the field of a diff page that does not fit, past the quick page check", async () => {
    const { url } = await serve((_req, res) =>
      json(res, 200, {
        pagination: { has_more: false, next_offset: "", results: 2, max_per_page: 100 },
        results: [
          { type: "added", path: "a", path_type: "object" },
          { type: "moved", path: "b", path_type: "object" },
        ],
      }),
    );
    const err = await client(url, [])
      .diffRefsPage("r", "c1", "c2")
      .catch((e) => e);
    expect(err).toBeInstanceOf(LakeFsSchemaError);
    expect(err.field).toBe("results[1].type");
  });

  it("iterates pages with after = next_offset", async () => {
    const { url, seen } = await serve((req, res) => {
      const after = new URL(req.url!, "http://x").searchParams.get("after");
      const ids = after === null ? ["a", "b"] : ["c"];
      json(res, 200, {
        pagination: {
          has_more: after === null,
          next_offset: after === null ? "b" : "",
          results: ids.length,
          max_per_page: 2,
        },
        results: ids.map((id) => ({ id, commit_id: `${id}1` })),
      });
    });
    const ids: string[] = [];
    for await (const page of client(url, []).listBranches("r", { amount: 2 })) {
      ids.push(...page.results.map((r) => r.id));
    }
    expect(ids).toEqual(["a", "b", "c"]);
    expect(seen.map((s) => s.url)).toEqual([
      "/api/v1/repositories/r/branches?amount=2",
      "/api/v1/repositories/r/branches?after=b&amount=2",
    ]);
  });

  it("asks for hidden branches with show_hidden=true", async () => {
    const { url, seen } = await serve((_req, res) => {
      json(res, 200, {
        pagination: { has_more: false, next_offset: "", results: 0, max_per_page: 1000 },
        results: [],
      });
    });
    for await (const _ of client(url, []).listBranches("r", { amount: 1000, showHidden: true })) {
      // one empty page
    }
    expect(seen.map((s) => s.url)).toEqual([
      "/api/v1/repositories/r/branches?amount=1000&show_hidden=true",
    ]);
  });

  it("accepts the endpoint with or without /api/v1", () => {
    expect(lakeFsApiBaseUrl("http://h:8000")).toBe("http://h:8000/api/v1");
    expect(lakeFsApiBaseUrl("http://h:8000/api/v1/")).toBe("http://h:8000/api/v1");
  });
});

describe("retry arithmetic", () => {
  it("full jitter stays within the exponential ceiling and the cap", () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 };
    expect(fullJitterDelayMs(1, opts)).toBe(99);
    expect(fullJitterDelayMs(3, opts)).toBe(399);
    expect(fullJitterDelayMs(10, opts)).toBe(999);
    expect(fullJitterDelayMs(3, { ...opts, random: () => 0 })).toBe(0);
  });

  it("parses Retry-After seconds and dates", () => {
    expect(parseRetryAfterMs("3", 0)).toBe(3000);
    expect(parseRetryAfterMs("Thu, 01 Jan 1970 00:00:10 GMT", 4000)).toBe(6000);
    expect(parseRetryAfterMs("soon", 0)).toBeUndefined();
    expect(parseRetryAfterMs(null, 0)).toBeUndefined();
  });
});
