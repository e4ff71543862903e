// The HTTP front of the embedded S3. Product code talks to this; it forwards requests to
// s3rver unchanged (method, path, Host and every header, so s3rver's credential check still
// applies) and answers itself where s3rver is missing or wrong: UploadPartCopy, ListObjectsV2,
// DeleteObjects/DeleteObject, AbortMultipartUpload, ranged GetObject, upload-id and part checks.
// It also counts requests and applies the admin's deny, throttle and lost-answer rules. Bodies stream; only
// small XML request bodies (DeleteObjects, CompleteMultipartUpload) are read whole.
import { createHash } from "node:crypto";
import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ADMIN_PATH_PREFIX, handleAdminRequest, type S3Admin } from "./admin";
import { checkWriteConditions } from "./conditional-write";
import { LOCAL_S3_CREDENTIALS } from "./credentials";
import {
  deleteOneObject,
  deleteResultXml,
  type KeyOutcome,
  parseDeleteBody,
} from "./delete-objects";
import { KeyLocks } from "./key-locks";
import { listObjectsV1, listObjectsV2 } from "./list-objects";
import { loseAnswer } from "./lose-answer";
import { checkCompleteParts, parseCompleteBody } from "./multipart";
import { copyTagWrite } from "./object-tagging";
import {
  type ClassifiedRequest,
  classifyRequest,
  parseCopySource,
  parseCopySourceRange,
  resolveRange,
} from "./operations";
import {
  accessDenied,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  requestId,
  S3_XMLNS,
  S3ErrorResponse,
  sendS3Error,
  sendXml,
  slowDown,
  xmlEscape,
} from "./s3-error";
import { type StoreLayout, storedMetadataOf } from "./store-layout";
import { drain, forward, internal, readBody } from "./upstream";
import { checkUserMetadata } from "./user-metadata";

export interface S3ProxyOptions {
  /** Port of the s3rver instance on loopback. */
  upstreamPort: number;
  layout: StoreLayout;
  admin: S3Admin;
  port?: number;
  host?: string;
}

export interface S3Proxy {
  port: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "date",
]);

export async function startS3Proxy(opts: S3ProxyOptions): Promise<S3Proxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const ctx: ProxyContext = { ...opts, agent, keyLocks: new KeyLocks() };
  const server = http.createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      const s3err =
        err instanceof S3ErrorResponse
          ? err
          : new S3ErrorResponse(
              "InternalError",
              `We encountered an internal error: ${(err as Error).message}`,
            );
      drain(req).then(() => sendS3Error(res, s3err, req.method));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

interface ProxyContext extends S3ProxyOptions {
  agent: http.Agent;
  keyLocks: KeyLocks;
}

const encodeKey = (key: string) => key.split("/").map(encodeURIComponent).join("/");
const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** s3rver's own rule for signed requests: the access key must be its built-in one. */
function checkAccessKey(req: IncomingMessage, query: URLSearchParams): void {
  const auth = header(req, "authorization");
  const credential = auth
    ? (/Credential=([^/,\s]+)/.exec(auth)?.[1] ?? /^AWS ([^:]+):/.exec(auth)?.[1])
    : (query.get("X-Amz-Credential")?.split("/")[0] ?? query.get("AWSAccessKeyId") ?? undefined);
  if (credential !== undefined && credential !== LOCAL_S3_CREDENTIALS.accessKeyId) {
    throw new S3ErrorResponse(
      "InvalidAccessKeyId",
      "The AWS Access Key Id you provided does not exist in our records.",
      { AWSAccessKeyId: credential },
    );
  }
}

