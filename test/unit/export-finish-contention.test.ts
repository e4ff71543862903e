// The execution-ended handler records an export's outcome with a compare-and-set on the
// branch's state version. During a burst of commits every event of the branch queues its head
// on the running export (requestFollowUp), which bumps that version: the handler's writes can
// lose every attempt. Its event must then fail, so that EventBridge delivers it again, instead
// of being taken as handled: the outcome would be lost, the branch left in progress until the
// stuck-export check records even a success as export-failed, waiting for a person's repair.
// The real DynamoDB store over a document client fake, a rival update between each read and
// write while the burst lasts.
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expect, it } from "vitest";
import { ExportStore } from "../../lambdas/export/adapters/export-store";
import { handleExecutionStatusChange } from "../../lambdas/export/app/finish-export";
import type { StartExportDeps } from "../../lambdas/export/app/start-export";
import { keys } from "../../lambdas/shared/dynamodb/table";
import { FakeWorkflowStarter } from "../support/api-fakes";

const MACHINE = "arn:aws:states:us-east-1:0:stateMachine:export";
const EXPORT_ID = "repo-main-c1-2-abc";
const stateKey = keys.exportState("repo", "main");
const configKey = keys.exportConfig("repo", "main");
const id = (k: { pk: string; sk: string }) => `${k.pk}|${k.sk}`;

const conditionFailed = () =>
  Object.assign(new Error("The conditional request failed"), {
    name: "ConditionalCheckFailedException",
  });

/** The conditions the store writes the state with: version, running export, absence. */
function holds(item: Record<string, unknown> | undefined, input: Record<string, unknown>) {
  const cond = (input.ConditionExpression as string | undefined) ?? "";
  const v = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  if (cond.includes("attribute_not_exists(pk)") && !cond.includes(" OR ")) return !item;
  if (!item) return cond === "";
  if (cond.includes("#v = :v") && item.version !== v[":v"]) return false;
  if (cond.includes("#s <> :running") && item.state === "in-progress") return false;
  if (cond.includes("#s = :running") && item.state !== "in-progress") return false;
  if (cond.includes("exportId = :id") && item.exportId !== v[":id"]) return false;
  return true;
}

function fakeTable() {
  const items = new Map<string, Record<string, unknown>>();
  const t = { items, burst: false, queued: 0 };
  const send = async (cmd: unknown) => {
    if (cmd instanceof GetCommand) {
      const key = id(cmd.input.Key as { pk: string; sk: string });
      const item = items.get(key);
      const out = { Item: item ? structuredClone(item) : undefined };
      if (t.burst && key === id(stateKey) && item?.state === "in-progress") {
        // A trigger's requestFollowUp lands between this read and the caller's write.
        t.queued++;
        items.set(key, {
          ...item,
          pendingHead: `c${t.queued + 1}`,
          version: (item.version as number) + 1,
        });
      }
      return out;
    }
    if (cmd instanceof PutCommand) {
      const key = id(cmd.input.Item as { pk: string; sk: string });
      if (!holds(items.get(key), cmd.input)) throw conditionFailed();
      items.set(key, structuredClone(cmd.input.Item as Record<string, unknown>));
      return {};
    }
    if (cmd instanceof UpdateCommand) {
      // recordExecution / requestFollowUp: SET a = :x, updatedAt = :now ADD version :one.
      const key = id(cmd.input.Key as { pk: string; sk: string });
      const item = items.get(key);
      if (!holds(item, cmd.input) || !item) throw conditionFailed();
      const v = cmd.input.ExpressionAttributeValues as Record<string, unknown>;
      const set = /^SET (\w+) = (:\w+)/.exec(cmd.input.UpdateExpression as string)!;
      items.set(key, {
        ...item,
        [set[1]!]: v[set[2]!],
        updatedAt: v[":now"],
        version: (item.version as number) + 1,
      });
      return {};
    }
    if (cmd instanceof TransactWriteCommand) {
      // A start: the state's put, and a check that the configuration is unchanged.
      for (const op of cmd.input.TransactItems ?? []) {
        if (op.Put && !holds(items.get(id(op.Put.Item as never)), op.Put)) {
          throw Object.assign(new Error("cancelled"), {
            name: "TransactionCanceledException",
            CancellationReasons: [{ Code: "ConditionalCheckFailed" }],
          });
        }
      }
      for (const op of cmd.input.TransactItems ?? []) {
        if (op.Put) items.set(id(op.Put.Item as never), structuredClone(op.Put.Item as never));
      }
      return {};
    }
    throw new Error(`unexpected command ${(cmd as object).constructor.name}`);
  };
  return { t, doc: { send } };
}

const workflowInput = {
  repository: "repo",
  branch: "main",
  exportId: EXPORT_ID,
  fromCommit: "c0",
  commitId: "c1",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  mode: "incremental",
  configVersion: 1,
};

function branchExportingC1() {
  const { t, doc } = fakeTable();
  t.items.set(id(configKey), {
    ...configKey,
    repository: "repo",
    branch: "main",
    exportPath: "s3://out/exp",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: "2026-01-01T00:00:00.000Z",
    configVersion: 1,
  });
  t.items.set(id(stateKey), {
    ...stateKey,
    repository: "repo",
    branch: "main",
    state: "in-progress",
    currentRef: "c1",
    lastExportedCommit: "c0",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "incremental",
    exportId: EXPORT_ID,
    executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:${EXPORT_ID}`,
    startedAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    repaired: false,
    attempt: 2,
    version: 4,
  });
  const workflows = new FakeWorkflowStarter();
  const deps = {
    exports: new ExportStore(doc as never, "table"),
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: `c${t.queued + 1}` }),
    },
    workflows,
    exportStateMachineArn: MACHINE,
    now: () => new Date("2026-01-01T00:10:00.000Z"),
  } as unknown as StartExportDeps;
  return { t, deps, workflows };
}

const succeeded = {
  detail: {
    executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:${EXPORT_ID}`,
    name: EXPORT_ID,
    status: "SUCCEEDED",
    input: JSON.stringify(workflowInput),
    startDate: Date.parse("2026-01-01T00:00:01.000Z"),
    stopDate: Date.parse("2026-01-01T00:09:00.000Z"),
  },
};

it("an outcome that lost every write to a burst of queued heads is delivered again, then recorded", async () => {
  const { t, deps, workflows } = branchExportingC1();
  t.burst = true;
  // Every write loses: the handler must fail (EventBridge retries), not report it handled.
  await expect(handleExecutionStatusChange(deps, succeeded)).rejects.toThrow(/contention/);
  expect(t.items.get(id(stateKey))).toMatchObject({ state: "in-progress", exportId: EXPORT_ID });

  // The burst is over when EventBridge delivers the event again: the success is recorded and
  // the newest head exported from it.
  t.burst = false;
  const again = await handleExecutionStatusChange(deps, succeeded);
  expect(again).toMatchObject({ action: "recorded", outcome: "succeeded" });
  const head = `c${t.queued + 1}`;
  expect(workflows.started.map((s) => s.input)).toMatchObject([
    { commitId: head, fromCommit: "c1" },
  ]);
  expect(t.items.get(id(stateKey))).toMatchObject({
    state: "in-progress",
    currentRef: head,
    lastExportedCommit: "c1",
  });
});
