// Test and benchmark facilities of the embedded S3, kept in the proxy: request counters per
// operation, access-deny rules (simulate "destination not writable") and injected throttling
// (503 SlowDown), lost answers (a request done, its answer never sent: what a connection
// reset on the way back does, after which the SDK sends the request again) and held requests
// (waiting until the test releases them), and extra CPU work per CopyObject (a slower S3, for the
// bench's experiments). Reachable in process (S3Admin) and over HTTP under ADMIN_PATH_PREFIX, a path
// S3 never uses ("_lakeport" is not a valid bucket name).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type S3Operation, WRITE_OPERATIONS } from "./operations";

export const ADMIN_PATH_PREFIX = "/_lakeport/";

export interface RequestCounts {
  total: number;
  byOperation: Partial<Record<S3Operation, number>>;
}

export interface DenyRuleInput {
  bucket: string;
  /** Only keys starting with this prefix; the whole bucket when absent. */
  prefix?: string;
  /**
   * "write" (default): writes and deletes are denied, reads work. "all": every access. "put":
   * writes that make an object (PutObject, CopyObject, multipart) are denied; deletes and reads
   * work (a bucket policy denying s3:PutObject only).
   */
  access?: "write" | "all" | "put";
}
export interface DenyRule extends Required<DenyRuleInput> {
  id: string;
}

export interface ThrottleRuleInput {
  /** How many matching requests answer 503 SlowDown before the rule is used up. */
  count: number;
  operation?: S3Operation;
  bucket?: string;
}
export interface ThrottleRule extends ThrottleRuleInput {
  id: string;
  /** Matching requests still to be throttled. */
  remaining: number;
}

export interface LoseRuleInput {
  /** How many matching requests lose their answer before the rule is used up. */
  count: number;
  operation?: S3Operation;
  bucket?: string;
  /** Only keys starting with this prefix (the key of the request; DeleteObjects has none). */
  prefix?: string;
  /**
   * "drop" (default): the request is done, then its connection is closed without an answer.
   * "hang": the request is done and its connection left open without an answer (until the
   * server's keep-alive timeout, 60 s): what a client without a request timeout waits on.
   */
  mode?: "drop" | "hang";
}
export interface LoseRule extends LoseRuleInput {
  id: string;
  mode: "drop" | "hang";
  /** Matching requests still to lose their answer. */
  remaining: number;
}

export interface HoldRuleInput {
  /** How many matching requests are held before the rule takes no more. */
  count: number;
  operation?: S3Operation;
  bucket?: string;
  /** Only keys starting with this prefix. */
  prefix?: string;
}
export interface HoldRule extends HoldRuleInput {
  id: string;
  /** Matching requests still to be held. */
  remaining: number;
  /** Requests held so far (they wait until the rule is released). */
  held: number;
}

/** S3 size limits the proxy enforces; tests lower them to exercise large-object code paths. */
export interface S3Limits {
  /** Largest source CopyObject accepts (S3: 5 GiB); bigger needs multipart UploadPartCopy. */
  copyObjectMaxBytes: number;
  /** Smallest part (all but the last) CompleteMultipartUpload accepts. S3: 5 MiB; default 0 = off. */
  minPartBytes: number;
}

export const DEFAULT_LIMITS: S3Limits = { copyObjectMaxBytes: 5 * 1024 ** 3, minPartBytes: 0 };

/** CPU-only work the proxy does on its own thread for every CopyObject, before the copy. */
export interface CopyWork {
  /** Thousands of iterations of an integer loop (some 4 to 5 µs per thousand on an EPYC vCPU). */
  spinThousands: number;
}

let spinSink = 0;
function spin(thousands: number): void {
  let x = spinSink;
  for (let k = 0; k < thousands * 1000; k++) x = (x * 31 + k) | 0;
  spinSink = x;
}

export class S3Admin {
  private currentLimits: S3Limits = { ...DEFAULT_LIMITS };
  private extraCopyWork: CopyWork | undefined;
  private copyWorkDone = 0;
  private bucketLimits = new Map<string, Partial<S3Limits>>();
  private counts = new Map<string, Map<S3Operation, number>>();
  private denyRules = new Map<string, DenyRule>();
  private throttleRules = new Map<string, ThrottleRule>();
  private loseRules = new Map<string, LoseRule>();
  private holdRules = new Map<
    string,
    { rule: HoldRule; released: Promise<void>; release: () => void }
  >();

  /** Called by the proxy for every S3 request it receives. */
  record(bucket: string, operation: S3Operation): void {
    let perBucket = this.counts.get(bucket);
    if (!perBucket) {
      perBucket = new Map();
      this.counts.set(bucket, perBucket);
    }
    perBucket.set(operation, (perBucket.get(operation) ?? 0) + 1);
  }

