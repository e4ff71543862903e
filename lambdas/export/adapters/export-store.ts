// Export configuration and export state per (repository, branch) in DynamoDB. Every state
// change is a conditional write: either on the item's `version` (read-decide-write with the
// pure rules of lambdas/export/domain/transitions.ts) or on the exact state/exportId the change
// applies to. The state's commitId is stored as `currentRef`, the attribute name items have
// always had.
import { randomUUID } from "node:crypto";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  getItem,
  isConditionFailure,
  queryPages,
  sendTransaction,
  throughConflicts,
  withoutKeys,
} from "../../shared/dynamodb/document-client";
import { type ExportPathClaim, listExportPathClaims } from "../../shared/dynamodb/export-paths";
import { KIND_INDEX, keys } from "../../shared/dynamodb/table";
import type { ExportConfig } from "../domain/export-config";
import type { ExportState } from "../domain/export-state";
import { decideDone } from "../domain/transitions";
import type {
  BranchExportState,
  CompleteExportInput,
  CompleteExportResult,
  ExportStateStore,
} from "../ports";

export type { ExportPathClaim };

const MAX_CAS_ATTEMPTS = 10;

/** What tells one stored configuration from the next (every write sets updatedAt). */
const CONFIG_IDENTITY = ["updatedAt", "exportPath", "configVersion"] as const;

