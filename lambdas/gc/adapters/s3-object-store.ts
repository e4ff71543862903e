// GcObjectStore on the AWS SDK S3 client: the shared object store plus deletes through the
// export copy engine's deleteObjects (DeleteObjects of 1 000 keys, per-key retries of
// throttling).

import { S3ObjectStore } from "../../shared/aws/s3-object-store";
import { DeleteStoppedError, deleteObjects } from "../../shared/s3-copy/delete-objects";
import { type GcObjectStore, type KeyDeleteFailure, KeysDeleteStoppedError } from "../ports";

// S3 answers success for a missing key; some stores say NoSuchKey: already done either way.
const stillThere = (failed: KeyDeleteFailure[]) => failed.filter((f) => f.code !== "NoSuchKey");

export class S3GcObjectStore extends S3ObjectStore implements GcObjectStore {
  async deleteKeys(
    bucket: string,
    keys: readonly string[],
    opts: { beforeSend?: (keys: string[]) => Promise<string[]>; requestTimeoutMs?: number } = {},
  ) {
    try {
      const out = await deleteObjects(this.s3, bucket, keys, opts);
      return { failed: stillThere(out.failed), withheld: out.withheld };
    } catch (err) {
      if (!(err instanceof DeleteStoppedError)) throw err;
      const { failed, withheld, unsent } = err.partial;
      throw new KeysDeleteStoppedError(err.reason, {
        failed: stillThere(failed),
        withheld,
        unsent,
      });
    }
  }
}