async function handle(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse) {
  const url = req.url ?? "/";
  if (url.startsWith(ADMIN_PATH_PREFIX)) return handleAdminRequest(ctx.admin, req, res);
  const r = classifyRequest(req.method ?? "GET", url, req.headers);
  ctx.admin.record(r.bucket, r.operation);
  const held = ctx.admin.takeHold(r.bucket, r.operation, r.key);
  if (held) await held;
  if (ctx.admin.takeThrottle(r.bucket, r.operation)) throw slowDown();
  const loss = ctx.admin.takeLoss(r.bucket, r.operation, r.key);
  if (loss) loseAnswer(req, res, loss);
  checkDeny(ctx, r, req);
  checkUserMetadata(req.headers, storesMetadata(r, req));
  switch (r.operation) {
    case "ListObjectsV2":
      checkAccessKey(req, r.query);
      return answerXml(res, await listObjectsV2(ctx.layout, r), req);
    case "ListObjects":
      checkAccessKey(req, r.query);
      return answerXml(res, await listObjectsV1(ctx.layout, r), req);
    case "UploadPartCopy":
      return uploadPartCopy(ctx, r, req, res);
    case "CreateBucket":
      // One account owns every bucket here, so an existing name is always "owned by you".
      if (await ctx.layout.bucketExists(r.bucket)) {
        throw new S3ErrorResponse(
          "BucketAlreadyOwnedByYou",
          "Your previous request to create the named bucket succeeded and you already own it.",
          { BucketName: r.bucket },
        );
      }
      return forward(ctx, req, res);
    case "CopyObject": {
      ctx.admin.doCopyWork();
      // The source read and the destination written as single versions (key-locks.ts).
      const src = copySourceOf(req);
      const keys = [
        { bucket: src.bucket, key: src.key, mode: "shared" as const },
        { bucket: r.bucket, key: r.key, mode: "exclusive" as const },
      ];
      return ctx.keyLocks.holdAll(keys, () => copyObject(ctx, r, req, res));
    }
    case "DeleteObjects":
      return deleteObjects(ctx, r, req, res);
    case "DeleteObject":
      checkAccessKey(req, r.query);
      await requireBucket(ctx, r.bucket);
      await drain(req);
      await ctx.keyLocks.hold(r.bucket, r.key, () => deleteOneObject(ctx.layout, r.bucket, r.key));
      res.writeHead(204, { "x-amz-request-id": requestId() });
      return res.end();
    case "AbortMultipartUpload":
      return abortUpload(ctx, r, req, res);
    case "UploadPart":
      await requireUpload(ctx, r);
      return forward(ctx, req, res);
    case "CompleteMultipartUpload":
      return ctx.keyLocks.hold(r.bucket, r.key, () => completeUpload(ctx, r, req, res));
    case "PutObject":
      checkAccessKey(req, r.query);
      await requireBucket(ctx, r.bucket);
      return ctx.keyLocks.write(ctx.layout, r, req, res, () => putObject(ctx, r, req, res));
    case "GetObject":
      return ctx.keyLocks.shared(r.bucket, r.key, async () => {
        // s3rver ignores If-Match on reads; S3 answers 412 when the object's ETag differs.
        const ifMatch = header(req, "if-match");
        if (ifMatch !== undefined) {
          await checkWriteConditions(ctx.layout, r.bucket, r.key, { ifMatch });
        }
        return header(req, "range") && !r.query.has("partNumber")
          ? rangedGet(ctx, r, req, res)
          : forward(ctx, req, res);
      });
    case "HeadObject":
      return ctx.keyLocks.shared(r.bucket, r.key, () => forward(ctx, req, res));
    default:
      return forward(ctx, req, res);
  }
}

/** Whether the request gives a new object the user metadata of its headers. */
function storesMetadata(r: ClassifiedRequest, req: IncomingMessage): boolean {
  if (r.operation === "CopyObject") return header(req, "x-amz-metadata-directive") === "REPLACE";
  return r.operation === "PutObject" || r.operation === "CreateMultipartUpload";
}

