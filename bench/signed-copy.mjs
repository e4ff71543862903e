// A CopyObject with the least client work it can take: signed here (SigV4 with node:crypto,
// the signing key derived once a day) and sent with node:http over kept-alive sockets. No SDK,
// no Lakeport code: the S3 ceiling loop (bench/s3-ceiling-worker.mjs) and the client CPU
// diagnostic (bench/copy-client-cpu.ts) copy with it. Path-style, unsigned headers none, an
// empty payload; rejects on anything but a CopyObjectResult.
import { createHash, createHmac } from "node:crypto";
import http from "node:http";

const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");
const hmac = (key, text) => createHmac("sha256", key).update(text).digest();
const encodeSegment = (s) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * @param {{ endpoint: string, credentials: { accessKeyId: string, secretAccessKey: string },
 *   region?: string }} opts
 * @returns {{ copy(bucket: string, key: string, copySource: string,
 *   headers?: Record<string, string>): Promise<void>, destroy(): void }}
 */
export function createSignedCopier({ endpoint, credentials, region = "us-east-1" }) {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  let signingDay = "";
  let signingKey;
  const keyOf = (day) => {
    if (day !== signingDay) {
      signingDay = day;
      signingKey = hmac(
        hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), "s3"),
        "aws4_request",
      );
    }
    return signingKey;
  };
  const copy = (bucket, key, copySource, extra = {}) => {
    const path = `/${bucket}/${key.split("/").map(encodeSegment).join("/")}`;
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const day = amzDate.slice(0, 8);
    const headers = {
      host: url.host,
      "x-amz-content-sha256": EMPTY_SHA256,
      "x-amz-copy-source": copySource,
      "x-amz-date": amzDate,
      ...extra,
    };
    const names = Object.keys(headers).sort();
    const canonical = [
      "PUT",
      path,
      "",
      ...names.map((n) => `${n}:${headers[n]}`),
      "",
      names.join(";"),
      EMPTY_SHA256,
    ].join("\n");
    const scope = `${day}/${region}/s3/aws4_request`;
    const toSign = [
      "AWS4-HMAC-SHA256",
      amzDate,
      scope,
      createHash("sha256").update(canonical).digest("hex"),
    ].join("\n");
    const signature = createHmac("sha256", keyOf(day)).update(toSign).digest("hex");
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
    headers["content-length"] = "0";
    return new Promise((resolve, reject) => {
      const req = http.request(
        { hostname: url.hostname, port: url.port, path, method: "PUT", headers, agent },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString();
            if (res.statusCode === 200 && body.includes("<CopyObjectResult")) resolve();
            else
              reject(new Error(`CopyObject ${key}: HTTP ${res.statusCode} ${body.slice(0, 300)}`));
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  };
  return { copy, destroy: () => agent.destroy() };
}
