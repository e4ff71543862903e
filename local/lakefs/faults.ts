// Fault injection for the lakeFS development server, so tests can see how Lakeport copes with
// a failing or slow lakeFS. A rule matches lakeFS API requests by operation id (the names in
// /_lakeport/stats) and/or by a regular expression searched in "METHOD /api/v1/...path"; a
// matching request waits `latencyMs`, then, when `status` is set, gets that status with a
// lakeFS error body (`{"message": ...}`, plus Retry-After when given) instead of being served.
// `count` bounds how many requests a rule takes (absent: all). The first live rule in the
// order added applies. In process: handle.faults; over HTTP (from other processes):
//   GET    /_lakeport/faults        -> FaultRule[] (remaining, fired)
//   POST   /_lakeport/faults {rule} -> 201 FaultRule; 400 naming the bad field
//   DELETE /_lakeport/faults[/<id>] -> 204 (all, or one rule)
import { randomUUID } from "node:crypto";
import { ApiError } from "./api-error";

export const FAULTS_PATH = "/_lakeport/faults";

export interface FaultRuleInput {
  /** Answer this status (400..599) instead of serving the request. */
  status?: number;
  /** How many matching requests the rule takes; absent: every one. */
  count?: number;
  /** lakeFS operation id, e.g. `listObjects`, `commit`. */
  operation?: string;
  /** Regular expression searched in `${METHOD} ${path}`, e.g. `^GET /api/v1/repositories/r/`. */
  route?: string;
  /** Delay before answering (or serving), in ms. */
  latencyMs?: number;
  /** Retry-After header of the fault answer (seconds or an HTTP date). */
  retryAfter?: string;
  /** `message` of the error body. */
  message?: string;
}

export interface FaultRule extends FaultRuleInput {
  id: string;
  /** Requests the rule will still take; null when it has no count. */
  remaining: number | null;
  /** Requests it has taken so far. */
  fired: number;
}

/** What the server sends instead of serving a faulted request. */
export interface FaultReply {
  status: number;
  json: { message: string };
  headers?: Record<string, string>;
}

const FIELDS = ["status", "count", "operation", "route", "latencyMs", "retryAfter", "message"];
const MAX_LATENCY_MS = 600_000;

export class LakeFsFaults {
  private readonly rules: { rule: FaultRule; route?: RegExp }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  /** `operations`: the operation ids the server knows (a typo must not make a silent no-op). */
  constructor(private readonly operations: ReadonlySet<string>) {}

