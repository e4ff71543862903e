// GC rules per repository, GC run records and mark records in DynamoDB. A mark record (one
// per mark id) lets a sweep-only run check that its mark id belongs to a successful mark.
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  conflictPause,
  getItem,
  isConditionFailure,
  isTransactionConflict,
  sendTransaction,
  throughConflicts,
  withoutKeys,
} from "../../shared/dynamodb/document-client";
import { GC_RUN_SK_PREFIX, keys } from "../../shared/dynamodb/table";
import { LeaseLostError } from "../domain/lease";
import {
  restoreWait,
  SWEEP_FUNCTION_TIMEOUT_SECONDS,
  settledBefore,
} from "../domain/restore-after-sweep";
import type { GcRules } from "../domain/rules";
import type { GcLease, GcMark, GcRun, GcRunCounts } from "../domain/run-records";
import type {
  GcRunPage,
  GcRunStart,
  GcRunStartResult,
  GcStateStore,
  RetireOutcome,
} from "../ports";
import { retireCondition } from "./retire-condition";

export class GcStore implements GcStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getRules(repository: string): Promise<GcRules | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.gcRules(repository),
        ConsistentRead: true,
      }),
    );
    return out.Item ? (out.Item.rules as GcRules) : undefined;
  }

  async putRules(repository: string, rules: GcRules, now: string): Promise<void> {
    // A deletion of the rules (deleteRules) holds the item in its transaction for a moment.
    await throughConflicts(() =>
      this.doc.send(
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
      ),
    );
  }

  /**
   * Whether there were rules to delete. A one-item transaction, not a DeleteItem: when the
   * answer is lost (a dropped connection, a timeout) the SDK sends the request again, and a
   * second DeleteItem finds nothing, so rules just deleted would be answered as never there.
   * The SDK sends a transaction again with the same ClientRequestToken, which DynamoDB answers
   * as the first attempt's success.
   */
  async deleteRules(repository: string): Promise<boolean> {
    try {
      // A put of the rules at the same moment makes DynamoDB cancel it (no condition failed).
      await throughConflicts(() =>
        sendTransaction(this.doc, {
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: keys.gcRules(repository),
                ConditionExpression: "attribute_exists(pk)",
              },
            },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async getMark(repository: string, markId: string): Promise<GcMark | undefined> {
    return getItem<GcMark>(this.doc, this.tableName, keys.gcMark(repository, markId));
  }

  async getLease(repository: string): Promise<GcLease | undefined> {
    return getItem<GcLease>(this.doc, this.tableName, keys.gcLease(repository));
  }

  /**
   * Starts a run atomically: takes the repository's GC lease (free, or expired), creates the
   * run record, and the mark record (a marking run, new mark id) or claims the mark for
   * sweeping (a sweep-only run: a successful mark not swept and not retired). When the lease
   * was taken over from a run that died without ending, that run is recorded as failed.
   */
  async createRun(run: GcRun, start: GcRunStart): Promise<GcRunStartResult> {
    // A run's end takes the lease in a transaction too: DynamoDB cancels one of two that meet.
    return throughConflicts(() => this.tryCreateRun(run, start));
  }

  private async tryCreateRun(run: GcRun, start: GcRunStart): Promise<GcRunStartResult> {
    const previous = await this.getLease(run.repository);
    const expiresAt = start.nowSeconds + start.leaseSeconds;
    const lease = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.gcLease(run.repository),
          kind: "gc-lease",
          kindSk: run.repository,
          repository: run.repository,
          runId: run.runId,
          acquiredAt: run.startedAt,
          leaseExpiresAt: expiresAt,
          // DynamoDB's TTL sweeper removes long-expired leases.
          expiresAt: expiresAt + 86_400,
        },
        ConditionExpression: "attribute_not_exists(pk) OR leaseExpiresAt < :now",
        ExpressionAttributeValues: { ":now": start.nowSeconds },
      },
    };
    const runItem = { Put: this.newRunPut(run) };
    const markItem = start.mark
      ? {
          Put: {
            TableName: this.tableName,
            Item: {
              ...keys.gcMark(run.repository, run.markId),
              kind: "gc-mark",
              kindSk: `${run.repository}#${run.markId}`,
              repository: run.repository,
              markId: run.markId,
              runId: run.runId,
              status: "running",
              ...start.mark,
            },
            ConditionExpression: "attribute_not_exists(pk)",
          },
        }
      : start.sweepsMark
        ? {
            Update: {
              TableName: this.tableName,
              Key: keys.gcMark(run.repository, run.markId),
              UpdateExpression: "SET sweepRunId = :run, sweepStatus = :running REMOVE sweptAt",
              ConditionExpression: `attribute_exists(pk) AND #s = :succeeded AND ${NOT_SWEPT_OR_RETIRED}`,
              ExpressionAttributeNames: { "#s": "status" },
              ExpressionAttributeValues: {
                ":run": run.runId,
                ":running": "running",
                ":succeeded": "succeeded",
              },
            },
          }
        : undefined;
    const items = [lease, runItem, ...(markItem ? [markItem] : [])];
    try {
      await sendTransaction(this.doc, { TransactItems: items });
    } catch (err) {
      const failed = cancelledItems(err);
      if (failed === undefined) throw err;
      if (failed.includes(0)) {
        return { created: false, reason: "lease", holder: await this.getLease(run.repository) };
      }
      if (failed.includes(1)) return { created: false, reason: "run-exists" };
      return {
        created: false,
        reason: start.mark ? "mark-id-taken" : "mark-not-sweepable",
      };
    }
    const tookOverFrom =
      previous && previous.runId !== run.runId && previous.leaseExpiresAt < start.nowSeconds
        ? previous
        : undefined;
    if (tookOverFrom) {
      await this.completeRun(
        run.repository,
        tookOverFrom.runId,
        {
          status: "failed",
          errorMessage: `the run stopped without ending: its lease expired at ${new Date(tookOverFrom.leaseExpiresAt * 1000).toISOString()} and run ${run.runId} took the repository over`,
        },
        run.startedAt,
        { keepLease: true },
      );
    }
    return { created: true, run, ...(tookOverFrom ? { tookOverFrom } : {}) };
  }

  /**
   * Records a scheduled start that found the repository busy (no lease, no mark). Its run id
   * is new: a record found under it is this skip's own, written by an attempt whose answer was
   * lost (the SDK then sends the put again, which fails its condition).
   */
  async recordSkippedRun(run: GcRun): Promise<void> {
    try {
      await this.doc.send(new PutCommand(this.newRunPut(run)));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const stored = await this.getRun(run.repository, run.runId);
      if (stored?.status !== run.status || stored.startedAt !== run.startedAt) throw err;
    }
  }

  /** The put of a new run record (refused when the run id exists). */
  private newRunPut(run: GcRun) {
    return {
      TableName: this.tableName,
      Item: { ...keys.gcRun(run.repository, run.runId), kind: "gc-run", kindSk: run.runId, ...run },
      ConditionExpression: "attribute_not_exists(pk)",
    };
  }

  /**
   * Extends the run's lease. Throws LeaseLostError when another run holds it (the lease
   * expired and was taken over) or when it has expired: a run whose lease ran out is taken
   * for dead (its mark can be retired, the repository taken over), so it must stop before it
   * touches anything else.
   */
  async renewLease(
    repository: string,
    runId: string,
    nowSeconds: number,
    leaseSeconds: number,
  ): Promise<void> {
    const expiresAt = nowSeconds + leaseSeconds;
    try {
      // A start refused for the lease holds the item in its transaction for a moment.
      await throughConflicts(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.gcLease(repository),
            UpdateExpression: "SET leaseExpiresAt = :e, expiresAt = :ttl",
            ConditionExpression: "runId = :run AND leaseExpiresAt >= :now",
            ExpressionAttributeValues: {
              ":e": expiresAt,
              ":ttl": expiresAt + 86_400,
              ":run": runId,
              ":now": nowSeconds,
            },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const holder = await this.getLease(repository);
      const why =
        holder?.runId === runId
          ? ` (it expired at ${new Date(holder.leaseExpiresAt * 1000).toISOString()})`
          : holder
            ? ` to run ${holder.runId}`
            : "";
      throw new LeaseLostError(
        `GC run ${runId} lost the lease of repository "${repository}"${why}: it stops here`,
      );
    }
  }

  /** Gives the repository back; a no-op when another run holds the lease. */
  async releaseLease(repository: string, runId: string): Promise<void> {
    try {
      await throughConflicts(() =>
        this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: keys.gcLease(repository),
            ConditionExpression: "runId = :run",
            ExpressionAttributeValues: { ":run": runId },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * The mark phase of `runId` ended well: the mark can be swept from now on. A mark this run
   * already ended well counts as ended: when the update's answer is lost (a dropped connection,
   * a timeout) the SDK sends it again and the second attempt fails its condition on the mark the
   * first one ended; the run must not fail for its own write.
   */
  async endMark(
    repository: string,
    markId: string,
    runId: string,
    end: { partitions: number; markedAt: string },
  ): Promise<void> {
    try {
      // A sweep-only start of this mark, refused, holds it in its transaction for a moment.
      await throughConflicts(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.gcMark(repository, markId),
            UpdateExpression: "SET #s = :succeeded, #p = :p, markedAt = :at",
            ConditionExpression: "runId = :run AND #s = :running",
            ExpressionAttributeNames: { "#s": "status", "#p": "partitions" },
            ExpressionAttributeValues: {
              ":succeeded": "succeeded",
              ":running": "running",
              ":p": end.partitions,
              ":at": end.markedAt,
              ":run": runId,
            },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Only this run's own update sets its mark succeeded (the condition names the run).
      const mark = await this.getMark(repository, markId);
      if (mark?.runId !== runId || mark.status !== "succeeded") throw err;
    }
  }

  /**
   * The sweep of `runId` starts: the mark must be a successful one, not swept and not retired
   * (checked atomically with the claim). Returns the mark, or undefined when it refused.
   */
  async beginSweep(repository: string, markId: string, runId: string): Promise<GcMark | undefined> {
    try {
      const out = await throughConflicts(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.gcMark(repository, markId),
            UpdateExpression: "SET sweepRunId = :run, sweepStatus = :running",
            ConditionExpression: `attribute_exists(pk) AND #s = :succeeded AND ${NOT_SWEPT_OR_RETIRED}`,
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: {
              ":run": runId,
              ":running": "running",
              ":succeeded": "succeeded",
            },
            ReturnValues: "ALL_NEW",
          }),
        ),
      );
      return withoutKeys<GcMark>(out.Attributes ?? {});
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  /**
   * A restore put the mark's objects back: the mark is never swept again. Refused while a
   * live run sweeps it (a sweep running next to a restore would delete restored objects), and
   * for `settleSeconds` after a sweep of it ended (restore-after-sweep.ts).
   */
  async retireMark(
    repository: string,
    markId: string,
    reason: string,
    now: { iso: string; seconds: number },
    settleSeconds = SWEEP_FUNCTION_TIMEOUT_SECONDS,
  ): Promise<RetireOutcome | undefined> {
    const mark = await this.getMark(repository, markId);
    if (!mark) return undefined;
    const wait = restoreWait(mark, now.seconds, settleSeconds);
    if (wait && mark.sweepStatus !== "running") return { settling: wait };
    let staleSweep: string | undefined;
    if (mark.sweepStatus === "running" && mark.sweepRunId) {
      const lease = await this.getLease(repository);
      if (lease && lease.runId === mark.sweepRunId && lease.leaseExpiresAt >= now.seconds) {
        return { sweeping: mark.sweepRunId };
      }
      staleSweep = mark.sweepRunId;
    }
    const condition = retireCondition(
      staleSweep,
      settleSeconds > 0 ? settledBefore(now.seconds, settleSeconds) : undefined,
    );
    try {
      // A sweep's claim or a run's end may hold the mark in a transaction for a moment.
      const out = await throughConflicts(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.gcMark(repository, markId),
            UpdateExpression:
              "SET retiredAt = if_not_exists(retiredAt, :at), retiredReason = if_not_exists(retiredReason, :why)",
            ConditionExpression: condition.expression,
            ExpressionAttributeValues: { ":at": now.iso, ":why": reason, ...condition.values },
            ReturnValues: "ALL_NEW",
          }),
        ),
      );
      return { retired: withoutKeys<GcMark>(out.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // A sweep started (or started and ended) in between: report it.
      const now2 = await this.getMark(repository, markId);
      const settling = now2 && restoreWait(now2, now.seconds, settleSeconds);
      if (settling && now2?.sweepStatus !== "running") return { settling };
      return { sweeping: now2?.sweepRunId ?? "(unknown)" };
    }
  }

  async getRun(repository: string, runId: string): Promise<GcRun | undefined> {
    return getItem<GcRun>(this.doc, this.tableName, keys.gcRun(repository, runId));
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
        // One more than asked: DynamoDB gives a LastEvaluatedKey whenever it stops at the
        // limit, more runs or not (a full last page would say there were more).
        Limit: opts.limit + 1,
        ...(opts.after ? { ExclusiveStartKey: keys.gcRun(repository, opts.after) } : {}),
      }),
    );
    const items = out.Items ?? [];
    const runs = items.slice(0, opts.limit).map((i) => withoutKeys<GcRun>(i));
    const more = items.length > opts.limit || out.LastEvaluatedKey !== undefined;
    const last = runs[runs.length - 1];
    return { runs, ...(more && last ? { nextAfter: last.runId } : {}) };
  }

  async recordExecution(repository: string, runId: string, executionArn: string): Promise<void> {
    // The run's own start or end may hold the run item in a transaction for a moment.
    await throughConflicts(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.gcRun(repository, runId),
          UpdateExpression: "SET executionArn = :arn",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":arn": executionArn },
        }),
      ),
    );
  }

  /**
   * Ends a run (the GC workflow's summary step, or a start that failed): only a running run
   * changes. Its mark follows: a marking run whose mark phase had not ended leaves a failed
   * mark; a sweeping run records the sweep's outcome on its mark. The lease is released
   * whatever the outcome (unless keepLease: a takeover ends the old run under the new lease).
   * Returns false if the run was not running.
   */
  async completeRun(
    repository: string,
    runId: string,
    end: { status: "succeeded" | "failed"; counts?: GcRunCounts; errorMessage?: string },
    now: string,
    opts: { keepLease?: boolean } = {},
  ): Promise<boolean> {
    // One transaction: whoever reads the run as ended also finds its mark updated and the
    // repository free (a start right after the end is never refused by a lease still held).
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = await this.getRun(repository, runId);
      const lease = opts.keepLease ? undefined : await this.getLease(repository);
      const holdsLease = lease?.runId === runId;
      if (run?.status !== "running") {
        if (holdsLease) await this.releaseLease(repository, runId);
        return false;
      }
      const mark = await this.getMark(repository, run.markId);
      const items: NonNullable<
        ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]
      > = [
        {
          Update: {
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
          },
        },
      ];
      const markUpdate = markEnd(run, mark, runId, end.status, now);
      if (markUpdate) {
        items.push({
          Update: {
            TableName: this.tableName,
            Key: keys.gcMark(repository, run.markId),
            ...markUpdate,
          },
        });
      }
      if (holdsLease) {
        items.push({
          Delete: {
            TableName: this.tableName,
            Key: keys.gcLease(repository),
            ConditionExpression: "runId = :run",
            ExpressionAttributeValues: { ":run": runId },
          },
        });
      }
      try {
        await sendTransaction(this.doc, { TransactItems: items });
        return true;
      } catch (err) {
        // Something changed between the reads and the write (a takeover, a mark update), or
        // DynamoDB cancelled it for a transaction in progress on the same items (a start
        // taking the lease): read again and decide again.
        const conflict = isTransactionConflict(err);
        if (cancelledItems(err) === undefined && !conflict) throw err;
        if (conflict) await conflictPause(attempt + 1);
      }
    }
    throw new Error(
      `GC run ${runId} of "${repository}" could not be ended: its records kept changing`,
    );
  }
}

