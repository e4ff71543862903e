// The local API Gateway: a REST API read from the template (./rest-api) answering requests
// in API Gateway's order: the 10 MB payload limit, method selection over the resource tree,
// AWS_IAM authorization (SigV4 for execute-api, verified against the local credentials with
// API Gateway's 5-minute clock skew), the method's request validator and models, then the
// AWS_PROXY integration. Every refusal is a gateway response shaped by the template.
import { randomUUID } from "node:crypto";
import type { ApiHandler, ApiResult } from "../../lambdas/api/http";
import { verifySigV4 } from "../sigv4/verify";
import { type GatewayError, gatewayResponse } from "./gateway-responses";
import { type GatewayRequest, proxyEvent } from "./proxy-event";
import { validateRequest } from "./request-validation";
import type { RestApiDefinition } from "./rest-api";
import { matchMethod } from "./route-match";

/** API Gateway's maximum payload of a REST API request. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/**
 * Lambda's limit on a synchronous invocation's request: the proxy event as JSON, in which the
 * body is a string again (each quote and backslash escaped once more). API Gateway answers an
 * event Lambda refuses with 413 "Request Too Long", though the body is under 10 MB.
 */
export const MAX_LAMBDA_REQUEST_BYTES = 6 * 1024 * 1024;
/** API Gateway's integration timeout: past it the caller gets 504, the function runs on. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
/** How far X-Amz-Date may be from the gateway's clock. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60_000;

export interface GatewayOptions {
  api: RestApiDefinition;
  /** The proxy integration's function, by its logical id in the template. */
  integration: (functionLogicalId: string) => ApiHandler | undefined;
  /** The credentials AWS_IAM methods accept (the embedded environment's). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  accountId?: string;
  stage?: string;
  now?: () => number;
  log?: (message: string) => void;
  /** Tests shorten it; INTEGRATION_TIMEOUT_MS otherwise. */
  integrationTimeoutMs?: number;
}

export type Gateway = (req: GatewayRequest) => Promise<ApiResult>;

const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** AWS_IAM: the SigV4 check of the request; the access key id, or the refusal. */
function authorize(
  req: GatewayRequest,
  opts: GatewayOptions,
): { accessKey: string } | { error: GatewayError } {
  const r = verifySigV4(
    {
      method: req.method,
      path: req.rawPath,
      query: req.rawQuery,
      headers: req.headers,
      body: req.body ?? Buffer.alloc(0),
    },
    {
      service: "execute-api",
      secretOf: (id) =>
        id === opts.credentials.accessKeyId ? opts.credentials.secretAccessKey : undefined,
      maxSkewMs: MAX_SIGNATURE_SKEW_MS,
      signedPayload: true,
      ...(opts.now ? { now: opts.now } : {}),
    },
  );
  if (r.ok) {
    if (r.region !== opts.region) {
      const message = `Credential should be scoped to a valid region, not '${r.region}'. `;
      return { error: { type: "INVALID_SIGNATURE", message } };
    }
    return { accessKey: r.accessKeyId };
  }
  switch (r.reason) {
    case "MissingAuthenticationToken":
      return { error: { type: "MISSING_AUTHENTICATION_TOKEN", message: r.message } };
    case "InvalidAccessKeyId":
      return {
        error: {
          type: "INVALID_SIGNATURE",
          message: "The security token included in the request is invalid.",
        },
      };
    case "SignatureDoesNotMatch":
    case "XAmzContentSHA256Mismatch": {
      const detail =
        r.canonicalRequest !== undefined
          ? `\n\nThe Canonical String for this request should have been\n'${r.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${r.stringToSign}'\n`
          : "";
      const message = r.message.startsWith("The request signature")
        ? `${MISMATCH}${detail}`
        : r.message;
      return { error: { type: "INVALID_SIGNATURE", message } };
    }
    default:
      return { error: { type: "INVALID_SIGNATURE", message: r.message } };
  }
}

export function createGateway(opts: GatewayOptions): Gateway {
  const stage = opts.stage ?? "local";
  const accountId = opts.accountId ?? "000000000000";
  const log = opts.log ?? ((m: string) => console.error(m));
  return async (req) => {
    const requestId = randomUUID();
    const refuse = (error: GatewayError) =>
      gatewayResponse(opts.api.gatewayResponses, error, requestId);
    if (req.body === undefined) {
      return refuse({ type: "REQUEST_TOO_LARGE", message: "Request Too Long" });
    }
    const match = matchMethod(opts.api.root, req.method, req.rawPath);
    if (!match) {
      return refuse({
        type: "MISSING_AUTHENTICATION_TOKEN",
        message: "Missing Authentication Token",
      });
    }
    let accessKey: string | undefined;
    if (match.method.authorizationType === "AWS_IAM") {
      const auth = authorize(req, opts);
      if ("error" in auth) return refuse(auth.error);
      accessKey = auth.accessKey;
    }
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(",") : v;
    };
    const lowerHeaders: Record<string, string | undefined> = {};
    for (const name of Object.keys(req.headers)) lowerHeaders[name] = header(name);
    const invalid = validateRequest(match.method, {
      headers: lowerHeaders,
      query: new URLSearchParams(req.rawQuery),
      contentType: header("content-type"),
      body: req.body,
    });
    if (invalid) {
      const message =
        invalid.type === "BAD_REQUEST_BODY"
          ? "Invalid request body"
          : invalid.validationErrorString;
      return refuse({ ...invalid, message });
    }
    const handler = opts.integration(match.method.functionLogicalId);
    if (!handler) {
      log(`[apigateway] no local function for ${match.method.functionLogicalId}`);
      return refuse({ type: "API_CONFIGURATION_ERROR", message: "Internal server error" });
    }
    const event = proxyEvent(req, {
      resourcePath: match.resource.path,
      pathParameters: match.pathParameters,
      stage,
      accountId,
      apiId: opts.api.logicalId,
      requestId,
      ...(accessKey ? { accessKey } : {}),
    });
    if (Buffer.byteLength(JSON.stringify(event)) > MAX_LAMBDA_REQUEST_BYTES) {
      return refuse({ type: "REQUEST_TOO_LARGE", message: "Request Too Long" });
    }
    const timeoutMs = opts.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const result = handler(event, {
      functionName: match.method.functionLogicalId,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: false,
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<ApiResult>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(refuse({ type: "INTEGRATION_TIMEOUT", message: "Endpoint request timed out" })),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([result, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}
