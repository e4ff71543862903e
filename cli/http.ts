// The CLI's HTTP client: every request SigV4-signed for execute-api, as API Gateway's IAM
// authorization wants it (in AWS and against the embedded environment's API Gateway).
import type { Endpoint } from "./endpoint";
import { signApiRequest } from "./sigv4";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(private readonly endpoint: Endpoint) {}

  // biome-ignore lint/suspicious/noExplicitAny: responses are printed or read field by field
  async request(method: string, path: string, body?: unknown): Promise<any> {
    const url = new URL(this.endpoint.baseUrl + path);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = await signApiRequest({
      method,
      url,
      headers: {
        accept: "application/json",
        ...(text !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(text !== undefined ? { body: text } : {}),
      ...(this.endpoint.region ? { region: this.endpoint.region } : {}),
      ...(this.endpoint.credentials ? { credentials: this.endpoint.credentials } : {}),
    }).catch((err: Error) => {
      throw new ApiError(0, `cannot sign the request (AWS credentials): ${err.message}`);
    });
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
      throw new ApiError(res.status, withoutCredentials(message, headers));
    }
    return parsed;
  }
}

/**
 * An answer's message without the request's session token and signature: API Gateway's 403
 * for a signature it does not accept quotes the canonical request it expected, the values of
 * the signed headers (x-amz-security-token among them) included.
 */
function withoutCredentials(message: string, signed: Record<string, string>): string {
  const value = (name: string) =>
    Object.entries(signed).find(([k]) => k.toLowerCase() === name)?.[1] ?? "";
  const secrets = [
    value("x-amz-security-token"),
    /Signature=([0-9a-f]+)/.exec(value("authorization"))?.[1] ?? "",
  ].filter((s) => s.length > 0);
  return secrets.reduce((m, secret) => m.split(secret).join("[redacted]"), message);
}
