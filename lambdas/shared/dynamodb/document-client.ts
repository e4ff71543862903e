import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  type TransactWriteCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { defaultSleep } from "../retry";

export function documentClient(ddb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(ddb, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** A Query's items, a page at a time, until DynamoDB has no more. */
export async function* queryPages(
  doc: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, "ExclusiveStartKey">,
): AsyncIterable<Record<string, unknown>[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    yield out.Items ?? [];
    startKey = out.LastEvaluatedKey;
  } while (startKey);
}

type Cancellation = { name?: string; CancellationReasons?: { Code?: string }[] };

const cancelledFor = (err: unknown, codes: ReadonlySet<string>) => {
  const e = err as Cancellation;
  return (
    e?.name === "TransactionCanceledException" &&
    (e.CancellationReasons ?? []).some((r) => r.Code !== undefined && codes.has(r.Code))
  );
};

/**
 * A write refused because a condition failed: ConditionalCheckFailedException, or a
 * transaction cancelled for a condition of its items. Not a transaction DynamoDB cancelled for
 * another reason (a conflict, throttling, an invalid item): nothing was decided by the table.
 */
export function isConditionFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return (
    name === "ConditionalCheckFailedException" ||
    cancelledFor(err, new Set(["ConditionalCheckFailed"]))
  );
}

/** Cancellation reasons after which the same transaction may succeed a moment later. */
const TRANSIENT_CANCELLATIONS: ReadonlySet<string> = new Set([
  "TransactionConflict",
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
]);

/** Attempts of a write DynamoDB cancels for a transaction in progress on its items. */
export const CONFLICT_ATTEMPTS = 5;

/**
 * DynamoDB refused the write for a moment: a transaction cancelled for a conflicting one in
 * progress on an item (reason TransactionConflict) or for throttling, or a single write's
 * TransactionConflictException (DynamoDB Local runs transactions one at a time and never
 * conflicts). No condition failed, and the SDK does not send these again.
 */
export function isTransactionConflict(err: unknown): boolean {
  if ((err as { name?: string })?.name === "TransactionConflictException") return true;
  return !isConditionFailure(err) && cancelledFor(err, TRANSIENT_CANCELLATIONS);
}

/** A short jittered wait before another attempt: the conflicting transaction ends meanwhile. */
export const conflictPause = (attempt: number) =>
  defaultSleep(Math.floor(Math.random() * 25 * 2 ** attempt));

/** `write`, made again while DynamoDB refuses it for a transaction in progress on its items. */
export async function throughConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isTransactionConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      await conflictPause(attempt);
    }
  }
}

/**
 * Pauses before a transaction answered as in progress is sent again. DynamoDB recovers a first
 * attempt stopped part way once 5 s have passed since it began; the SDK's own attempts (it
 * retries this error as throttling) may all end within one second, so the pauses alone reach 7 s.
 */
export const IN_PROGRESS_PAUSES_MS = [1_000, 2_000, 4_000];

/**
 * Sends one transaction under a client token of its own, and again under the same token while
 * DynamoDB answers TransactionInProgressException. After a lost answer (a dropped connection, a
 * timeout) the SDK sends the request again with its token, which DynamoDB answers with the first
 * attempt's outcome, or, while that attempt still runs, with TransactionInProgressException;
 * the SDK's attempts run out first, and thrown, a change that landed was reported as failed. A
 * new command would carry a new token and fail its conditions on the first attempt's writes.
 */
export async function sendTransaction(
  doc: DynamoDBDocumentClient,
  input: Omit<TransactWriteCommandInput, "ClientRequestToken">,
): Promise<TransactWriteCommandOutput> {
  const command = { ...input, ClientRequestToken: randomUUID() };
  for (let attempt = 0; ; attempt++) {
    try {
      return await doc.send(new TransactWriteCommand(command));
    } catch (err) {
      const pause = IN_PROGRESS_PAUSES_MS[attempt];
      const inProgress = (err as { name?: string })?.name === "TransactionInProgressException";
      if (!inProgress || pause === undefined) throw err;
      await defaultSleep(pause);
    }
  }
}

/** Strips the table's own attributes from an item. */
export function withoutKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, kind: _kind, kindSk: _kindSk, ...rest } = item;
  return rest as T;
}

/** One item by key, read consistently, without the table's own attributes. */
export async function getItem<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, string>,
): Promise<T | undefined> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
  );
  return out.Item ? withoutKeys<T>(out.Item) : undefined;
}
