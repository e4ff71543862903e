// Dedupe records for webhook deliveries: a conditional put claims a delivery key; a repeated
// delivery finds it taken. Records expire through DynamoDB TTL.
import { randomUUID } from "node:crypto";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
import { isConditionFailure } from "../shared/dynamodb/document-client";
import { keys, TTL_ATTRIBUTE } from "../shared/dynamodb/table";

export const WEBHOOK_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

export class WebhookDeliveryStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * True if this call claimed the key (first delivery), false for a repeat. The record carries
   * a token of this call: when the put's answer is lost (a dropped connection, a timeout) the SDK
   * sends it again, and the second attempt fails its condition on the record the first one
   * wrote. Read back, the token tells this call's own claim from another delivery's; without
   * it the delivery would be answered as a repeat and its event never published.
   */
  async claim(deliveryKey: string, nowEpochSeconds: number): Promise<boolean> {
    const claimToken = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.webhookDelivery(deliveryKey),
            receivedAt: nowEpochSeconds,
            claimToken,
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
      if (!isConditionFailure(err)) throw err;
    }
    const held = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.webhookDelivery(deliveryKey),
        ConsistentRead: true,
      }),
    );
    return held.Item?.claimToken === claimToken;
  }

  /** Gives a key back when publishing failed, so lakeFS's retry is not dropped as a repeat. */
  async release(deliveryKey: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.webhookDelivery(deliveryKey) }),
    );
  }
}
