// Verifies AWS Signature Version 4 on a request received by one of the embedded servers, as
// AWS services do: the Authorization header (AWS4-HMAC-SHA256) is parsed, the canonical
// request rebuilt from what was received (method, path, query, the signed headers, the payload
// hash), the signature recomputed with the secret key of the access key id and compared in
// constant time. S3 and services that sign the path once (s3) differ from the others (API
// Gateway's execute-api encodes each path segment twice); the `service` says which.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export interface SignedRequest {
  method: string;
  /** The raw path as received (percent-encoding kept), without the query string. */
  path: string;
  /** The raw query string, without "?" ("" when none). */
  query: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body, when the payload hash must be checked against it. */
  body?: Uint8Array;
}

export interface VerifyOptions {
  /** Secret access key of an access key id; undefined when the key is unknown. */
  secretOf: (accessKeyId: string) => string | undefined;
  /** The service name expected in the credential scope (e.g. "s3", "execute-api"). */
  service: string;
  /** How far the request's date may be from now; AWS allows 15 minutes (API Gateway 5). */
  maxSkewMs?: number;
  now?: () => number;
  /**
   * The payload hash is always the body's (API Gateway): a declared x-amz-content-sha256
   * (UNSIGNED-PAYLOAD included) that differs makes the signature not match.
   */
  signedPayload?: boolean;
}

export type VerifyResult =
  | { ok: true; accessKeyId: string; region: string }
  | {
      ok: false;
      reason: SigV4Failure;
      message: string;
      /** What the service computed, for SignatureDoesNotMatch after the canonicalization. */
      canonicalRequest?: string;
      stringToSign?: string;
    };

/** The ways AWS refuses a request, named after S3's and API Gateway's error codes. */
export type SigV4Failure =
  | "MissingAuthenticationToken"
  | "IncompleteSignature"
  | "InvalidAccessKeyId"
  | "SignatureDoesNotMatch"
  | "RequestTimeTooSkewed"
  | "XAmzContentSHA256Mismatch";

const fail = (reason: SigV4Failure, message: string): VerifyResult => ({
  ok: false,
  reason,
  message,
});

const header = (h: SignedRequest["headers"], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
};

export function verifySigV4(req: SignedRequest, opts: VerifyOptions): VerifyResult {
  const auth = header(req.headers, "authorization");
  if (!auth) return fail("MissingAuthenticationToken", "Missing Authentication Token");
  const m =
    /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/.exec(
      auth,
    );
  if (!m) {
    return fail(
      "IncompleteSignature",
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' of AWS4-HMAC-SHA256",
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (service !== opts.service) {
    return fail(
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${opts.service}'`,
    );
  }
  const secret = opts.secretOf(accessKeyId);
  if (secret === undefined) {
    return fail("InvalidAccessKeyId", "The security token included in the request is invalid");
  }
  const amzDate = header(req.headers, "x-amz-date");
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== scopeDate) {
    return fail(
      "IncompleteSignature",
      "X-Amz-Date is missing or does not match the credential scope date",
    );
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const now = (opts.now ?? Date.now)();
  const skew = opts.maxSkewMs ?? 15 * 60_000;
  if (signedAt - now > skew) {
    return fail(
      "RequestTimeTooSkewed",
      `Signature not yet current: ${amzDate} is still later than ${isoBasic(now + skew)} (${isoBasic(now)} + ${skew / 60_000} min.)`,
    );
  }
  if (now - signedAt > skew) {
    return fail(
      "RequestTimeTooSkewed",
      `Signature expired: ${amzDate} is now earlier than ${isoBasic(now - skew)} (${isoBasic(now)} - ${skew / 60_000} min.)`,
    );
  }
  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host")) {
    return fail("SignatureDoesNotMatch", "'Host' must be a signed header");
  }
  const declaredHash = header(req.headers, "x-amz-content-sha256");
  const bodyHash = req.body ? sha256Hex(req.body) : undefined;
  let payloadHash: string;
  if (opts.signedPayload) {
    payloadHash = bodyHash ?? sha256Hex(new Uint8Array());
  } else if (declaredHash !== undefined) {
    if (
      bodyHash !== undefined &&
      declaredHash !== "UNSIGNED-PAYLOAD" &&
      declaredHash !== bodyHash
    ) {
      return fail(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed",
      );
    }
    payloadHash = declaredHash;
  } else {
    payloadHash = bodyHash ?? sha256Hex(new Uint8Array());
  }
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(req.headers, name) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.path, opts.service),
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${secret}`, scopeDate);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = hmac(key, stringToSign).toString("hex");
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return {
      ok: false,
      reason: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
      canonicalRequest,
      stringToSign,
    };
  }
  return { ok: true, accessKeyId, region };
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function isoBasic(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept). */
function encode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * S3 signs the path as sent (each segment encoded once); other services encode each segment of
 * the path as sent (already encoded) again, so `%2D` sent stays distinct from `-`.
 */
function canonicalPath(rawPath: string, service: string): string {
  const path = rawPath === "" ? "/" : rawPath;
  if (service !== "s3") {
    return path
      .split("/")
      .map((seg) => encode(seg))
      .join("/");
  }
  return path
    .split("/")
    .map((seg) => encode(safeDecode(seg)))
    .join("/");
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? "" : p.slice(eq + 1);
      return [encode(safeDecode(k)), encode(safeDecode(v))] as const;
    });
  pairs.sort((x, y) =>
    x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}
