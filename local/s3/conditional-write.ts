// S3's conditional writes on PutObject (`If-None-Match: *`, `If-Match: <etag>`), which s3rver
// 3.7.1 ignores. A condition is checked and the object written while the key is held
// (key-locks.ts), so of two conditional writes racing on one key exactly one holds: what lets
// a writer claim a key (a GC backup location's record) as on S3.
import type { IncomingMessage } from "node:http";
import { S3ErrorResponse } from "./s3-error";
import type { StoreLayout } from "./store-layout";

export interface WriteConditions {
  ifNoneMatch?: string;
  ifMatch?: string;
}

export function writeConditionsOf(req: IncomingMessage): WriteConditions | undefined {
  const ifNoneMatch = single(req.headers["if-none-match"]);
  const ifMatch = single(req.headers["if-match"]);
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return {
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

const unquoted = (etag: string) =>
  etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");

/** Throws S3's answer when a condition does not hold for the key as it is now. */
export async function checkWriteConditions(
  layout: StoreLayout,
  bucket: string,
  key: string,
  conditions: WriteConditions,
): Promise<void> {
  if (conditions.ifNoneMatch !== undefined && conditions.ifNoneMatch.trim() !== "*") {
    // S3 supports only `*` on writes.
    throw new S3ErrorResponse(
      "NotImplemented",
      "A header you provided implies functionality that is not implemented",
      {
        Header: "If-None-Match",
      },
    );
  }
  const info = await layout.objectInfo(bucket, key);
  if (conditions.ifNoneMatch !== undefined && info) {
    throw preconditionFailed("If-None-Match");
  }
  if (conditions.ifMatch !== undefined) {
    if (!info)
      throw new S3ErrorResponse("NoSuchKey", "The specified key does not exist.", { Key: key });
    if (unquoted(info.etag) !== unquoted(conditions.ifMatch)) throw preconditionFailed("If-Match");
  }
}

const preconditionFailed = (condition: string) =>
  new S3ErrorResponse(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold",
    { Condition: condition },
  );