  /** Requests received, for one bucket or all. Scope by bucket: test files run in parallel. */
  requestCounts(filter: { bucket?: string } = {}): RequestCounts {
    const result: RequestCounts = { total: 0, byOperation: {} };
    for (const [bucket, perBucket] of this.counts) {
      if (filter.bucket !== undefined && bucket !== filter.bucket) continue;
      for (const [op, n] of perBucket) {
        result.total += n;
        result.byOperation[op] = (result.byOperation[op] ?? 0) + n;
      }
    }
    return result;
  }

  resetRequestCounts(filter: { bucket?: string } = {}): void {
    if (filter.bucket === undefined) this.counts.clear();
    else this.counts.delete(filter.bucket);
  }

  deny(input: DenyRuleInput): DenyRule {
    if (!input.bucket) throw new TypeError("deny rule: bucket is required");
    if (input.access !== undefined && !["write", "all", "put"].includes(input.access)) {
      throw new TypeError('deny rule: access must be "write", "all" or "put"');
    }
    const rule: DenyRule = {
      id: randomUUID(),
      bucket: input.bucket,
      prefix: input.prefix ?? "",
      access: input.access ?? "write",
    };
    this.denyRules.set(rule.id, rule);
    return rule;
  }

  removeDenyRule(id: string): boolean {
    return this.denyRules.delete(id);
  }

  listDenyRules(): DenyRule[] {
    return [...this.denyRules.values()];
  }

  clearDenyRules(filter: { bucket?: string } = {}): void {
    for (const [id, r] of this.denyRules) {
      if (filter.bucket === undefined || r.bucket === filter.bucket) this.denyRules.delete(id);
    }
  }

  /**
   * Whether an access to bucket/key is denied. `key` undefined means bucket level (listing with
   * `listPrefix`, or a bucket operation); `deleting` for DeleteObject and DeleteObjects' keys.
   */
  isDenied(
    bucket: string,
    key: string | undefined,
    write: boolean,
    listPrefix = "",
    deleting = false,
  ): boolean {
    for (const r of this.denyRules.values()) {
      if (r.bucket !== bucket) continue;
      if (!write && r.access !== "all") continue;
      if (deleting && r.access === "put") continue;
      if (key !== undefined ? key.startsWith(r.prefix) : listPrefix.startsWith(r.prefix)) {
        return true;
      }
    }
    return false;
  }

  isWrite(operation: S3Operation): boolean {
    return WRITE_OPERATIONS.has(operation);
  }

  throttle(input: ThrottleRuleInput): ThrottleRule {
    if (!Number.isInteger(input.count) || input.count < 1) {
      throw new TypeError("throttle rule: count must be a positive integer");
    }
    const rule: ThrottleRule = { ...input, id: randomUUID(), remaining: input.count };
    this.throttleRules.set(rule.id, rule);
    return rule;
  }

  listThrottleRules(): ThrottleRule[] {
    return [...this.throttleRules.values()];
  }

  removeThrottleRule(id: string): boolean {
    return this.throttleRules.delete(id);
  }

  clearThrottleRules(filter: { bucket?: string } = {}): void {
    for (const [id, r] of this.throttleRules) {
      if (filter.bucket === undefined || r.bucket === filter.bucket) this.throttleRules.delete(id);
    }
  }

  /** Consumes one throttle from the first matching rule; true = answer SlowDown. */
  takeThrottle(bucket: string, operation: S3Operation): boolean {
    for (const r of this.throttleRules.values()) {
      if (r.bucket !== undefined && r.bucket !== bucket) continue;
      if (r.operation !== undefined && r.operation !== operation) continue;
      r.remaining -= 1;
      if (r.remaining <= 0) this.throttleRules.delete(r.id);
      return true;
    }
    return false;
  }

  lose(input: LoseRuleInput): LoseRule {
    if (!Number.isInteger(input.count) || input.count < 1) {
      throw new TypeError("lose rule: count must be a positive integer");
    }
    if (input.mode !== undefined && input.mode !== "drop" && input.mode !== "hang") {
      throw new TypeError('lose rule: mode must be "drop" or "hang"');
    }
    const rule: LoseRule = {
      ...input,
      id: randomUUID(),
      mode: input.mode ?? "drop",
      remaining: input.count,
    };
    this.loseRules.set(rule.id, rule);
    return rule;
  }

  listLoseRules(): LoseRule[] {
    return [...this.loseRules.values()];
  }

  removeLoseRule(id: string): boolean {
    return this.loseRules.delete(id);
  }

  clearLoseRules(filter: { bucket?: string } = {}): void {
    for (const [id, r] of this.loseRules) {
      if (filter.bucket === undefined || r.bucket === filter.bucket) this.loseRules.delete(id);
    }
  }

