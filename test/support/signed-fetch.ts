// Requests to the local API Gateway signed as they would be in AWS (SigV4 for execute-api,
// the CLI's signer) with the embedded environment's credentials; options to sign wrongly
// (another secret, an old date, a body changed after signing) for the refusal tests.
import { signApiRequest } from "../../cli/sigv4";
import { LOCAL_REGION } from "../../local/endpoints";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";

export interface SignedFetchOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON (with content-type application/json). */
  body?: unknown;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  signingDate?: Date;
  /** Sent instead of the signed body (a body tampered with after signing). */
  sentBody?: string;
  /** Send without signing. */
  unsigned?: boolean;
}

export const LOCAL_SIGNING = { credentials: LOCAL_S3_CREDENTIALS, region: LOCAL_REGION };

/** fetch, SigV4-signed for execute-api. */
export async function signedFetch(url: string, opts: SignedFetchOptions = {}): Promise<Response> {
  const method = opts.method ?? "GET";
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === "string"
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = {
    ...(body !== undefined && typeof opts.body !== "string"
      ? { "content-type": "application/json" }
      : {}),
    ...(opts.headers ?? {}),
  };
  const signed = opts.unsigned
    ? headers
    : await signApiRequest({
        method,
        url: new URL(url),
        headers,
        ...(body !== undefined ? { body } : {}),
        credentials: opts.credentials ?? LOCAL_SIGNING.credentials,
        region: opts.region ?? LOCAL_SIGNING.region,
        ...(opts.signingDate ? { signingDate: opts.signingDate } : {}),
      });
  const sent = opts.sentBody ?? body;
  return fetch(url, { method, headers: signed, ...(sent !== undefined ? { body: sent } : {}) });
}

export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected loosely
  body: any;
  text: string;
  headers: Headers;
}

/** signedFetch, the answer's body parsed as JSON when it is JSON. */
export async function signedJson(
  url: string,
  opts: SignedFetchOptions = {},
): Promise<JsonResponse> {
  const res = await signedFetch(url, opts);
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}
