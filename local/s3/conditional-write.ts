// S3's conditional writes on PutObject (`If-None-Match: *`, `If-Match: <etag>`), which s3rver
// 3.7.1 ignores. A condition is checked and the object written while the key is held, so of
// two conditional writes racing on one key exactly one holds: what lets a writer claim a key
// (a GC backup location's record) as on S3.
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
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

/** Serializes work per bucket and key (the proxy is the only writer of its store). */
export class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of the key has finished. */
  async hold<T>(bucket: string, key: string, work: () => Promise<T>): Promise<T> {
    const id = `${bucket}/${key}`;
    const before = this.#tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.#tails.set(id, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    }
  }

  /** Resolves once the key's current holders are done (an unconditional write waits for them). */
  async settled(bucket: string, key: string): Promise<void> {
    await this.#tails.get(`${bucket}/${key}`);
  }

  /**
   * A PutObject (`put` answers it): with write conditions, checked and answered while the key
   * is held; without, after any conditional write in progress on the key.
   */
  async write(
    layout: StoreLayout,
    target: { bucket: string; key: string },
    req: IncomingMessage,
    res: ServerResponse,
    put: () => Promise<void>,
  ): Promise<void> {
    const { bucket, key } = target;
    const conditions = writeConditionsOf(req);
    if (!conditions) {
      await this.settled(bucket, key);
      return put();
    }
    await this.hold(bucket, key, async () => {
      await checkWriteConditions(layout, bucket, key, conditions);
      await put();
      if (!res.writableFinished) await once(res, "finish").catch(() => undefined);
    });
  }
}
