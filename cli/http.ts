// The CLI's HTTP client: bearer token locally, SigV4 (execute-api) against AWS.
import { createHash, createHmac } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Endpoint } from "./endpoint";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** SHA-256 for SignatureV4 from node:crypto (hash, or HMAC with a secret). */
class Sha256 {
  private h;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = this.fresh();
  }
  private fresh() {
    const s = this.secret;
    if (s === undefined) return createHash("sha256");
    const key =
      typeof s === "string"
        ? s
        : s instanceof ArrayBuffer
          ? new Uint8Array(s)
          : new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
    return createHmac("sha256", key);
  }
  reset() {
    this.h = this.fresh();
  }
  update(data: Uint8Array) {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

function regionOf(host: string): string {
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? m?.[1] ?? "us-east-1";
}

export class ApiClient {
  constructor(private readonly endpoint: Endpoint) {}

  // biome-ignore lint/suspicious/noExplicitAny: responses are printed or read field by field
  async request(method: string, path: string, body?: unknown): Promise<any> {
    const url = new URL(this.endpoint.baseUrl + path);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = {
      accept: "application/json",
      ...(text !== undefined ? { "content-type": "application/json" } : {}),
    };
    if (this.endpoint.token) {
      headers.authorization = `Bearer ${this.endpoint.token}`;
    } else if (url.protocol === "https:" || process.env.LAKEPORT_SIGV4 === "true") {
      headers = await this.sign(method, url, headers, text);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(text !== undefined ? { body: text } : {}) });
    } catch (err) {
      throw new ApiError(
        0,
        `cannot reach ${url.origin}: ${(err as Error).cause ?? (err as Error).message}`,
      );
    }
    const raw = await res.text();
    let parsed: unknown;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      parsed = raw;
    }
    if (!res.ok) {
      const message =
        parsed && typeof parsed === "object" && "message" in parsed
          ? String((parsed as { message: unknown }).message)
          : raw || res.statusText;
      throw new ApiError(res.status, message);
    }
    return parsed;
  }

  private async sign(method: string, url: URL, headers: Record<string, string>, body?: string) {
    const signer = new SignatureV4({
      service: "execute-api",
      region: regionOf(url.hostname),
      credentials: defaultProvider(),
      sha256: Sha256,
    });
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      ...(body !== undefined ? { body } : {}),
    });
    const out = { ...(signed.headers as Record<string, string>) };
    delete out.host;
    return out;
  }
}
