// ListObjectsV2 (and v1) computed by the proxy: s3rver 3.7.1 lists in directory order (not S3's byte
// order), truncates wrongly with Delimiter + MaxKeys and loses keys across continuation pages.
// Here: S3 order, MaxKeys counting keys and common prefixes together, exact IsTruncated,
// opaque continuation tokens, StartAfter, FetchOwner and encoding-type=url.
import { noSuchBucket, S3_XMLNS, S3ErrorResponse, xmlEscape } from "./s3-error";
import { compareKeys, type StoreLayout } from "./store-layout";

export interface ListV2Params {
  bucket: string;
  query: URLSearchParams;
}

interface Cursor {
  after: string;
  skipPrefix?: string;
}

const encodeToken = (c: Cursor) => Buffer.from(JSON.stringify(c), "utf8").toString("base64url");

function decodeToken(token: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Cursor;
    if (typeof c.after === "string") return c;
  } catch {}
  throw new S3ErrorResponse("InvalidArgument", "The continuation token provided is incorrect", {
    ArgumentName: "continuation-token",
  });
}

/** S3's encoding-type=url: form-style percent-encoding that keeps "/" readable. */
export function s3UrlEncode(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, "/").replace(/%20/g, "+");
}

interface CommonParams {
  prefix: string;
  delimiter: string;
  encodingType: string | null;
  maxKeysRaw: string | null;
  maxKeys: number;
}

function commonParams(query: URLSearchParams): CommonParams {
  const encodingType = query.get("encoding-type");
  if (encodingType !== null && encodingType !== "url") {
    throw new S3ErrorResponse("InvalidArgument", "Invalid Encoding Method specified in Request", {
      ArgumentName: "encoding-type",
      ArgumentValue: encodingType,
    });
  }
  const maxKeysRaw = query.get("max-keys");
  let maxKeys = 1000;
  if (maxKeysRaw !== null) {
    if (!/^\d+$/.test(maxKeysRaw)) {
      throw new S3ErrorResponse(
        "InvalidArgument",
        "Provided max-keys not an integer or within integer range",
        { ArgumentName: "max-keys", ArgumentValue: maxKeysRaw },
      );
    }
    maxKeys = Math.min(1000, Number(maxKeysRaw));
  }
  return {
    prefix: query.get("prefix") ?? "",
    delimiter: query.get("delimiter") ?? "",
    encodingType,
    maxKeysRaw,
    maxKeys,
  };
}

interface Page {
  keys: string[];
  prefixes: string[];
  truncated: boolean;
  /** Where the next page starts. */
  last?: Cursor;
}

/** One page in S3 order: keys and common prefixes after `cursor`, at most maxKeys together. */
async function collectPage(
  layout: StoreLayout,
  bucket: string,
  p: CommonParams,
  cursor: Cursor,
): Promise<Page> {
  const { prefix, delimiter, maxKeys } = p;
  const page: Page = { keys: [], prefixes: [], truncated: false };
  if (maxKeys === 0) return page;
  let lastPrefix: string | undefined;
  for await (const item of layout.walk(bucket, { prefix, delimiter, ...cursor })) {
    let entry: { key: string } | { prefix: string };
    if (item.kind === "prefix") {
      entry = { prefix: item.prefix };
    } else {
      const key = item.key;
      if (!key.startsWith(prefix) || compareKeys(key, cursor.after) <= 0) continue;
      if (cursor.skipPrefix && key.startsWith(cursor.skipPrefix)) continue;
      const idx = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      entry = idx === -1 ? { key } : { prefix: key.slice(0, idx + delimiter.length) };
    }
    if ("prefix" in entry) {
      if (entry.prefix === lastPrefix) continue;
      if (cursor.skipPrefix === entry.prefix) continue;
      if (compareKeys(entry.prefix, cursor.after) <= 0 && !cursor.after.startsWith(entry.prefix)) {
        continue;
      }
    }
    if (page.keys.length + page.prefixes.length === maxKeys) {
      page.truncated = true;
      break;
    }
    if ("prefix" in entry) {
      page.prefixes.push(entry.prefix);
      lastPrefix = entry.prefix;
      page.last = { after: entry.prefix, skipPrefix: entry.prefix };
    } else {
      page.keys.push(entry.key);
      page.last = { after: entry.key };
    }
  }
  return page;
}

