// GC backup location claims in DynamoDB (keys.gcBackupLocation): one partition for every
// repository, so that an export configuration change reads them all strongly consistently.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { isConditionFailure, queryPages, withoutKeys } from "../../shared/dynamodb/document-client";
import { GC_BACKUPS_PK, keys } from "../../shared/dynamodb/table";
import type { BackupLocationClaims } from "../app/backup-location-claim";
import type { BackupLocationClaim } from "../domain/backup-location-claims";

/** Puts of a claim released each time between its put and its update (then an error). */
const MAX_CLAIM_ATTEMPTS = 5;

export class BackupLocationStore implements BackupLocationClaims {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Created (a put where there was none), or found: then the newest mark is recorded on it and
   * it takes this call's token, so that a call which created it and withdraws it after a
   * failed re-check (release with its token) no longer removes a claim another backup relied
   * on meanwhile. A put whose answer was lost (the SDK sends it again and finds its own item)
   * is answered as created; a claim released between the put and the update is put again.
   */
  async claim(claim: BackupLocationClaim): Promise<"created" | "existing"> {
    const key = keys.gcBackupLocation(claim.repository, claim.location);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, ...claim },
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return "created";
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        const old = (err as { Item?: { claimToken?: { S?: string } } }).Item;
        if (old?.claimToken?.S === claim.claimToken) return "created";
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: "SET markId = :m, claimedAt = :t, claimToken = :token",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeValues: {
              ":m": claim.markId,
              ":t": claim.claimedAt,
              ":token": claim.claimToken,
            },
          }),
        );
        return "existing";
      } catch (err) {
        if (!isConditionFailure(err) || attempt >= MAX_CLAIM_ATTEMPTS) throw err;
      }
    }
  }

  async release(repository: string, location: string, claimToken?: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.gcBackupLocation(repository, location),
          ConditionExpression:
            claimToken === undefined
              ? "attribute_exists(pk)"
              : "attribute_exists(pk) AND claimToken = :token",
          ...(claimToken === undefined
            ? {}
            : { ExpressionAttributeValues: { ":token": claimToken } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  list(): AsyncIterable<BackupLocationClaim[]> {
    return this.query();
  }

  /** One repository's claims, in location order. */
  listOfRepository(repository: string): AsyncIterable<BackupLocationClaim[]> {
    return this.query(`${repository}#`);
  }

  /**
   * Up to `limit` claims of `repository` in location order, after the location `after`;
   * `nextAfter` (the last one's location) when there are more. One more than the page is
   * asked for: DynamoDB's LastEvaluatedKey at its limit does not tell whether more follow.
   */
  async pageOfRepository(
    repository: string,
    opts: { limit: number; after?: string },
  ): Promise<{ claims: BackupLocationClaim[]; nextAfter?: string }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues: { ":pk": GC_BACKUPS_PK, ":sk": `${repository}#` },
        ...(opts.after !== undefined
          ? { ExclusiveStartKey: keys.gcBackupLocation(repository, opts.after) }
          : {}),
        ConsistentRead: true,
        Limit: opts.limit + 1,
      }),
    );
    const claims = (out.Items ?? []).map((i) => withoutKeys<BackupLocationClaim>(i));
    if (claims.length <= opts.limit) return { claims };
    const page = claims.slice(0, opts.limit);
    return { claims: page, nextAfter: page[page.length - 1]!.location };
  }

  private async *query(skPrefix?: string, pageSize = 500): AsyncIterable<BackupLocationClaim[]> {
    const pages = queryPages(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression:
        skPrefix === undefined ? "pk = :pk" : "pk = :pk AND begins_with(sk, :sk)",
      ExpressionAttributeValues: {
        ":pk": GC_BACKUPS_PK,
        ...(skPrefix === undefined ? {} : { ":sk": skPrefix }),
      },
      ConsistentRead: true,
      Limit: pageSize,
    });
    for await (const items of pages) yield items.map((i) => withoutKeys<BackupLocationClaim>(i));
  }
}
