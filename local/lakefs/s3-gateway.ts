// The read-only part of lakeFS's S3 gateway on the development server: a repository is a
// bucket and `<ref>/<path>` a key, as lakeFS serves them, so rclone, DuckDB and the AWS CLI read
// the development server as they read lakeFS. ListObjectsV2 (and V1) with prefix, delimiter,
// continuation and `encoding-type=url`; GetObject (with Range) and HeadObject; HeadBucket and
// ListBuckets. Requests are signed with SigV4 (service "s3") by the lakeFS key pair. Writes
// answer NotImplemented. Errors are S3's XML error documents.
import type http from "node:http";
import type { Readable } from "node:stream";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { parseS3ObjectUri } from "../../lambdas/shared/s3-uri";
import { verifySigV4 } from "../sigv4/verify";
import { ApiError } from "./api-error";
import type { EntryValue } from "./graveler";
import type { LakeFsModel } from "./model";

export interface S3GatewayOptions {
  model: LakeFsModel;
  s3: S3Client;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Counts each request under its operation name (the server's request statistics). */
  count: (operation: string) => void;
}

const MAX_KEYS = 1000;
const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!,
  );

const httpDate = (seconds: number) => new Date(seconds * 1000).toUTCString();
const isoDate = (seconds: number) => new Date(seconds * 1000).toISOString();

export function createS3Gateway(opts: S3GatewayOptions) {
  return {
    handle: (req: http.IncomingMessage, res: http.ServerResponse) => handle(opts, req, res),
  };
}

/** Serves one S3 request (anything outside /api/v1 and the admin paths). */
async function handle(
  opts: S3GatewayOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const { model } = opts;
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
  const query = new URLSearchParams(rawQuery);
  const method = (req.method ?? "GET").toUpperCase();
  let segments: string[];
  try {
    segments = rawPath.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return sendError(
      res,
      new S3Error(400, "InvalidURI", "Couldn't parse the specified URI."),
      rawPath,
    );
  }
  const bucket = segments[0] ?? "";
  const key = segments.slice(1).join("/");
  const operation =
    bucket === ""
      ? "ListBuckets"
      : key === ""
        ? method === "HEAD"
          ? "HeadBucket"
          : query.get("list-type") === "2"
            ? "ListObjectsV2"
            : "ListObjects"
        : method === "HEAD"
          ? "HeadObject"
          : "GetObject";
  opts.count(`s3.${operation}`);
  req.resume();
  const auth = verifySigV4(
    { method, path: rawPath, query: rawQuery, headers: req.headers },
    {
      service: "s3",
      secretOf: (id) =>
        id === opts.credentials.accessKeyId ? opts.credentials.secretAccessKey : undefined,
    },
  );
  try {
    if (!auth.ok) {
      const code = auth.reason === "MissingAuthenticationToken" ? "AccessDenied" : auth.reason;
      throw new S3Error(403, code, auth.message);
    }
    if (method !== "GET" && method !== "HEAD") {
      throw new S3Error(501, "NotImplemented", "The development server's S3 gateway is read-only");
    }
    if (operation === "ListBuckets") return sendXml(res, 200, listBuckets(model));
    repositoryOrThrow(model, bucket);
    if (operation === "HeadBucket") return sendXml(res, 200, "");
    if (operation === "ListObjectsV2" || operation === "ListObjects") {
      return sendXml(res, 200, listObjects(model, bucket, query, operation === "ListObjectsV2"));
    }
    return await getObject(opts, res, bucket, key, req.headers.range, method === "HEAD");
  } catch (err) {
    return sendError(res, err, rawPath);
  }
}

function repositoryOrThrow(model: LakeFsModel, repo: string): void {
  try {
    model.getRepository(repo);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
    }
    throw err;
  }
}

function listBuckets(model: LakeFsModel): string {
  const repos = model.listRepositories(undefined, "", MAX_KEYS).results;
  const buckets = repos
    .map(
      (r) =>
        `<Bucket><Name>${xmlEscape(r.id)}</Name><CreationDate>${isoDate(r.creation_date)}</CreationDate></Bucket>`,
    )
    .join("");
  return `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>lakefs</ID><DisplayName>lakefs</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`;
}