/**
 * How a run's end changes its mark: a marking run whose mark phase had not ended leaves the
 * mark with the run's status; a sweeping run records the sweep's outcome. Undefined: no change.
 */
function markEnd(
  run: GcRun,
  mark: GcMark | undefined,
  runId: string,
  status: "succeeded" | "failed",
  now: string,
) {
  const sets: string[] = [];
  const conditions: string[] = ["attribute_exists(pk)"];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":run": runId };
  if (run.mode !== "sweep-only" && mark?.runId === runId && mark.status === "running") {
    sets.push("#ms = :ms");
    conditions.push("runId = :run AND #ms = :running");
    names["#ms"] = "status";
    Object.assign(values, { ":ms": status, ":running": "running" });
  }
  if (run.mode !== "mark-only" && mark?.sweepRunId === runId) {
    sets.push("sweepStatus = :ss, sweptAt = :now");
    conditions.push("sweepRunId = :run");
    Object.assign(values, { ":ss": status, ":now": now });
  }
  if (sets.length === 0) return undefined;
  return {
    UpdateExpression: `SET ${sets.join(", ")}`,
    ConditionExpression: conditions.join(" AND "),
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ExpressionAttributeValues: values,
  };
}

/** A mark not yet swept to the end and not retired. */
const NOT_SWEPT_OR_RETIRED =
  "(attribute_not_exists(sweepStatus) OR sweepStatus <> :succeeded) AND attribute_not_exists(retiredAt)";

/** Indexes of the items whose condition failed in a cancelled transaction; undefined otherwise. */
function cancelledItems(err: unknown): number[] | undefined {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== "TransactionCanceledException") return undefined;
  const reasons = e.CancellationReasons ?? [];
  const failed: number[] = [];
  reasons.forEach((r, i) => {
    if (r.Code === "ConditionalCheckFailed") failed.push(i);
  });
  return failed.length > 0 ? failed : undefined;
}
