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

/** The claim as stored: its attempt, and when that attempt started (epoch ms). */
interface Claim {
  attempt: string;
  /** Absent in claims of earlier versions: taken for earlier. */
  startedAt?: number;
}

const claimOf = (text: string) => JSON.parse(text) as Partial<Claim>;

/**
 * Attempts start one after another (a retry only once the earlier one's call failed), seconds
 * apart: the host clock orders them. A tie goes to the one reading it, the later to look.
 */
const laterThan = (held: Partial<Claim>, mine: Claim) =>
  (held.startedAt ?? 0) > (mine.startedAt ?? 0);

/**
 * Takes the claim unless a later attempt holds it, on the condition that it is still as read:
 * a put whose answer was lost is sent again by the SDK (after a request timeout: minutes), and
 * unconditional, it took the claim back from a later attempt started meanwhile, whose status
 * files it then wrote over. Failing its condition, it reads again: its own first write, or
 * another attempt's, earlier (taken over) or later (left to it).
 */
async function takeClaim(store: ExportObjectStore, bucket: string, key: string, mine: Claim) {
  for (let i = 0; i < MAX_CONDITION_FAILURES; i++) {
    const read = await store.getVersioned(bucket, key);
    const held = read && claimOf(read.text);
    if (held && (held.attempt === mine.attempt || laterThan(held, mine))) return;
    try {
      const condition = read ? { etag: read.etag } : ("absent" as const);
      await store.putIf(bucket, key, JSON.stringify(mine), condition, "application/json");
      return;
    } catch (err) {
      if (!(err instanceof WriteConditionFailedError)) throw err;
    }
  }
  throw new Error(
    `s3://${bucket}/${key}: changed by other attempts ${MAX_CONDITION_FAILURES} times`,
  );
}

export async function claimStatusAttempt(
  deps: { store: ExportObjectStore; workBucket: string },
  exportId: string,
): Promise<StatusAttempt> {
  const { store, workBucket } = deps;
  const key = exportWorkKeys(exportId).statusClaim;
  const attempt = randomUUID();
  await takeClaim(store, workBucket, key, { attempt, startedAt: Date.now() });
  const holds = async () => {
    const body = await store.getText(workBucket, key);
    return body !== undefined && claimOf(body).attempt === attempt;
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