async function contentsXml(
  layout: StoreLayout,
  bucket: string,
  keys: string[],
  enc: (s: string) => string,
  withOwner: boolean,
): Promise<string> {
  const infos = await Promise.all(keys.map((k) => layout.objectInfo(bucket, k)));
  return infos
    .filter((i) => i !== undefined)
    .map(
      (i) =>
        `<Contents><Key>${enc(i.key)}</Key><LastModified>${i.lastModified.toISOString()}</LastModified>` +
        `<ETag>${xmlEscape(i.etag)}</ETag><Size>${i.size}</Size>` +
        (withOwner ? "<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>" : "") +
        "<StorageClass>STANDARD</StorageClass></Contents>",
    )
    .join("");
}

const prefixesXml = (prefixes: string[], enc: (s: string) => string) =>
  prefixes.map((cp) => `<CommonPrefixes><Prefix>${enc(cp)}</Prefix></CommonPrefixes>`).join("");

export async function listObjectsV2(layout: StoreLayout, p: ListV2Params): Promise<string> {
  const { bucket, query } = p;
  if (!(await layout.bucketExists(bucket))) throw noSuchBucket(bucket);
  const params = commonParams(query);
  const { prefix, delimiter, encodingType, maxKeysRaw } = params;
  const startAfter = query.get("start-after") ?? "";
  const token = query.get("continuation-token");
  const cursor: Cursor = token !== null ? decodeToken(token) : { after: startAfter };
  const enc = (s: string) => xmlEscape(encodingType === "url" ? s3UrlEncode(s) : s);
  const page = await collectPage(layout, bucket, params, cursor);
  const contents = await contentsXml(
    layout,
    bucket,
    page.keys,
    enc,
    query.get("fetch-owner") === "true",
  );
  return (
    `<ListBucketResult xmlns="${S3_XMLNS}"><Name>${xmlEscape(bucket)}</Name>` +
    `<Prefix>${enc(prefix)}</Prefix>` +
    (startAfter ? `<StartAfter>${enc(startAfter)}</StartAfter>` : "") +
    (token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : "") +
    (page.truncated && page.last
      ? `<NextContinuationToken>${encodeToken(page.last)}</NextContinuationToken>`
      : "") +
    `<KeyCount>${page.keys.length + page.prefixes.length}</KeyCount><MaxKeys>${maxKeysRaw ?? 1000}</MaxKeys>` +
    (delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : "") +
    (encodingType ? "<EncodingType>url</EncodingType>" : "") +
    `<IsTruncated>${page.truncated}</IsTruncated>${contents}${prefixesXml(page.prefixes, enc)}</ListBucketResult>`
  );
}

/**
 * ListObjects (v1): Marker instead of tokens; NextMarker (the last key or common prefix) only
 * with a Delimiter, as S3 does. A marker that is a common prefix skips everything under it.
 */
export async function listObjectsV1(layout: StoreLayout, p: ListV2Params): Promise<string> {
  const { bucket, query } = p;
  if (!(await layout.bucketExists(bucket))) throw noSuchBucket(bucket);
  const params = commonParams(query);
  const { prefix, delimiter, encodingType, maxKeysRaw } = params;
  const marker = query.get("marker") ?? "";
  const markerIsPrefix =
    delimiter !== "" &&
    marker.startsWith(prefix) &&
    marker.endsWith(delimiter) &&
    marker.indexOf(delimiter, prefix.length) === marker.length - delimiter.length;
  const cursor: Cursor = markerIsPrefix ? { after: marker, skipPrefix: marker } : { after: marker };
  const enc = (s: string) => xmlEscape(encodingType === "url" ? s3UrlEncode(s) : s);
  const page = await collectPage(layout, bucket, params, cursor);
  const contents = await contentsXml(layout, bucket, page.keys, enc, true);
  return (
    `<ListBucketResult xmlns="${S3_XMLNS}"><Name>${xmlEscape(bucket)}</Name>` +
    `<Prefix>${enc(prefix)}</Prefix><Marker>${enc(marker)}</Marker>` +
    (page.truncated && delimiter && page.last
      ? `<NextMarker>${enc(page.last.after)}</NextMarker>`
      : "") +
    `<MaxKeys>${maxKeysRaw ?? 1000}</MaxKeys>` +
    (delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : "") +
    (encodingType ? "<EncodingType>url</EncodingType>" : "") +
    `<IsTruncated>${page.truncated}</IsTruncated>${contents}${prefixesXml(page.prefixes, enc)}</ListBucketResult>`
  );
}
