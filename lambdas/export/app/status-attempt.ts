// Which attempt of an export's status step writes the commit's status files. Step Functions
// retries the step after a Lambda service error while the earlier attempt may still run, and
// after a failure runs it again (StatusAfterFailure): the execution's outcome, which the branch
// records, is the latest attempt's answer. Each attempt takes the export's status claim as it
// starts (the latest wins) and writes a status file only while it holds the claim, on the
// condition that the file is still as read before that check: an earlier attempt's write then
// lands before the latest attempt's writes or not at all.
import { randomUUID } from "node:crypto";
import { WriteConditionFailedError } from "../../shared/write-condition";
import { exportWorkKeys } from "../domain/work-layout";
import type { ExportObjectStore } from "../ports";

export interface StatusAttempt {
  /** False once a later attempt of the step has started. */
  holds(): Promise<boolean>;
  /** Writes the status file unless a later attempt has started; whether it did. */
  write(bucket: string, key: string, body: string, contentType: string): Promise<boolean>;
}

/** A write condition fails only for another attempt's write; each attempt writes a file once. */
const MAX_CONDITION_FAILURES = 8;

export async function claimStatusAttempt(
  deps: { store: ExportObjectStore; workBucket: string },
  exportId: string,
): Promise<StatusAttempt> {
  const { store, workBucket } = deps;
  const key = exportWorkKeys(exportId).statusClaim;
  const attempt = randomUUID();
  await store.put(workBucket, key, JSON.stringify({ attempt }), "application/json");
  const holds = async () => {
    const body = await store.getText(workBucket, key);
    return body !== undefined && (JSON.parse(body) as { attempt?: string }).attempt === attempt;
  };
  const write = async (bucket: string, path: string, body: string, contentType: string) => {
    for (let i = 0; i < MAX_CONDITION_FAILURES; i++) {
      // Read before the claim is checked: a later attempt's write comes after this read.
      const before = await store.getVersioned(bucket, path);
      if (!(await holds())) return false;
      try {
        await store.putIf(
          bucket,
          path,
          body,
          before ? { etag: before.etag } : "absent",
          contentType,
        );
        return true;
      } catch (err) {
        if (!(err instanceof WriteConditionFailedError)) throw err;
      }
    }
    throw new Error(
      `s3://${bucket}/${path}: changed by other writers ${MAX_CONDITION_FAILURES} times`,
    );
  };
  return { holds, write };
}
