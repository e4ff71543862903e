// ListObjectsV2 computed by the proxy: s3rver 3.7.1 lists in directory order (not S3's byte
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

export async function listObjectsV2(layout: StoreLayout, p: ListV2Params): Promise<string> {
  const { bucket, query } = p;
  if (!(await layout.bucketExists(bucket))) throw noSuchBucket(bucket);
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const startAfter = query.get("start-after") ?? "";
  const token = query.get("continuation-token");
  const fetchOwner = query.get("fetch-owner") === "true";
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
        {
          ArgumentName: "max-keys",
          ArgumentValue: maxKeysRaw,
        },
      );
    }
    maxKeys = Math.min(1000, Number(maxKeysRaw));
  }
  const cursor: Cursor = token !== null ? decodeToken(token) : { after: startAfter };
  const enc = (s: string) => xmlEscape(encodingType === "url" ? s3UrlEncode(s) : s);

  const keys: string[] = [];
  const prefixes: string[] = [];
  let last: Cursor | undefined;
  let truncated = false;
  let lastPrefix: string | undefined;
  if (maxKeys > 0) {
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
        if (
          compareKeys(entry.prefix, cursor.after) <= 0 &&
          !cursor.after.startsWith(entry.prefix)
        ) {
          continue;
        }
      }
      if (keys.length + prefixes.length === maxKeys) {
        truncated = true;
        break;
      }
      if ("prefix" in entry) {
        prefixes.push(entry.prefix);
        lastPrefix = entry.prefix;
        last = { after: entry.prefix, skipPrefix: entry.prefix };
      } else {
        keys.push(entry.key);
        last = { after: entry.key };
      }
    }
  }

  const infos = await Promise.all(keys.map((k) => layout.objectInfo(bucket, k)));
  const contents = infos
    .filter((i) => i !== undefined)
    .map(
      (i) =>
        `<Contents><Key>${enc(i.key)}</Key><LastModified>${i.lastModified.toISOString()}</LastModified>` +
        `<ETag>${xmlEscape(i.etag)}</ETag><Size>${i.size}</Size>` +
        (fetchOwner
          ? "<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>"
          : "") +
        "<StorageClass>STANDARD</StorageClass></Contents>",
    )
    .join("");
  const commonPrefixes = prefixes
    .map((cp) => `<CommonPrefixes><Prefix>${enc(cp)}</Prefix></CommonPrefixes>`)
    .join("");
  return (
    `<ListBucketResult xmlns="${S3_XMLNS}"><Name>${xmlEscape(bucket)}</Name>` +
    `<Prefix>${enc(prefix)}</Prefix>` +
    (startAfter ? `<StartAfter>${enc(startAfter)}</StartAfter>` : "") +
    (token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : "") +
    (truncated && last
      ? `<NextContinuationToken>${encodeToken(last)}</NextContinuationToken>`
      : "") +
    `<KeyCount>${keys.length + prefixes.length}</KeyCount><MaxKeys>${maxKeysRaw ?? 1000}</MaxKeys>` +
    (delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : "") +
    (encodingType ? "<EncodingType>url</EncodingType>" : "") +
    `<IsTruncated>${truncated}</IsTruncated>${contents}${commonPrefixes}</ListBucketResult>`
  );
}