/** Keys are `<ref>/<path>`; a prefix without a ref lists the branches as prefixes. */
function listObjects(
  model: LakeFsModel,
  repo: string,
  query: URLSearchParams,
  v2: boolean,
): string {
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const maxKeys = Math.min(MAX_KEYS, Math.max(0, Number(query.get("max-keys") ?? MAX_KEYS) || 0));
  const urlEncoded = query.get("encoding-type") === "url";
  const enc = (s: string) => (urlEncoded ? encodeURIComponent(s) : s);
  const token = v2 ? query.get("continuation-token") : null;
  let start = v2 ? (query.get("start-after") ?? "") : (query.get("marker") ?? "");
  if (token) {
    start = Buffer.from(token, "base64url").toString("utf8");
  }
  const contents: string[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = "";
  const slash = prefix.indexOf("/");
  if (slash < 0) {
    // No ref yet: the branches, as lakeFS lists them.
    const page = model.listBranches(repo, start.replace(/\/$/, "") || undefined, prefix, maxKeys);
    for (const b of page.results) {
      prefixes.push(`${b.id}/`);
      last = `${b.id}/`;
    }
    truncated = page.hasMore;
  } else {
    const ref = prefix.slice(0, slash);
    const pathPrefix = prefix.slice(slash + 1);
    const after = start.startsWith(`${ref}/`) ? start.slice(ref.length + 1) : undefined;
    let page: ReturnType<LakeFsModel["listObjects"]>;
    try {
      page = model.listObjects(repo, ref, {
        ...(after ? { after } : {}),
        prefix: pathPrefix,
        delimiter,
        amount: maxKeys,
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) page = { results: [], hasMore: false };
      else throw err;
    }
    for (const entry of page.results) {
      const k = `${ref}/${entry.path}`;
      last = k;
      if (entry.value) contents.push(contentsXml(enc(k), entry.value));
      else prefixes.push(k);
    }
    truncated = page.hasMore;
  }
  const fields = [
    `<Name>${xmlEscape(repo)}</Name>`,
    `<Prefix>${xmlEscape(enc(prefix))}</Prefix>`,
    ...(delimiter ? [`<Delimiter>${xmlEscape(enc(delimiter))}</Delimiter>`] : []),
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    `<IsTruncated>${truncated}</IsTruncated>`,
    ...(urlEncoded ? ["<EncodingType>url</EncodingType>"] : []),
  ];
  if (v2) {
    fields.push(`<KeyCount>${contents.length + prefixes.length}</KeyCount>`);
    if (token) fields.push(`<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`);
    if (query.get("start-after") !== null) {
      fields.push(`<StartAfter>${xmlEscape(enc(query.get("start-after")!))}</StartAfter>`);
    }
    if (truncated) {
      fields.push(
        `<NextContinuationToken>${Buffer.from(last).toString("base64url")}</NextContinuationToken>`,
      );
    }
  } else {
    fields.push(`<Marker>${xmlEscape(enc(query.get("marker") ?? ""))}</Marker>`);
    if (truncated && delimiter) fields.push(`<NextMarker>${xmlEscape(enc(last))}</NextMarker>`);
  }
  const body = [
    ...fields,
    ...contents,
    ...prefixes.map(
      (p) => `<CommonPrefixes><Prefix>${xmlEscape(enc(p))}</Prefix></CommonPrefixes>`,
    ),
  ].join("");
  return `<ListBucketResult xmlns="${XMLNS}">${body}</ListBucketResult>`;
}

function contentsXml(key: string, v: EntryValue): string {
  return `<Contents><Key>${xmlEscape(key)}</Key><LastModified>${isoDate(v.m)}</LastModified><ETag>"${xmlEscape(v.c)}"</ETag><Size>${v.s}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
}

async function getObject(
  opts: S3GatewayOptions,
  res: http.ServerResponse,
  repo: string,
  key: string,
  range: string | undefined,
  headOnly: boolean,
): Promise<void> {
  const { model } = opts;
  const slash = key.indexOf("/");
  if (slash < 0) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.");
  const ref = key.slice(0, slash);
  const path = key.slice(slash + 1);
  let v: EntryValue;
  try {
    v = model.statObject(repo, ref, path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new S3Error(404, "NoSuchKey", "The specified key does not exist.");
    }
    throw err;
  }
  const headers: Record<string, string> = {
    etag: `"${v.c}"`,
    "last-modified": httpDate(v.m),
    "content-type": v.t || "application/octet-stream",
    "accept-ranges": "bytes",
    ...Object.fromEntries(Object.entries(v.md ?? {}).map(([k, val]) => [`x-amz-meta-${k}`, val])),
  };
  if (headOnly) {
    res.writeHead(200, { ...headers, "content-length": String(v.s) });
    res.end();
    return;
  }
  const loc = parseS3ObjectUri(v.a, "physical address");
  let out: GetObjectCommandOutput;
  try {
    out = await opts.s3.send(
      new GetObjectCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        ...(range ? { Range: range } : {}),
      }),
    );
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === "NoSuchKey") throw new S3Error(410, "NoSuchKey", "The object's data is gone");
    if (name === "InvalidRange")
      throw new S3Error(416, "InvalidRange", "The requested range is not satisfiable");
    throw err;
  }
  const status = out.ContentRange ? 206 : 200;
  res.writeHead(status, {
    ...headers,
    "content-length": String(out.ContentLength ?? v.s),
    ...(out.ContentRange ? { "content-range": out.ContentRange } : {}),
  });
  const body = out.Body as Readable;
  await new Promise<void>((resolve, reject) => {
    body.on("error", reject);
    res.on("finish", resolve);
    res.on("close", resolve);
    body.pipe(res);
  });
}

function sendXml(res: http.ServerResponse, status: number, body: string): void {
  const text = body === "" ? "" : `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, {
    "content-type": "application/xml",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: unknown, resource: string): void {
  const e =
    err instanceof S3Error
      ? err
      : new S3Error(500, "InternalError", err instanceof Error ? err.message : String(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendXml(
    res,
    e.status,
    `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>lakefs-dev</RequestId></Error>`,
  );
}
