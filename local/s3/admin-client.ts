// Talks to the embedded S3's admin API over HTTP: what tests in another process (vitest
// workers) use to read request counters, add deny rules, inject throttling,
// lose answers and hold requests.
import type {
  DenyRule,
  DenyRuleInput,
  HoldRule,
  HoldRuleInput,
  LoseRule,
  LoseRuleInput,
  RequestCounts,
  S3Limits,
  ThrottleRule,
  ThrottleRuleInput,
} from "./admin";
import { ADMIN_PATH_PREFIX } from "./admin";

export class S3AdminClient {
  constructor(private readonly endpoint: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}${ADMIN_PATH_PREFIX}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    });
    const json = (await res.json()) as T & { message?: string };
    if (!res.ok) throw new Error(`S3 admin ${method} ${path}: ${res.status} ${json.message ?? ""}`);
    return json;
  }

  private static q(filter: { bucket?: string }) {
    return filter.bucket !== undefined ? `?bucket=${encodeURIComponent(filter.bucket)}` : "";
  }

  requestCounts(filter: { bucket?: string } = {}): Promise<RequestCounts> {
    return this.call("GET", `requests${S3AdminClient.q(filter)}`);
  }
  async resetRequestCounts(filter: { bucket?: string } = {}): Promise<void> {
    await this.call("POST", `requests/reset${S3AdminClient.q(filter)}`);
  }
  deny(rule: DenyRuleInput): Promise<DenyRule> {
    return this.call("POST", "deny", rule);
  }
  async removeDenyRule(id: string): Promise<void> {
    await this.call("DELETE", `deny/${encodeURIComponent(id)}`);
  }
  async clearDenyRules(filter: { bucket?: string } = {}): Promise<void> {
    await this.call("DELETE", `deny${S3AdminClient.q(filter)}`);
  }
  listDenyRules(): Promise<DenyRule[]> {
    return this.call("GET", "deny");
  }
  throttle(rule: ThrottleRuleInput): Promise<ThrottleRule> {
    return this.call("POST", "throttle", rule);
  }
  listThrottleRules(): Promise<ThrottleRule[]> {
    return this.call("GET", "throttle");
  }
  async clearThrottleRules(filter: { bucket?: string } = {}): Promise<void> {
    await this.call("DELETE", `throttle${S3AdminClient.q(filter)}`);
  }
  lose(rule: LoseRuleInput): Promise<LoseRule> {
    return this.call("POST", "lose", rule);
  }
  listLoseRules(): Promise<LoseRule[]> {
    return this.call("GET", "lose");
  }
  async clearLoseRules(filter: { bucket?: string } = {}): Promise<void> {
    await this.call("DELETE", `lose${S3AdminClient.q(filter)}`);
  }
  hold(rule: HoldRuleInput): Promise<HoldRule> {
    return this.call("POST", "hold", rule);
  }
  listHoldRules(): Promise<HoldRule[]> {
    return this.call("GET", "hold");
  }
  /** Lets the rule's held requests go on. */
  async releaseHold(id: string): Promise<void> {
    await this.call("DELETE", `hold/${encodeURIComponent(id)}`);
  }
  limits(filter: { bucket?: string } = {}): Promise<S3Limits> {
    return this.call("GET", `limits${S3AdminClient.q(filter)}`);
  }
  setLimits(change: Partial<S3Limits>, filter: { bucket?: string } = {}): Promise<S3Limits> {
    return this.call("PUT", `limits${S3AdminClient.q(filter)}`, change);
  }
  async reset(): Promise<void> {
    await this.call("POST", "reset");
  }
}