/** A condition that the stored item still has `item`'s values of `names` (absent ones absent). */
function sameAs<T extends object>(item: T, names: readonly (keyof T & string)[]) {
  const values: Record<string, unknown> = {};
  const parts = names.map((name) => {
    const value = item[name];
    if (value === undefined) return `attribute_not_exists(${name})`;
    values[`:${name}`] = value;
    return `${name} = :${name}`;
  });
  return {
    ConditionExpression: parts.join(" AND "),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}

export class ExportStore implements ExportStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getConfig(repository: string, branch: string): Promise<ExportConfig | undefined> {
    return getItem<ExportConfig>(this.doc, this.tableName, keys.exportConfig(repository, branch));
  }

  async putConfig(config: ExportConfig): Promise<void> {
    await sendTransaction(this.doc, {
      TransactItems: [{ Put: this.configPut(config) }, { Put: this.claimPut(config) }],
    });
  }

  /**
   * Stores `config` only if the stored configuration is still `previous` (none: still absent),
   * so that two changes made at once cannot both be stored under one version. Returns whether
   * it was stored. Its path claim is written with it (listPathClaims). With `idleAt`, also only
   * if the branch's export cannot be writing to its paths at that time (path-hold.ts).
   */
  async replaceConfig(
    config: ExportConfig,
    previous: ExportConfig | undefined,
    opts: { idleAt?: string } = {},
  ): Promise<boolean> {
    try {
      await this.transact([
        {
          Put: {
            ...this.configPut(config),
            ...(previous
              ? sameAs(previous, CONFIG_IDENTITY)
              : { ConditionExpression: "attribute_not_exists(pk)" }),
          },
        },
        { Put: this.claimPut(config) },
        ...(opts.idleAt !== undefined
          ? [{ ConditionCheck: this.idleCheck(config.repository, config.branch, opts.idleAt) }]
          : []),
      ]);
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * One transaction, sent again while DynamoDB cancels it for another one in progress on its
   * items (an export start checks the configuration in its own): no condition failed, so
   * answering "changed meanwhile" would be wrong, and a rollback would be dropped.
   */
  private async transact(
    items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]>,
  ): Promise<void> {
    await throughConflicts(() => sendTransaction(this.doc, { TransactItems: items }));
  }

  /**
   * Puts `previous` back (none: deletes) in place of `stored`, unless the configuration has
   * changed again since `stored` was written.
   */
  async restoreConfig(stored: ExportConfig, previous: ExportConfig | undefined): Promise<void> {
    if (previous) {
      await this.replaceConfig(previous, stored);
      return;
    }
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: keys.exportConfig(stored.repository, stored.branch),
            ...sameAs(stored, CONFIG_IDENTITY),
          },
        },
        { Delete: this.claimDelete(stored.repository, stored.branch) },
      ]);
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * Deletes the configuration and its path claim unless the branch's export may still be
   * writing to its paths at `now` (path-hold.ts): "busy" then, "missing" when there was none.
   */
  async deleteConfig(
    repository: string,
    branch: string,
    now: string,
  ): Promise<"deleted" | "missing" | "busy"> {
    try {
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: keys.exportConfig(repository, branch),
            ConditionExpression: "attribute_exists(pk)",
          },
        },
        { Delete: this.claimDelete(repository, branch) },
        { ConditionCheck: this.idleCheck(repository, branch, now) },
      ]);
      return "deleted";
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return (await this.getConfig(repository, branch)) ? "busy" : "missing";
    }
  }

  /**
   * The condition that the branch's export cannot be writing to its paths at `now`: no state,
   * or not in progress and not an aborted export still settling (path-hold.ts).
   */
  private idleCheck(repository: string, branch: string, now: string) {
    return {
      TableName: this.tableName,
      Key: keys.exportState(repository, branch),
      ConditionExpression:
        "attribute_not_exists(pk) OR (#s <> :running AND (#s <> :failed OR attribute_not_exists(settlesAt) OR settlesAt <= :now))",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: {
        ":running": "in-progress",
        ":failed": "export-failed",
        ":now": now,
      },
    };
  }

  /**
   * The export and status paths of every branch's configuration, read strongly consistently
   * (one partition), a page at a time: unlike listConfigs, a configuration stored just before
   * is never missing. Configurations stored before path claims existed have none.
   */
  listPathClaims(pageSize = 500): AsyncIterable<ExportPathClaim[]> {
    return listExportPathClaims(this.doc, this.tableName, pageSize);
  }

  private configPut(config: ExportConfig) {
    return {
      TableName: this.tableName,
      Item: {
        ...keys.exportConfig(config.repository, config.branch),
        kind: "export-config",
        kindSk: `${config.repository}#${config.branch}`,
        ...config,
      },
    };
  }

  private claimPut(config: ExportConfig) {
    const claim: ExportPathClaim = {
      repository: config.repository,
      branch: config.branch,
      exportPath: config.exportPath,
      ...(config.exportStatusPath ? { exportStatusPath: config.exportStatusPath } : {}),
    };
    return {
      TableName: this.tableName,
      Item: { ...keys.exportPathClaim(config.repository, config.branch), ...claim },
    };
  }

  private claimDelete(repository: string, branch: string) {
    return { TableName: this.tableName, Key: keys.exportPathClaim(repository, branch) };
  }

  /** Every export configuration, a page at a time (for scheduled or bulk starters). */
  async *listConfigs(pageSize = 100): AsyncIterable<ExportConfig[]> {
    for await (const items of this.itemsOfKind("export-config", pageSize)) {
      yield items.map((i) => withoutKeys<ExportConfig>(i));
    }
  }

  /**
   * Every export state, a page at a time (the kind index: eventually consistent, so callers
   * about to act on a state read it again with getState).
   */
  async *listStates(pageSize = 100): AsyncIterable<BranchExportState[]> {
    for await (const items of this.itemsOfKind("export-state", pageSize)) {
      yield items.map((item) => {
        const { repository, branch, ...stored } = withoutKeys<StoredExportState>(item);
        return { repository, branch, state: exportStateOf(stored) };
      });
    }
  }

  /** Items of one kind across repositories, page by page (the kind index). */
  private itemsOfKind(
    kind: "export-config" | "export-state",
    pageSize: number,
  ): AsyncIterable<Record<string, unknown>[]> {
    return queryPages(this.doc, {
      TableName: this.tableName,
      IndexName: KIND_INDEX.name,
      KeyConditionExpression: "#k = :k",
      ExpressionAttributeNames: { "#k": KIND_INDEX.partitionKey },
      ExpressionAttributeValues: { ":k": kind },
      Limit: pageSize,
    });
  }

  async getState(repository: string, branch: string): Promise<ExportState | undefined> {
    const item = await getItem<StoredExportState>(
      this.doc,
      this.tableName,
      keys.exportState(repository, branch),
    );
    if (!item) return undefined;
    const { repository: _r, branch: _b, ...stored } = item;
    return exportStateOf(stored);
  }

  /**
   * Writes `next` if the stored state still has `expectedVersion` (undefined: no state yet).
   * Returns false when another writer got there first. A start additionally requires the
   * stored state not to be in-progress, so the rule holds even if versions were misused; with
   * `decidedWith`, also that the configuration it was decided with is still the stored one (a
   * configuration deleted or moved meanwhile has released its paths).
   */
  async compareAndSetState(
    repository: string,
    branch: string,
    expectedVersion: number | undefined,
    next: ExportState,
    decidedWith?: ExportConfig,
  ): Promise<boolean> {
    const base = { TableName: this.tableName, Item: stateItem(repository, branch, next) };
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : {
            ConditionExpression:
              next.state === "in-progress" ? "#v = :v AND #s <> :running" : "#v = :v",
            ExpressionAttributeNames: {
              "#v": "version",
              ...(next.state === "in-progress" ? { "#s": "state" } : {}),
            },
            ExpressionAttributeValues: {
              ":v": expectedVersion,
              ...(next.state === "in-progress" ? { ":running": "in-progress" } : {}),
            },
          };
    if (!decidedWith) return this.putStateOnce(base, condition);
    try {
      await this.transact([
        { Put: { ...base, ...condition } },
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: keys.exportConfig(repository, branch),
            ...sameAs(decidedWith, CONFIG_IDENTITY),
          },
        },
      ]);
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * A conditional put of a branch's state; whether it was stored. The item carries a token of
   * this call: when the put's answer is lost (a dropped connection, a timeout) the SDK sends it
   * again, and the second attempt fails its condition on the item the first one wrote. Read
   * back, the token tells this call's own write (perhaps updated in place since) from another
   * writer's; without it a completion would be taken for a lost race and not reported.
   * (A transaction needs none: the SDK sends it again with the same ClientRequestToken.)
   */
  private async putStateOnce(
    put: { TableName: string; Item: Record<string, unknown> },
    condition: Omit<ConstructorParameters<typeof PutCommand>[0], "TableName" | "Item">,
  ): Promise<boolean> {
    const writeToken = randomUUID();
    try {
      // A configuration change checks the state in its transaction for a moment.
      await throughConflicts(() =>
        this.doc.send(new PutCommand({ ...put, Item: { ...put.Item, writeToken }, ...condition })),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const held = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keysOf(put.Item), ConsistentRead: true }),
    );
    return held.Item?.writeToken === writeToken;
  }

  /** Rewrites the running export `next.exportId` (same version expected), still in progress. */
  async updateRunningState(
    repository: string,
    branch: string,
    expectedVersion: number,
    next: ExportState,
  ): Promise<boolean> {
    return this.putStateOnce(
      { TableName: this.tableName, Item: stateItem(repository, branch, next) },
      {
        ConditionExpression: "#v = :v AND #s = :running AND exportId = :id",
        ExpressionAttributeNames: { "#v": "version", "#s": "state" },
        ExpressionAttributeValues: {
          ":v": expectedVersion,
          ":running": "in-progress",
          ":id": next.exportId,
        },
      },
    );
  }

  /**
   * Records that `commitId` is wanted once the running export `exportId` ends. Applies only while
   * that export is still in progress; false otherwise (the caller re-reads and retries).
   */
  async requestFollowUp(
    repository: string,
    branch: string,
    exportId: string,
    commitId: string,
    now: string,
    explicit = false,
  ): Promise<boolean> {
    return this.updateRunning(
      repository,
      branch,
      exportId,
      now,
      explicit ? "SET pendingHead = :h, pendingExplicit = :e" : "SET pendingHead = :h",
      { ":h": commitId, ...(explicit ? { ":e": true } : {}) },
    );
  }

  /** Stores the execution of the running export `exportId`. */
  async recordExecution(
    repository: string,
    branch: string,
    exportId: string,
    executionArn: string,
    now: string,
  ): Promise<boolean> {
    return this.updateRunning(repository, branch, exportId, now, "SET executionArn = :arn", {
      ":arn": executionArn,
    });
  }

  /**
   * StartExecution failed for `exportId`: the branch becomes export-failed with the reason. Like
   * any failed export it is among the exports the repair reconciles: Step Functions not knowing
   * the execution right after a failed answer does not prove none will run (the request may
   * still land); one that never planned touched nothing, and costs the repair one read.
   */
  async markStartFailed(
    repository: string,
    branch: string,
    exportId: string,
    reason: string,
    now: string,
  ): Promise<boolean> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const current = await this.getState(repository, branch);
      if (current?.state !== "in-progress" || current.exportId !== exportId) return false;
      const decision = decideDone(current, {
        exportId,
        commitId: current.commitId,
        outcome: {
          status: "failed",
          errorMessage: `could not start the export workflow: ${reason}`,
        },
        now,
      });
      if (decision.kind === "refused") return false;
      const { executionArn: _arn, ...next } = decision.next;
      if (await this.compareAndSetState(repository, branch, current.version, next)) return true;
    }
    return false;
  }

  /**
   * done: called by the execution-ended handler once the export's execution has stopped (and
   * by the stuck-export check). Applies only to the running export (same exportId and
   * commitId). `followUp` is true after a success when a start was asked for meanwhile: the
   * caller then calls startExport(..., trigger "run"). Throws when every write lost a race
   * (queued heads of a burst of commits bump the version).
   */
  async completeExport(input: CompleteExportInput, now: string): Promise<CompleteExportResult> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const current = await this.getState(input.repository, input.branch);
      const decision = decideDone(current, {
        exportId: input.exportId,
        commitId: input.commitId,
        outcome: input.outcome,
        now,
      });
      if (decision.kind === "refused") return { applied: false, reason: decision.reason };
      const ok = await this.compareAndSetState(
        input.repository,
        input.branch,
        current?.version,
        decision.next,
      );
      if (ok) return { applied: true, state: decision.next, followUp: decision.followUp };
    }
    // Not "not applied": that says the export is not the running one, and the execution-ended
    // handler would drop its outcome. Thrown, its event is delivered again.
    throw new Error(
      `too much contention on the export state of lakefs://${input.repository}@${input.branch}`,
    );
  }

  /** `set` (plus updatedAt and a new version) while export `exportId` is still running. */
  private updateRunning(
    repository: string,
    branch: string,
    exportId: string,
    now: string,
    set: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    return this.conditionalUpdate(
      repository,
      branch,
      `${set}, updatedAt = :now ADD version :one`,
      "#s = :running AND exportId = :id",
      { ...values, ":now": now, ":one": 1, ":running": "in-progress", ":id": exportId },
    );
  }

  private async conditionalUpdate(
    repository: string,
    branch: string,
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await throughConflicts(() =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.exportState(repository, branch),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: { "#s": "state" },
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}

/** An export state as its item holds it. */
type StoredExportState = Omit<ExportState, "commitId"> & {
  repository: string;
  branch: string;
  currentRef: string;
  /** The token of the put that wrote the item (putStateOnce). */
  writeToken?: string;
};

function storedExportState({ commitId, ...rest }: ExportState) {
  return { ...rest, currentRef: commitId };
}

function exportStateOf({
  currentRef,
  writeToken: _token,
  ...rest
}: Omit<StoredExportState, "repository" | "branch">) {
  return { ...rest, commitId: currentRef } as ExportState;
}

const keysOf = (item: Record<string, unknown>) => ({ pk: item.pk, sk: item.sk });

/** A branch's export state as its item (listed by kind, `export-state`). */
function stateItem(repository: string, branch: string, state: ExportState) {
  return {
    ...keys.exportState(repository, branch),
    kind: "export-state",
    kindSk: `${repository}#${branch}`,
    repository,
    branch,
    ...storedExportState(state),
  };
}
