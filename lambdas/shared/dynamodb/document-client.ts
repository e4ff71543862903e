import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";

export function documentClient(ddb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(ddb, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function isConditionFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === "ConditionalCheckFailedException" || name === "TransactionCanceledException";
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
