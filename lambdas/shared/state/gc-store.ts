// GC rules per repository, GC run records and mark records. A mark record (one per mark id)
// lets a sweep-only run check that its mark id belongs to a successful mark.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { GcMode } from "../../gc/workflow-input";
import type { GarbageCollectionRules } from "../../lakefs/types";
import { isConditionFailure, withoutKeys } from "./document-client";
import { GC_RUN_SK_PREFIX, keys } from "./table";

export type GcRunStatus = "running" | "succeeded" | "failed";

export interface GcRunCounts {
  commitsConsidered?: number;
  expiredCommits?: number;
  markedAddresses?: number;
  deletedObjects?: number;
  failedDeletes?: number;
}

export interface GcRun {
  repository: string;
  runId: string;
  mode: GcMode;
  markId: string;
  status: GcRunStatus;
  counts: GcRunCounts;
  startedAt: string;
  endedAt?: string;
  executionArn?: string;
  errorMessage?: string;
  /** The repository's storage namespace when the run started (GC backup/restore read it). */
  storageNamespace?: string;
}

export interface GcMark {
  repository: string;
  markId: string;
  runId: string;
  status: GcRunStatus;
}

export interface GcRunPage {
  runs: GcRun[];
  /** Pass as `after` to get the next (older) page. */
  nextAfter?: string;
}

export class GcStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getRules(repository: string): Promise<GarbageCollectionRules | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.gcRules(repository),
        ConsistentRead: true,
      }),
    );
    return out.Item ? (out.Item.rules as GarbageCollectionRules) : undefined;
  }

  async putRules(repository: string, rules: GarbageCollectionRules, now: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.gcRules(repository),
          kind: "gc-rules",
          kindSk: repository,
          repository,
          rules,
          updatedAt: now,
        },
      }),
    );
  }

  async deleteRules(repository: string): Promise<boolean> {
    const out = await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: keys.gcRules(repository),
        ReturnValues: "ALL_OLD",
      }),
    );
    return out.Attributes !== undefined;
  }

  async getMark(repository: string, markId: string): Promise<GcMark | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.gcMark(repository, markId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? withoutKeys<GcMark>(out.Item) : undefined;
  }

  /**
   * Creates the run record and, when the run marks, its mark record - atomically, and only if
   * the mark id is new. Returns false when the mark id is already taken.
   */
  async createRun(run: GcRun, createsMark: boolean): Promise<boolean> {
    const runItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.gcRun(run.repository, run.runId),
          kind: "gc-run",
          kindSk: run.runId,
          ...run,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    };
    const markItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.gcMark(run.repository, run.markId),
          kind: "gc-mark",
          kindSk: `${run.repository}#${run.markId}`,
          repository: run.repository,
          markId: run.markId,
          runId: run.runId,
          status: run.status,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    };
    try {
      await this.doc.send(
        new TransactWriteCommand({ TransactItems: createsMark ? [runItem, markItem] : [runItem] }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getRun(repository: string, runId: string): Promise<GcRun | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.gcRun(repository, runId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? withoutKeys<GcRun>(out.Item) : undefined;
  }

  /** Runs of a repository, newest first. */
  async listRuns(repository: string, opts: { limit: number; after?: string }): Promise<GcRunPage> {
    const pk = keys.repoPartition(repository);
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": pk, ":prefix": GC_RUN_SK_PREFIX },
        ScanIndexForward: false,
        Limit: opts.limit,
        ...(opts.after ? { ExclusiveStartKey: keys.gcRun(repository, opts.after) } : {}),
      }),
    );
    const runs = (out.Items ?? []).map((i) => withoutKeys<GcRun>(i));
    const last = runs[runs.length - 1];
    return { runs, ...(out.LastEvaluatedKey && last ? { nextAfter: last.runId } : {}) };
  }

  async recordExecution(repository: string, runId: string, executionArn: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.gcRun(repository, runId),
        UpdateExpression: "SET executionArn = :arn",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":arn": executionArn },
      }),
    );
  }

  /**
   * Ends a run (called by the GC workflow's finish step, or when its start fails). Only a
   * running run changes; the mark record follows the run's status. Returns false if the run
   * was not running.
   */
  async completeRun(
    repository: string,
    runId: string,
    end: { status: "succeeded" | "failed"; counts?: GcRunCounts; errorMessage?: string },
    now: string,
  ): Promise<boolean> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.gcRun(repository, runId),
          UpdateExpression:
            "SET #s = :s, endedAt = :now, counts = :c" +
            (end.errorMessage ? ", errorMessage = :e" : ""),
          ConditionExpression: "#s = :running",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: {
            ":s": end.status,
            ":now": now,
            ":c": end.counts ?? {},
            ":running": "running",
            ...(end.errorMessage ? { ":e": end.errorMessage } : {}),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      const run = out.Attributes as GcRun | undefined;
      if (run && run.mode !== "sweep-only") {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.gcMark(repository, run.markId),
            UpdateExpression: "SET #s = :s",
            ConditionExpression: "attribute_exists(pk) AND runId = :run",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: { ":s": end.status, ":run": runId },
          }),
        );
      }
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
