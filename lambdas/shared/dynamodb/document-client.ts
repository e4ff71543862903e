import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { defaultSleep } from "../retry";

export function documentClient(ddb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(ddb, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function isConditionFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === "ConditionalCheckFailedException" || name === "TransactionCanceledException";
}

/** Attempts of a write DynamoDB cancels for a transaction in progress on its items. */
export const CONFLICT_ATTEMPTS = 5;

/**
 * DynamoDB refused the write because a transaction was in progress on one of its items: a
 * transaction cancelled with reason TransactionConflict, or a single write's
 * TransactionConflictException (DynamoDB Local runs transactions one at a time and never
 * does). No condition failed: the same write may succeed a moment later.
 */
export function isTransactionConflict(err: unknown): boolean {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name === "TransactionConflictException") return true;
  return (
    e?.name === "TransactionCanceledException" &&
    (e.CancellationReasons ?? []).some((r) => r.Code === "TransactionConflict")
  );
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