  /** Consumes one loss from the first matching rule: how the request's answer is lost, if it is. */
  takeLoss(bucket: string, operation: S3Operation, key: string): "drop" | "hang" | undefined {
    for (const r of this.loseRules.values()) {
      if (r.bucket !== undefined && r.bucket !== bucket) continue;
      if (r.operation !== undefined && r.operation !== operation) continue;
      if (r.prefix !== undefined && !key.startsWith(r.prefix)) continue;
      r.remaining -= 1;
      if (r.remaining <= 0) this.loseRules.delete(r.id);
      return r.mode;
    }
    return undefined;
  }

  /**
   * Holds matching requests until the rule is released: a request that takes as long as the
   * test wants (a slow S3 call in a function the test keeps running).
   */
  hold(input: HoldRuleInput): HoldRule {
    if (!Number.isInteger(input.count) || input.count < 1) {
      throw new TypeError("hold rule: count must be a positive integer");
    }
    const rule: HoldRule = { ...input, id: randomUUID(), remaining: input.count, held: 0 };
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    this.holdRules.set(rule.id, { rule, released, release });
    return rule;
  }

  listHoldRules(): HoldRule[] {
    return [...this.holdRules.values()].map((h) => ({ ...h.rule }));
  }

  /** Lets the rule's held requests go on; the rule takes no more. */
  releaseHold(id: string): boolean {
    const h = this.holdRules.get(id);
    if (!h) return false;
    h.release();
    this.holdRules.delete(id);
    return true;
  }

  clearHoldRules(filter: { bucket?: string } = {}): void {
    for (const [id, h] of this.holdRules) {
      if (filter.bucket === undefined || h.rule.bucket === filter.bucket) this.releaseHold(id);
    }
  }

  /** The wait of a request the first matching rule holds; undefined when none holds it. */
  takeHold(bucket: string, operation: S3Operation, key: string): Promise<void> | undefined {
    for (const { rule, released } of this.holdRules.values()) {
      if (rule.remaining <= 0) continue;
      if (rule.bucket !== undefined && rule.bucket !== bucket) continue;
      if (rule.operation !== undefined && rule.operation !== operation) continue;
      if (rule.prefix !== undefined && !key.startsWith(rule.prefix)) continue;
      rule.remaining -= 1;
      rule.held += 1;
      return released;
    }
    return undefined;
  }

  /** Limits in force for requests to `bucket` (its own overrides over the global ones). */
  limits(filter: { bucket?: string } = {}): S3Limits {
    const own = filter.bucket !== undefined ? this.bucketLimits.get(filter.bucket) : undefined;
    return { ...this.currentLimits, ...own };
  }

  /**
   * Changes limits for one bucket (recommended: test files run in parallel) or globally;
   * returns the limits now in force there.
   */
  setLimits(change: Partial<S3Limits>, filter: { bucket?: string } = {}): S3Limits {
    for (const [k, v] of Object.entries(change)) {
      if (!(k in DEFAULT_LIMITS)) throw new TypeError(`limits: unknown field ${k}`);
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        throw new TypeError(`limits: ${k} must be a non-negative integer`);
      }
    }
    if (filter.bucket !== undefined) {
      this.bucketLimits.set(filter.bucket, { ...this.bucketLimits.get(filter.bucket), ...change });
    } else {
      this.currentLimits = { ...this.currentLimits, ...change };
    }
    return this.limits(filter);
  }

  /**
   * Extra CPU work for every CopyObject from now on (undefined: none). For the bench: the same
   * server with a dearer copy, so that its clients' CPU weighs less beside it.
   */
  setCopyWork(work: CopyWork | undefined): void {
    if (work !== undefined) {
      const n = work.spinThousands;
      if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
        throw new TypeError("copy work: spinThousands must be an integer from 1 to 1000000");
      }
    }
    this.extraCopyWork = work && { spinThousands: work.spinThousands };
    this.copyWorkDone = 0;
  }

  /** The extra copy work in force, and how many copies did it since it was set. */
  copyWork(): { work?: CopyWork; done: number } {
    return { ...(this.extraCopyWork ? { work: this.extraCopyWork } : {}), done: this.copyWorkDone };
  }

  /** Called by the proxy for every CopyObject it serves. */
  doCopyWork(): void {
    if (!this.extraCopyWork) return;
    spin(this.extraCopyWork.spinThousands);
    this.copyWorkDone++;
  }

  /** Counters, deny rules, throttles, lost answers, limits and copy work back to their defaults. */
  reset(): void {
    this.currentLimits = { ...DEFAULT_LIMITS };
    this.bucketLimits.clear();
    this.counts.clear();
    this.denyRules.clear();
    this.throttleRules.clear();
    this.loseRules.clear();
    this.clearHoldRules();
    this.setCopyWork(undefined);
  }
}