function checkDeny(ctx: ProxyContext, r: ClassifiedRequest, req: IncomingMessage): void {
  const { admin } = ctx;
  if (r.bucket === "" || r.operation === "DeleteObjects") return; // DeleteObjects: per key
  const write = admin.isWrite(r.operation);
  const bucketLevel = r.key === "";
  const denied = bucketLevel
    ? admin.isDenied(r.bucket, undefined, write, r.query.get("prefix") ?? "")
    : admin.isDenied(r.bucket, r.key, write, "", r.operation === "DeleteObject");
  if (denied) throw accessDenied();
  const copySource = header(req, "x-amz-copy-source");
  if (copySource) {
    const src = parseCopySource(copySource);
    if (src && admin.isDenied(src.bucket, src.key, false)) throw accessDenied();
  }
}

async function answerXml(res: ServerResponse, body: string, req: IncomingMessage): Promise<void> {
  await drain(req);
  sendXml(res, 200, body);
}

async function requireBucket(ctx: ProxyContext, bucket: string): Promise<void> {
  if (!(await ctx.layout.bucketExists(bucket))) throw noSuchBucket(bucket);
}

async function requireUpload(ctx: ProxyContext, r: ClassifiedRequest): Promise<string> {
  await requireBucket(ctx, r.bucket);
  const uploadId = r.query.get("uploadId") ?? "";
  if (!(await ctx.layout.uploadExists(r.bucket, uploadId))) throw noSuchUpload(uploadId);
  return uploadId;
}

/** Sends the client's request to s3rver as it came (optionally with a replaced body/headers). */
function copySourceOf(req: IncomingMessage) {
  const raw = header(req, "x-amz-copy-source") ?? "";
  const src = parseCopySource(raw);
  if (!src) {
    throw new S3ErrorResponse(
      "InvalidArgument",
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
      { ArgumentName: "x-amz-copy-source", ArgumentValue: raw },
    );
  }
  if (src.versionId !== undefined && src.versionId !== "null") {
    throw new S3ErrorResponse("NoSuchVersion", "The specified version does not exist.", {
      Key: src.key,
      VersionId: src.versionId,
    });
  }
  return src;
}

const STORAGE_CLASSES = new Set([
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "OUTPOSTS",
]);

/** PutObject of a plain body, answered here on s3rver's files (s3rver's own put is several
 * times slower); aws-chunked (streaming-signed) bodies still go to s3rver, which decodes them. */
async function putObject(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const sha = header(req, "x-amz-content-sha256") ?? "";
  const encoding = header(req, "content-encoding") ?? "";
  if (sha.startsWith("STREAMING-") || encoding.includes("aws-chunked")) {
    return forward(ctx, req, res);
  }
  checkAccessKey(req, r.query);
  await requireBucket(ctx, r.bucket);
  const storageClass = header(req, "x-amz-storage-class");
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) {
    throw new S3ErrorResponse(
      "InvalidStorageClass",
      "The storage class you specified is not valid",
    );
  }
  const out = await ctx.layout.writeObject(
    r.bucket,
    r.key,
    req,
    storedMetadataOf(req.headers),
    header(req, "content-md5"),
    header(req, "x-amz-tagging"),
  );
  if ("badDigest" in out) {
    throw new S3ErrorResponse(
      "BadDigest",
      "The Content-MD5 you specified did not match what we received.",
    );
  }
  res.writeHead(200, {
    etag: JSON.stringify(out.md5),
    "content-length": 0,
    "x-amz-request-id": requestId(),
  });
  res.end();
}

/** CopyObject, answered here on s3rver's files (store-layout): s3rver's own copy decodes the
 * source with decodeURI, ignores "?versionId=", keeps a stale ETag on REPLACE, and is slow. */
