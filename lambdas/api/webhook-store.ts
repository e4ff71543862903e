// Dedupe records for webhook deliveries: a conditional put claims a delivery key; a repeated
// delivery finds it taken. Records expire through DynamoDB TTL.
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure } from "../shared/dynamodb/document-client";
import { keys, TTL_ATTRIBUTE } from "../shared/dynamodb/table";

export const WEBHOOK_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

export class WebhookDeliveryStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** True if this call claimed the key (first delivery), false for a repeat. */
  async claim(deliveryKey: string, nowEpochSeconds: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.webhookDelivery(deliveryKey),
            receivedAt: nowEpochSeconds,
            [TTL_ATTRIBUTE]: nowEpochSeconds + WEBHOOK_DEDUPE_TTL_SECONDS,
          },
          // An expired record not yet swept by TTL does not count.
          ConditionExpression: "attribute_not_exists(pk) OR #ttl < :now",
          ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ":now": nowEpochSeconds },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Gives a key back when publishing failed, so lakeFS's retry is not dropped as a repeat. */
  async release(deliveryKey: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.webhookDelivery(deliveryKey) }),
    );
  }
}