/**
 * The HTTP face of S3Admin (JSON in and out):
 *   GET    /_lakeport/requests[?bucket=b]     -> RequestCounts
 *   POST   /_lakeport/requests/reset[?bucket=b]
 *   GET    /_lakeport/deny                    -> DenyRule[]
 *   POST   /_lakeport/deny {bucket,prefix?,access?} -> DenyRule
 *   DELETE /_lakeport/deny/<id>   DELETE /_lakeport/deny[?bucket=b]
 *   GET    /_lakeport/throttle                -> ThrottleRule[]
 *   POST   /_lakeport/throttle {count,operation?,bucket?} -> ThrottleRule
 *   DELETE /_lakeport/throttle/<id>   DELETE /_lakeport/throttle[?bucket=b]
 *   GET    /_lakeport/lose                    -> LoseRule[]
 *   POST   /_lakeport/lose {count,operation?,bucket?,prefix?,mode?} -> LoseRule
 *   DELETE /_lakeport/lose/<id>   DELETE /_lakeport/lose[?bucket=b]
 *   GET    /_lakeport/hold                    -> HoldRule[]
 *   POST   /_lakeport/hold {count,operation?,bucket?,prefix?} -> HoldRule
 *   DELETE /_lakeport/hold/<id> (releases)   DELETE /_lakeport/hold[?bucket=b]
 *   GET    /_lakeport/limits[?bucket=b]       -> S3Limits
 *   PUT    /_lakeport/limits[?bucket=b] {copyObjectMaxBytes?, minPartBytes?} -> S3Limits
 *   POST   /_lakeport/reset
 */
export async function handleAdminRequest(
  admin: S3Admin,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://admin");
  const parts = url.pathname.slice(ADMIN_PATH_PREFIX.length).split("/").filter(Boolean);
  const bucket = url.searchParams.get("bucket") ?? undefined;
  const filter = bucket !== undefined ? { bucket } : {};
  const send = (status: number, body: unknown) => {
    const buf = Buffer.from(JSON.stringify(body ?? {}));
    res.writeHead(status, { "content-type": "application/json", "content-length": buf.length });
    res.end(buf);
  };
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: Record<string, unknown> = {};
  try {
    if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return send(400, { message: "body is not JSON" });
  }
  const m = req.method ?? "GET";
  const [resource, id] = parts;
  try {
    if (resource === "requests" && m === "GET" && !id)
      return send(200, admin.requestCounts(filter));
    if (resource === "requests" && m === "POST" && id === "reset") {
      admin.resetRequestCounts(filter);
      return send(200, {});
    }
    if (resource === "reset" && m === "POST") {
      admin.reset();
      return send(200, {});
    }
    if (resource === "limits" && m === "GET") return send(200, admin.limits(filter));
    if (resource === "limits" && m === "PUT") {
      return send(200, admin.setLimits(body as Partial<S3Limits>, filter));
    }
    if (resource === "deny") {
      if (m === "GET") return send(200, admin.listDenyRules());
      if (m === "POST") return send(201, admin.deny(body as unknown as DenyRuleInput));
      if (m === "DELETE" && id) {
        return admin.removeDenyRule(id)
          ? send(200, {})
          : send(404, { message: `no deny rule ${id}` });
      }
      if (m === "DELETE") {
        admin.clearDenyRules(filter);
        return send(200, {});
      }
    }
    if (resource === "throttle") {
      if (m === "GET") return send(200, admin.listThrottleRules());
      if (m === "POST") return send(201, admin.throttle(body as unknown as ThrottleRuleInput));
      if (m === "DELETE" && id) {
        return admin.removeThrottleRule(id)
          ? send(200, {})
          : send(404, { message: `no throttle rule ${id}` });
      }
      if (m === "DELETE") {
        admin.clearThrottleRules(filter);
        return send(200, {});
      }
    }
    if (resource === "lose") {
      if (m === "GET") return send(200, admin.listLoseRules());
      if (m === "POST") return send(201, admin.lose(body as unknown as LoseRuleInput));
      if (m === "DELETE" && id) {
        return admin.removeLoseRule(id)
          ? send(200, {})
          : send(404, { message: `no lose rule ${id}` });
      }
      if (m === "DELETE") {
        admin.clearLoseRules(filter);
        return send(200, {});
      }
    }
    if (resource === "hold") {
      if (m === "GET") return send(200, admin.listHoldRules());
      if (m === "POST") return send(201, admin.hold(body as unknown as HoldRuleInput));
      if (m === "DELETE" && id) {
        return admin.releaseHold(id) ? send(200, {}) : send(404, { message: `no hold rule ${id}` });
      }
      if (m === "DELETE") {
        admin.clearHoldRules(filter);
        return send(200, {});
      }
    }
  } catch (err) {
    if (err instanceof TypeError) return send(400, { message: err.message });
    throw err;
  }
  send(404, { message: `unknown admin route ${m} ${url.pathname}` });
}
