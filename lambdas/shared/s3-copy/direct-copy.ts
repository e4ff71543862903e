// CopyObject without the SDK's per-call machinery. Through `S3Client.send` one CopyObject cost
// about 590 µs of client CPU here (a middleware stack assembled per call, the endpoint rule set
// evaluated per call, schema serde, its retry layer); a copy Lambda with 64 copies in flight
// spent more CPU on its client than S3 spent on the copy. This path lets the SDK build one
// request per destination bucket (endpoint, addressing style, signing region: its own rules),
// then signs each copy with SigV4 (sigv4-empty-payload.ts, the client's own credentials
// provider) and sends it through the transport registered for a client Lakeport built
// (copy-transport.ts: the client's limits, sockets of its own), or else through the client's
// own HTTP handler. Anything but plain SigV4 for S3 (S3 Express sessions, SigV4a for
// Multi-Region Access Points) stays on the SDK.
import { CopyObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  type BodilessRequest,
  copyTransportSettingsOf,
  createCopyTransport,
  type TextAnswer,
} from "./copy-transport";
import { EmptyPayloadSigner, type SigningCredentials } from "./sigv4-empty-payload";

/** The copy's request headers that depend on the caller (x-amz-meta-* included), lower case. */
export interface DirectCopyRequest {
  bucket: string;
  key: string;
  /** `bucket/key`, URL-encoded ('/' kept): copySourceOf. */
  copySource: string;
  headers: Record<string, string>;
}

/** An S3 error answer, shaped as the SDK's (name and Code, $metadata, $fault). */
export class S3ErrorResponse extends Error {
  readonly Code: string;
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  readonly $fault: "client" | "server";
  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = code;
    this.Code = code;
    this.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
    this.$fault = status >= 500 ? "server" : "client";
  }
}

/** Where the SDK sends a CopyObject to one bucket, and how it signs it. */
interface BucketEndpoint {
  protocol: string;
  hostname: string;
  port?: number;
  /** The path before the key: "/bucket/" path-style, "/" virtual-hosted. */
  pathPrefix: string;
  signer: EmptyPayloadSigner;
}

// A key that marks where keys go in the request the SDK builds (encodes to itself).
const KEY_MARK = "lakeport-direct-copy-key-mark";

class Captured extends Error {
  constructor(
    readonly request: {
      protocol: string;
      hostname: string;
      port?: number;
      path: string;
    },
    readonly authScheme:
      | { name?: string; signingName?: string; signingRegion?: string }
      | undefined,
  ) {
    super("the copy request the SDK built (not sent)");
  }
}

/** Keys of these characters only are their own encoding (most keys: a copy's fast path). */
export const UNRESERVED_AND_SLASH = /^[A-Za-z0-9\-._~/]*$/;