async function copyObject(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const src = copySourceOf(req);
  const info = await ctx.layout.objectInfo(src.bucket, src.key);
  const max = ctx.admin.limits({ bucket: r.bucket }).copyObjectMaxBytes;
  if (info && info.size > max) {
    throw new S3ErrorResponse(
      "InvalidRequest",
      `The specified copy source is larger than the maximum allowable size for a copy source: ${max}`,
    );
  }
  checkAccessKey(req, r.query);
  await drain(req);
  if (!(await ctx.layout.bucketExists(src.bucket))) throw noSuchBucket(src.bucket);
  if (!info) throw noSuchKey(src.key);
  await requireBucket(ctx, r.bucket);
  const replace = header(req, "x-amz-metadata-directive") === "REPLACE";
  if (src.bucket === r.bucket && src.key === r.key && !replace) {
    throw new S3ErrorResponse(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const out = await ctx.layout.copyObject(
    src,
    { bucket: r.bucket, key: r.key },
    replace ? storedMetadataOf(req.headers) : undefined,
    copyTagWrite(src, header(req, "x-amz-tagging-directive"), header(req, "x-amz-tagging")),
  );
  sendXml(
    res,
    200,
    `<CopyObjectResult xmlns="${S3_XMLNS}"><LastModified>${out.lastModified.toISOString()}</LastModified>` +
      `<ETag>${xmlEscape(JSON.stringify(out.etag))}</ETag></CopyObjectResult>`,
    src.versionId ? { "x-amz-copy-source-version-id": src.versionId } : {},
  );
}

async function uploadPartCopy(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  checkAccessKey(req, r.query);
  await drain(req);
  const src = copySourceOf(req);
  const partNumber = Number(r.query.get("partNumber"));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new S3ErrorResponse(
      "InvalidArgument",
      "Part number must be an integer between 1 and 10000, inclusive",
      {
        ArgumentName: "partNumber",
        ArgumentValue: r.query.get("partNumber") ?? "",
      },
    );
  }
  const uploadId = await requireUpload(ctx, r);
  if (!(await ctx.layout.bucketExists(src.bucket))) throw noSuchBucket(src.bucket);
  const info = await ctx.layout.objectInfo(src.bucket, src.key);
  if (!info) throw noSuchKey(src.key);
  const rangeHeader = header(req, "x-amz-copy-source-range");
  let first = 0;
  let last = info.size - 1;
  if (rangeHeader !== undefined) {
    const range = parseCopySourceRange(rangeHeader);
    if (!range) {
      throw new S3ErrorResponse(
        "InvalidArgument",
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        { ArgumentName: "x-amz-copy-source-range", ArgumentValue: rangeHeader },
      );
    }
    if (range.last >= info.size) {
      throw new S3ErrorResponse(
        "InvalidArgument",
        `Range specified is not valid for source object of size: ${info.size}`,
        { ArgumentName: "x-amz-copy-source-range", ArgumentValue: rangeHeader },
      );
    }
    ({ first, last } = range);
  }
  const length = last - first + 1;
  const body =
    length > 0 ? ctx.layout.readRange(src.bucket, src.key, first, last) : Readable.from([]);
  const path = `/${r.bucket}/${encodeKey(r.key)}?partNumber=${partNumber}&uploadId=${uploadId}`;
  const up = await internal(ctx, "PUT", path, body, { "content-length": length });
  if (up.status !== 200) {
    res.writeHead(up.status, up.headers);
    return pipeline(up.body, res);
  }
  up.body.resume();
  const etag = String(up.headers.etag ?? "");
  const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  sendXml(
    res,
    200,
    `<CopyPartResult xmlns="${S3_XMLNS}"><LastModified>${lastModified}</LastModified><ETag>${xmlEscape(etag)}</ETag></CopyPartResult>`,
    src.versionId ? { "x-amz-copy-source-version-id": src.versionId } : {},
  );
}

async function deleteObjects(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  checkAccessKey(req, r.query);
  const parsed = parseDeleteBody((await readBody(req)).toString("utf8"));
  await requireBucket(ctx, r.bucket);
  const outcomes: KeyOutcome[] = [];
  for (const { key } of parsed.objects) {
    if (ctx.admin.isDenied(r.bucket, key, true, "", true)) {
      outcomes.push({ key, error: { code: "AccessDenied", message: "Access Denied" } });
      continue;
    }
    try {
      await deleteOneObject(ctx.layout, r.bucket, key);
      outcomes.push({ key });
    } catch (err) {
      outcomes.push({ key, error: { code: "InternalError", message: (err as Error).message } });
    }
  }
  sendXml(res, 200, deleteResultXml(outcomes, parsed.quiet));
}

async function abortUpload(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  checkAccessKey(req, r.query);
  await drain(req);
  const uploadId = await requireUpload(ctx, r);
  await ctx.layout.removeUpload(r.bucket, uploadId);
  res.writeHead(204, { "x-amz-request-id": requestId() });
  res.end();
}

/**
 * CompleteMultipartUpload: checks the listed parts like S3, lets s3rver assemble the object,
 * then gives it its upload's tags and S3's multipart ETag, md5(concatenated part md5s) + "-" +
 * part count, where s3rver would record the md5 of the whole content.
 */
async function completeUpload(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  checkAccessKey(req, r.query);
  const body = await readBody(req);
  const uploadId = await requireUpload(ctx, r);
  const parts = parseCompleteBody(body.toString("utf8"));
  await checkCompleteParts(
    ctx.layout,
    r.bucket,
    uploadId,
    parts,
    ctx.admin.limits({ bucket: r.bucket }).minPartBytes,
  );
  const tags = await ctx.layout.uploadTagging(r.bucket, uploadId); // gone once completed
  const up = await internal(ctx, "POST", req.url ?? "/", Readable.from([body]), {
    "content-type": "application/xml",
    "content-length": body.length,
  });
  if (up.status !== 200) {
    res.writeHead(up.status, up.headers);
    return pipeline(up.body, res);
  }
  up.body.resume();
  await once(up.body, "end");
  const etag = multipartEtag(parts.map((p) => p.etag));
  await ctx.layout.setObjectEtag(r.bucket, r.key, etag, tags);
  const location = `http://${header(req, "host") ?? "127.0.0.1"}/${r.bucket}/${encodeKey(r.key)}`;
  sendXml(
    res,
    200,
    `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}"><Location>${xmlEscape(location)}</Location>` +
      `<Bucket>${xmlEscape(r.bucket)}</Bucket><Key>${xmlEscape(r.key)}</Key>` +
      `<ETag>${xmlEscape(JSON.stringify(etag))}</ETag></CompleteMultipartUploadResult>`,
  );
}

function multipartEtag(partMd5s: string[]): string {
  const digest = createHash("md5");
  for (const hex of partMd5s) digest.update(Buffer.from(hex, "hex"));
  return `${digest.digest("hex")}-${partMd5s.length}`;
}

/** GetObject with Range: s3rver reads "bytes=-N" as "bytes=0-N" and "bytes=0-0" as everything. */
async function rangedGet(
  ctx: ProxyContext,
  r: ClassifiedRequest,
  req: IncomingMessage,
  res: ServerResponse,
) {
  checkAccessKey(req, r.query);
  await drain(req);
  await requireBucket(ctx, r.bucket);
  const info = await ctx.layout.objectInfo(r.bucket, r.key);
  if (!info) throw noSuchKey(r.key);
  const rangeHeader = header(req, "range") ?? "";
  const range = resolveRange(rangeHeader, info.size);
  if (range === "unsatisfiable") {
    throw new S3ErrorResponse("InvalidRange", "The requested range is not satisfiable", {
      RangeRequested: rangeHeader,
      ActualObjectSize: info.size,
    });
  }
  // Object headers (Content-Type, user metadata, ETag, ...) come from s3rver itself.
  const head = await internal(ctx, "HEAD", `/${r.bucket}/${encodeKey(r.key)}`);
  head.body.resume();
  if (head.status !== 200) throw noSuchKey(r.key);
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(head.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
  if (!range) {
    res.writeHead(200, { ...headers, "content-length": info.size });
    return pipeline(
      info.size > 0 ? ctx.layout.readRange(r.bucket, r.key, 0, info.size - 1) : Readable.from([]),
      res,
    );
  }
  res.writeHead(206, {
    ...headers,
    "content-length": range.end - range.start + 1,
    "content-range": `bytes ${range.start}-${range.end}/${info.size}`,
  });
  return pipeline(ctx.layout.readRange(r.bucket, r.key, range.start, range.end), res);
}
