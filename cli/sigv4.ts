// SigV4 signing of an API request for execute-api, as API Gateway's IAM authorization wants
// it: the body's SHA-256 is part of the signature, the credentials come from the caller or
// the default AWS credential chain.
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** SHA-256 for SignatureV4 from node:crypto (hash, or HMAC with a secret). */
export class Sha256 {
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

/** The region of an execute-api host, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function regionOf(host: string, env: NodeJS.ProcessEnv = process.env): string {
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? m?.[1] ?? "us-east-1";
}

/** The headers of the signed request (Authorization, X-Amz-Date, ...; without Host). */
export async function signApiRequest(req: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  region?: string;
  credentials?: SigningCredentials;
  /** The signing time (tests sign in the past). */
  signingDate?: Date;
}): Promise<Record<string, string>> {
  const { url } = req;
  const signer = new SignatureV4({
    service: "execute-api",
    region: req.region ?? regionOf(url.hostname),
    // The credential chain is loaded only when needed: it costs every command's start.
    credentials:
      req.credentials ?? (await import("@aws-sdk/credential-provider-node")).defaultProvider(),
    sha256: Sha256,
  });
  // Every value of a repeated parameter is signed (API Gateway's canonical query has them all).
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const seen = query[k];
    query[k] = seen === undefined ? v : [...(Array.isArray(seen) ? seen : [seen]), v];
  }
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...req.headers, host: url.host },
      ...(req.body !== undefined ? { body: req.body } : {}),
    },
    req.signingDate ? { signingDate: req.signingDate } : {},
  );
  const out = { ...(signed.headers as Record<string, string>) };
  delete out.host;
  return out;
}