/** S3's encoding of a key in a path: each segment URI-encoded, '/' kept (as the SDK's). */
export function keyPath(key: string): string {
  if (UNRESERVED_AND_SLASH.test(key)) return key;
  return key
    .split("/")
    .map((s) =>
      encodeURIComponent(s).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
}

const XML_ENTITIES: Record<string, string> = {
  "&quot;": '"',
  "&apos;": "'",
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
};
const xmlText = (s: string) => {
  if (!s.includes("&")) return s;
  // An ETag's quotes are the one entity of nearly every answer.
  const quoted = s.replaceAll("&quot;", '"');
  return !quoted.includes("&") ? quoted : decodeEntities(s);
};
const decodeEntities = (s: string) =>
  s.replace(/&(quot|apos|lt|gt|amp|#x[0-9a-fA-F]+|#[0-9]+);/g, (e) =>
    e.startsWith("&#x")
      ? String.fromCodePoint(Number.parseInt(e.slice(3, -1), 16))
      : e.startsWith("&#")
        ? String.fromCodePoint(Number.parseInt(e.slice(2, -1), 10))
        : (XML_ENTITIES[e] ?? e),
  );
const TAGS = new Map<string, [open: string, close: string]>();
/** The text of the first `<name>` element (S3's answers nest none in those read here), or
 * undefined without one or its end. Found with indexOf: a copy's answer is read once per copy,
 * by the million. */
const element = (xml: string, name: string) => {
  let tags = TAGS.get(name);
  if (!tags) {
    tags = [`<${name}>`, `</${name}>`];
    TAGS.set(name, tags);
  }
  const [open, close] = tags;
  const start = xml.indexOf(open);
  if (start < 0) return undefined;
  const end = xml.indexOf(close, start + open.length);
  return end < 0 ? undefined : xmlText(xml.slice(start + open.length, end));
};

/**
 * The outcome of a CopyObject answer: its ETag, or the error S3 answered. A 200 whose body is
 * an <Error> is an error (S3 can fail a copy after it sent the status line), as is a 200
 * without a CopyObjectResult (an answer cut short).
 */
export function copyAnswerOf(
  status: number,
  body: string,
  requestId?: string,
): { etag: string | undefined } {
  if (status === 200 && body.includes("<CopyObjectResult") && !body.includes("<Error>")) {
    return { etag: element(body, "ETag") };
  }
  const code = element(body, "Code");
  if (code) {
    throw new S3ErrorResponse(code, element(body, "Message") ?? code, status, requestId);
  }
  if (status === 200) {
    throw new S3ErrorResponse(
      "InternalError",
      "CopyObject answered 200 without a CopyObjectResult (the answer was cut short)",
      500,
      requestId,
    );
  }
  throw new S3ErrorResponse(
    `Http${status}`,
    `CopyObject answered HTTP ${status}`,
    status,
    requestId,
  );
}

async function bodyText(body: unknown): Promise<string> {
  if (body === undefined || body === null) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A request sent through the client's own HTTP handler (a client Lakeport did not build). */
async function sendThroughHandler(s3: S3Client, request: BodilessRequest): Promise<TextAnswer> {
  const { response } = await s3.config.requestHandler.handle({
    ...request,
    query: {},
  } as Parameters<S3Client["config"]["requestHandler"]["handle"]>[0]);
  const requestId = response.headers["x-amz-request-id"];
  return {
    statusCode: response.statusCode,
    ...(requestId ? { requestId } : {}),
    body: await bodyText(response.body),
  };
}

export interface DirectCopier {
  /** The copy's ETag; undefined when the SDK's own path must take this copy (a bucket signed
   * otherwise than with SigV4, or a clock S3 found too far from its own). */
  copy(request: DirectCopyRequest): Promise<{ etag: string | undefined } | undefined>;
}

/**
 * The client's credentials, asked for again after a second: its provider renews them well
 * before they expire (five minutes ahead in the SDK), and a copy need not await it each time.
 */
class CredentialsOfClient {
  private held: { value: SigningCredentials; until: number } | undefined;
  constructor(private readonly s3: S3Client) {}

  /** The credentials asked for less than a second ago, if any. */
  current(now: number): SigningCredentials | undefined {
    return this.held && now < this.held.until ? this.held.value : undefined;
  }

  async renewed(now: number): Promise<SigningCredentials> {
    const value = await this.s3.config.credentials();
    this.held = { value, until: now + 1_000 };
    return value;
  }
}

export function createDirectCopier(s3: S3Client): DirectCopier {
  // A stand-in for a client (a fake, a wrapper counting calls) has no SDK configuration to
  // sign and send with: its copies go through its `send`.
  if (!(s3 instanceof S3Client)) return { copy: async () => undefined };
  const endpoints = new Map<string, Promise<BucketEndpoint | undefined>>();
  const settings = copyTransportSettingsOf(s3);
  const send: (request: BodilessRequest) => Promise<TextAnswer> = settings
    ? createCopyTransport(settings).send
    : (request) => sendThroughHandler(s3, request);

  async function endpointOf(bucket: string): Promise<BucketEndpoint | undefined> {
    // The SDK builds a copy to this bucket (endpoint, addressing style, auth scheme); a step
    // before signing and sending throws the request back. Nothing is signed or sent, so a
    // scheme this path does not sign (SigV4a) is only looked at.
    const command = new CopyObjectCommand({
      Bucket: bucket,
      Key: KEY_MARK,
      CopySource: `${bucket}/${KEY_MARK}`,
    });
    command.middlewareStack.add(
      (_next, context) => async (args) => {
        throw new Captured(
          args.request as Captured["request"],
          (context as { authSchemes?: Captured["authScheme"][] }).authSchemes?.[0],
        );
      },
      { step: "build", priority: "low", name: "lakeportCaptureCopyRequest" },
    );
    let captured: Captured;
    try {
      await s3.send(command);
      return undefined;
    } catch (error) {
      if (!(error instanceof Captured)) throw error;
      captured = error;
    }
    const { request, authScheme } = captured;
    const at = request.path.indexOf(KEY_MARK);
    // Plain SigV4 for "s3" only: an S3 Express directory bucket is "sigv4" for "s3express"
    // (with session tokens the SDK fetches), Outposts and Object Lambda other services.
    if (
      at < 0 ||
      (authScheme !== undefined &&
        (authScheme.name !== "sigv4" || (authScheme.signingName ?? "s3") !== "s3"))
    ) {
      return undefined;
    }
    return {
      protocol: request.protocol,
      hostname: request.hostname,
      ...(request.port !== undefined ? { port: request.port } : {}),
      pathPrefix: request.path.slice(0, at),
      signer: new EmptyPayloadSigner(authScheme?.signingRegion ?? (await s3.config.region()), "s3"),
    };
  }

  // What endpointOf found, once found: most copies then wait for no promise to know it.
  const known = new Map<string, BucketEndpoint | undefined>();
  const endpointFor = async (bucket: string) => {
    let endpoint = endpoints.get(bucket);
    if (!endpoint) {
      endpoint = endpointOf(bucket);
      endpoints.set(bucket, endpoint);
      // A failure to build is not remembered: the next copy asks again.
      endpoint.catch(() => endpoints.delete(bucket));
    }
    const e = await endpoint;
    known.set(bucket, e);
    return e;
  };
  const credentials = new CredentialsOfClient(s3);

  return {
    async copy(req) {
      const e = known.has(req.bucket) ? known.get(req.bucket) : await endpointFor(req.bucket);
      if (!e) return undefined;
      const host = e.port !== undefined ? `${e.hostname}:${e.port}` : e.hostname;
      const path = `${e.pathPrefix}${keyPath(req.key)}`;
      const headers = e.signer.sign(
        {
          method: "PUT",
          path,
          headers: {
            host,
            "content-length": "0",
            "x-amz-copy-source": req.copySource,
            ...req.headers,
          },
        },
        credentials.current(Date.now()) ?? (await credentials.renewed(Date.now())),
        // The SDK's own estimate of how far this machine's clock is from S3's.
        Date.now() + (s3.config.systemClockOffset ?? 0),
      );
      const answer = await send({
        method: "PUT",
        protocol: e.protocol,
        hostname: e.hostname,
        ...(e.port !== undefined ? { port: e.port } : {}),
        path,
        headers,
      });
      try {
        return copyAnswerOf(answer.statusCode, answer.body, answer.requestId);
      } catch (error) {
        // This machine's clock is off: the SDK's own send measures by how much from S3's
        // answer (its Date header) and signs again; later copies here use its estimate.
        if ((error as S3ErrorResponse).Code === "RequestTimeTooSkewed") return undefined;
        throw error;
      }
    },
  };
}