  /** Adds a rule; ApiError 400 naming the field when the rule is not valid. */
  add(input: FaultRuleInput): FaultRule {
    const parsed = this.parse(input);
    this.rules.push(parsed);
    return { ...parsed.rule };
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r.rule }));
  }

  remove(id: string): boolean {
    const i = this.rules.findIndex((r) => r.rule.id === id);
    if (i >= 0) this.rules.splice(i, 1);
    return i >= 0;
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** Cancels pending delays (server stop). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * Applies the first live rule matching a request: waits its latency, then returns the fault
   * answer, or undefined when the request is to be served.
   */
  async apply(operation: string, method: string, path: string): Promise<FaultReply | undefined> {
    const target = `${method} ${path}`;
    const match = this.rules.find(
      ({ rule, route }) =>
        rule.remaining !== 0 &&
        (rule.operation === undefined || rule.operation === operation) &&
        (route === undefined || route.test(target)),
    );
    if (!match) return undefined;
    // Taken before the delay, so concurrent requests never exceed the count.
    const { rule } = match;
    rule.fired++;
    if (rule.remaining !== null) rule.remaining--;
    if (rule.latencyMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, rule.latencyMs);
        this.timers.add(t);
      });
    }
    if (rule.status === undefined) return undefined;
    return {
      status: rule.status,
      json: { message: rule.message ?? `injected fault (rule ${rule.id})` },
      ...(rule.retryAfter !== undefined ? { headers: { "retry-after": rule.retryAfter } } : {}),
    };
  }

  /** The HTTP admin endpoint; `rest` is the path after FAULTS_PATH. */
  async serveAdmin(
    method: string,
    rest: string,
    body: () => Promise<Buffer>,
  ): Promise<{ status: number; json?: unknown }> {
    const id = rest.replace(/^\//, "");
    if (method === "GET" && id === "") return { status: 200, json: this.list() };
    if (method === "DELETE" && id === "") {
      this.clear();
      return { status: 204 };
    }
    if (method === "DELETE") {
      if (!this.remove(decodeURIComponent(id))) throw new ApiError(404, "fault rule not found");
      return { status: 204 };
    }
    if (method === "POST" && id === "") {
      let input: unknown;
      try {
        input = JSON.parse((await body()).toString("utf8"));
      } catch {
        throw new ApiError(400, "request body: invalid JSON");
      }
      return { status: 201, json: this.add(input as FaultRuleInput) };
    }
    throw new ApiError(405, `${method} ${FAULTS_PATH}${rest}: not supported`);
  }

  private parse(input: FaultRuleInput): { rule: FaultRule; route?: RegExp } {
    const bad = (field: string, why: string) => new ApiError(400, `${field}: ${why}`);
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw bad("request body", "must be a JSON object");
    }
    const unknown = Object.keys(input).find((k) => !FIELDS.includes(k));
    if (unknown) throw bad(unknown, `unknown field (rule fields: ${FIELDS.join(", ")})`);
    const { status, count, operation, route, latencyMs, message } = input;
    let retryAfter: unknown = input.retryAfter;
    const isInt = (v: unknown, min: number, max: number) =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
    if (status !== undefined && !isInt(status, 400, 599)) {
      throw bad("status", "must be an integer from 400 to 599");
    }
    if (count !== undefined && !isInt(count, 1, Number.MAX_SAFE_INTEGER)) {
      throw bad("count", "must be a positive integer (absent: every matching request)");
    }
    if (latencyMs !== undefined && !isInt(latencyMs, 0, MAX_LATENCY_MS)) {
      throw bad("latencyMs", `must be an integer from 0 to ${MAX_LATENCY_MS}`);
    }
    if (status === undefined && latencyMs === undefined) {
      throw bad("status", "a rule needs status, latencyMs or both");
    }
    if (operation !== undefined) {
      if (typeof operation !== "string") throw bad("operation", "must be a string");
      if (!this.operations.has(operation)) {
        throw bad("operation", `unknown lakeFS operation "${operation}"`);
      }
    }
    let regex: RegExp | undefined;
    if (route !== undefined) {
      if (typeof route !== "string" || route === "") throw bad("route", "must be a string");
      try {
        regex = new RegExp(route);
      } catch (err) {
        throw bad("route", `not a valid regular expression (${(err as Error).message})`);
      }
    }
    if (typeof retryAfter === "number" && isInt(retryAfter, 0, Number.MAX_SAFE_INTEGER)) {
      retryAfter = String(retryAfter);
    }
    if (retryAfter !== undefined && (typeof retryAfter !== "string" || retryAfter.trim() === "")) {
      throw bad("retryAfter", "must be seconds or an HTTP date");
    }
    if (message !== undefined && typeof message !== "string") {
      throw bad("message", "must be a string");
    }
    for (const [field, value] of [
      ["retryAfter", retryAfter],
      ["message", message],
    ] as const) {
      if (value !== undefined && status === undefined) throw bad(field, "needs status");
    }
    const rule: FaultRule = {
      id: randomUUID(),
      ...(status !== undefined ? { status } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(operation !== undefined ? { operation } : {}),
      ...(route !== undefined ? { route } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(retryAfter !== undefined ? { retryAfter: retryAfter as string } : {}),
      ...(message !== undefined ? { message } : {}),
      remaining: count ?? null,
      fired: 0,
    };
    return regex ? { rule, route: regex } : { rule };
  }
}

/** The HTTP admin endpoint from another process (test files, worker threads, scripts). */
export class LakeFsFaultsClient {
  /** `endpoint`: the server root, e.g. http://127.0.0.1:7072. */
  constructor(private readonly endpoint: string) {}

  private async call(method: string, path = "", body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.endpoint.replace(/\/+$/, "")}${FAULTS_PATH}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as { message?: string }) : undefined;
    if (!res.ok) {
      throw new Error(`lakeFS faults ${method}: ${res.status} ${json?.message ?? text}`);
    }
    return json;
  }

  async add(rule: FaultRuleInput): Promise<FaultRule> {
    return (await this.call("POST", "", rule)) as FaultRule;
  }
  async list(): Promise<FaultRule[]> {
    return (await this.call("GET")) as FaultRule[];
  }
  async remove(id: string): Promise<void> {
    await this.call("DELETE", `/${encodeURIComponent(id)}`);
  }
  async clear(): Promise<void> {
    await this.call("DELETE");
  }
}
