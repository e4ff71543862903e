// The counts of a running export in DynamoDB: one item per export (keys.exportProgress), flat
// number attributes so a copy batch adds its shard's counts with one UpdateItem ADD, no read.
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { keys, TTL_ATTRIBUTE } from "../../shared/dynamodb/table";
import type { PlanCounts } from "../domain/plan";
import {
  type CopiedCounts,
  EXPORT_PROGRESS_TTL_SECONDS,
  type ExportProgress,
} from "../domain/progress";
import type { ExportProgressStore } from "../ports";

const expiry = (now: Date) => Math.floor(now.getTime() / 1000) + EXPORT_PROGRESS_TTL_SECONDS;
const countValues = (c: CopiedCounts) => ({
  ":s": c.shards,
  ":c": c.copied,
  ":d": c.deleted,
  ":b": c.copiedBytes,
  ":f": c.failed,
});
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export class DynamoExportProgressStore implements ExportProgressStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async recordPlan(exportId: string, planned: PlanCounts, planDone: boolean, now: Date) {
    await this.update(
      exportId,
      "SET plannedCopies = :c, plannedDeletes = :d, plannedKeeps = :k, plannedCopyBytes = :b, plannedShards = :s, planDone = :done",
      {
        ":c": planned.copies,
        ":d": planned.deletes,
        ":k": planned.keeps ?? 0,
        ":b": planned.copyBytes,
        ":s": planned.shards,
        ":done": planDone,
      },
      now,
    );
  }

  async addCopied(exportId: string, counts: CopiedCounts, now: Date) {
    await this.update(
      exportId,
      "ADD doneShards :s, copied :c, deleted :d, copiedBytes :b, failed :f",
      countValues(counts),
      now,
    );
  }

  async recordFinal(exportId: string, counts: CopiedCounts, now: Date) {
    await this.update(
      exportId,
      "SET doneShards = :s, copied = :c, deleted = :d, copiedBytes = :b, failed = :f, countsFinal = :true",
      { ...countValues(counts), ":true": true },
      now,
    );
  }

  /** One UpdateItem of the export's progress item; every change also sets its time and expiry. */
  private async update(
    exportId: string,
    expression: string,
    values: Record<string, unknown>,
    now: Date,
  ) {
    // SET clauses are joined with a comma; an ADD-only expression takes its own SET clause.
    const stamp = "updatedAt = :now, #ttl = :ttl";
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.exportProgress(exportId),
        UpdateExpression: expression.startsWith("SET ")
          ? `${expression}, ${stamp}`
          : `${expression} SET ${stamp}`,
        ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ...values, ":now": now.toISOString(), ":ttl": expiry(now) },
      }),
    );
  }

  async getProgress(exportId: string): Promise<ExportProgress | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.exportProgress(exportId),
        // What the status step recorded last, not an older copy of the item.
        ConsistentRead: true,
      }),
    );
    const i = out.Item;
    if (!i) return undefined;
    const keeps = num(i.plannedKeeps);
    return {
      exportId,
      planned: {
        copies: num(i.plannedCopies),
        deletes: num(i.plannedDeletes),
        ...(keeps > 0 ? { keeps } : {}),
        copyBytes: num(i.plannedCopyBytes),
        shards: num(i.plannedShards),
      },
      planDone: i.planDone === true,
      done: {
        shards: num(i.doneShards),
        copied: num(i.copied),
        deleted: num(i.deleted),
        copiedBytes: num(i.copiedBytes),
        failed: num(i.failed),
      },
      ...(i.countsFinal === true ? { final: true } : {}),
      updatedAt: typeof i.updatedAt === "string" ? i.updatedAt : "",
    };
  }
}
