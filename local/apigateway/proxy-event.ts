// The event API Gateway's REST API (v1) Lambda proxy integration sends, built from a request
// the local gateway received and accepted (with the caller's identity under AWS_IAM).
import { randomUUID } from "node:crypto";
import type { ApiEvent } from "../../lambdas/api/http";

export interface GatewayRequest {
  method: string;
  /** The path as received (percent-encoding kept), without the query string. */
  rawPath: string;
  /** The query string as received, without "?". */
  rawQuery: string;
  /** Header name/value pairs as received (Node's rawHeaders). */
  rawHeaders: string[];
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** undefined: larger than API Gateway's payload limit. */
  body: Buffer | undefined;
  sourceIp: string;
  /** e.g. HTTP/1.1 */
  protocol: string;
}

export interface ProxyEventContext {
  resourcePath: string;
  pathParameters: Record<string, string>;
  stage: string;
  accountId: string;
  apiId: string;
  requestId: string;
  /** The SigV4 access key id when the method uses AWS_IAM. */
  accessKey?: string;
}

export function proxyEvent(req: GatewayRequest, ctx: ProxyEventContext): ApiEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(req.rawQuery)) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const hasQuery = Object.keys(query).length > 0;
  const path = safeDecode(req.rawPath);
  const userAgent = req.headers["user-agent"];
  return {
    resource: ctx.resourcePath,
    path,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(ctx.pathParameters).length ? ctx.pathParameters : null,
    stageVariables: null,
    body: req.body?.length ? req.body.toString("utf8") : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: ctx.accountId,
      apiId: ctx.apiId,
      authorizer: null,
      domainName: String(req.headers.host ?? "localhost"),
      httpMethod: req.method,
      identity: {
        accessKey: ctx.accessKey ?? null,
        accountId: ctx.accessKey ? ctx.accountId : null,
        apiKey: null,
        apiKeyId: null,
        caller: ctx.accessKey ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.sourceIp,
        user: ctx.accessKey ?? null,
        userAgent: typeof userAgent === "string" ? userAgent : null,
        userArn: ctx.accessKey ? `arn:aws:iam::${ctx.accountId}:root` : null,
      },
      path: `/${ctx.stage}${path}`,
      protocol: req.protocol,
      requestId: ctx.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: randomUUID().slice(0, 6),
      resourcePath: ctx.resourcePath,
      stage: ctx.stage,
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURI(s);
  } catch {
    return s;
  }
}
