// The stores' conditional writes whose answer is lost, against DynamoDB Local behind a proxy
// that passes a write on and then drops its answer: the SDK sends the write again, and its
// second attempt meets the item its first one changed. A write that was done must be
// answered as done, not as refused by someone else.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { ExportStore } from "../../lambdas/export/adapters/export-store";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { GcStore } from "../../lambdas/gc/adapters/gc-store";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { documentClient } from "../../lambdas/shared/dynamodb/document-client";
import { createStateTable } from "../../local/dynamodb/create-table";
import { type AnswerLosingProxy, startAnswerLosingProxy } from "../support/answer-losing-proxy";
import { uniqueName } from "../support/clients";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const tableName = uniqueName("lost-answer-stores");
const t = 1_800_000_000;
let proxy: AnswerLosingProxy;
let ddb: ReturnType<typeof createDynamoDbClient>;
let gc: GcStore;
let exports: ExportStore;

beforeAll(async () => {
  proxy = await startAnswerLosingProxy(inject("dynamoDbEndpoint"));
  ddb = createDynamoDbClient({ endpoint: proxy.endpoint, region: "us-east-1", credentials });
  await createStateTable(ddb, tableName);
  gc = new GcStore(documentClient(ddb), tableName);
  exports = new ExportStore(documentClient(ddb), tableName);
});
afterAll(async () => {
  ddb?.destroy();
  await proxy.stop();
});

const gcRun = (repository: string, runId: string, over: Partial<GcRun> = {}): GcRun => ({
  repository,
  runId,
  mode: "mark-and-sweep",
  markId: runId,
  status: "running",
  counts: {},
  startedAt: new Date(t * 1000).toISOString(),
  ...over,
});

/** Writes of `operations` whose body names `marker`: done, their answer lost once. */
function loseOnce(marker: string, ...operations: string[]) {
  for (const operation of operations)
    proxy.lose({ operation, bodyIncludes: marker, mode: "drop", times: 1 });
}

test("a mark's end whose answer was lost is the run's own: the mark phase ends, not fails", async () => {
  const repo = uniqueName("lost-end-mark");
  const r = gcRun(repo, "r1");
  expect(
    await gc.createRun(r, { nowSeconds: t, leaseSeconds: 600, mark: { markNow: t } }),
  ).toMatchObject({
    created: true,
  });
  const markedAt = `2027-01-15T08:00:00.${randomUUID().replace(/\D/g, "").slice(0, 3).padEnd(3, "0")}Z`;
  loseOnce(markedAt, "UpdateItem");
  const updates = proxy.received("UpdateItem");
  await gc.endMark(repo, r.markId, r.runId, { partitions: 3, markedAt });
  expect(proxy.received("UpdateItem") - updates).toBe(2);
  expect(await gc.getMark(repo, r.markId)).toMatchObject({
    status: "succeeded",
    partitions: 3,
    markedAt,
  });
  // A mark this run does not hold, or one already ended otherwise, is still refused.
  await expect(
    gc.endMark(repo, r.markId, "r-other", { partitions: 3, markedAt }),
  ).rejects.toThrow();
  const r2 = gcRun(repo, "r2");
  expect(
    await gc.createRun(r2, { nowSeconds: t + 1000, leaseSeconds: 600, mark: { markNow: t } }),
  ).toMatchObject({
    created: true,
  });
  expect(await gc.completeRun(repo, "r2", { status: "failed" }, "2027-01-15T09:00:00Z")).toBe(true);
  await expect(gc.endMark(repo, "r2", "r2", { partitions: 1, markedAt })).rejects.toThrow();
});

test("rules deleted whose answer was lost were there: DELETE gc_rules is not answered 404", async () => {
  const repo = uniqueName("lost-delete-rules");
  await gc.putRules(repo, { default_retention_days: 7, branches: [] }, "2027-01-15T08:00:00Z");
  // However the store deletes them: the request is done and its answer lost.
  loseOnce(repo, "DeleteItem", "TransactWriteItems");
  const writes = () => proxy.received("DeleteItem") + proxy.received("TransactWriteItems");
  const before = writes();
  expect(await gc.deleteRules(repo)).toBe(true);
  expect(writes() - before).toBe(2);
  expect(await gc.getRules(repo)).toBeUndefined();
  // Deleted again: there were none.
  expect(await gc.deleteRules(repo)).toBe(false);
});

test("a skipped run recorded whose answer was lost is recorded, not thrown", async () => {
  const repo = uniqueName("lost-skipped-run");
  const skipped = gcRun(repo, "r-skip", { status: "skipped", errorMessage: "skipped: busy" });
  loseOnce(repo, "PutItem");
  const puts = proxy.received("PutItem");
  await gc.recordSkippedRun(skipped);
  expect(proxy.received("PutItem") - puts).toBe(2);
  expect(await gc.getRun(repo, "r-skip")).toMatchObject({ status: "skipped" });
});

test("an export the stuck check failed, whose answer was lost, is reported as stuck and failed", async () => {
  // The check records a start that never reached Step Functions as export-failed; the branch
  // then refuses exports until a person repairs it, and only the check's metric pages one.
  const repository = uniqueName("lost-stuck");
  const exportId = `exp-${randomUUID()}`;
  const started = "2027-01-15T08:00:00.000Z";
  const running: ExportState = {
    state: "in-progress",
    commitId: "c1",
    exportId,
    updatedAt: started,
    startedAt: started,
    repaired: false,
    attempt: 1,
    version: 1,
  };
  expect(await exports.compareAndSetState(repository, "main", undefined, running)).toBe(true);
  loseOnce(exportId, "PutItem");
  const puts = proxy.received("PutItem");
  const result = await checkStuckExports({
    exports,
    executions: { lookup: async () => undefined },
    exportStateMachineArn: "arn:aws:states:us-east-1:000000000000:stateMachine:lakeport-export",
    now: () => new Date("2027-01-15T09:00:00.000Z"),
  });
  expect(proxy.received("PutItem") - puts).toBe(2);
  expect(result).toMatchObject({ markedFailed: 1, errors: [] });
  expect(result.stuck).toMatchObject([
    { repository, exportId, action: "fail", markedFailed: true },
  ]);
  const after = await exports.getState(repository, "main");
  expect(after).toMatchObject({ state: "export-failed", version: 2 });
  expect(Object.keys(after ?? {})).not.toContain("writeToken");
});

test("transactions whose answer was lost are answered as done: the SDK sends the same token again", async () => {
  // Configuration writes, a run's start and end: sent again with the first attempt's
  // ClientRequestToken, DynamoDB answers the first attempt's success (no condition is checked
  // again), so none of them is told it lost to another writer.
  const repository = uniqueName("lost-transactions");
  const config = {
    repository,
    branch: "main",
    exportPath: `s3://bucket/${repository}`,
    updatedAt: "2027-01-15T08:00:00.000Z",
    lastKeysInPrefixRegexp: [],
    isContinuous: false,
  };
  const transactions = () => proxy.received("TransactWriteItems");
  let before = transactions();
  loseOnce(config.exportPath, "TransactWriteItems");
  expect(await exports.replaceConfig(config, undefined)).toBe(true);
  expect(transactions() - before).toBe(2);
  const r = gcRun(repository, `r-${randomUUID().slice(0, 8)}`);
  before = transactions();
  loseOnce(r.runId, "TransactWriteItems");
  expect(
    await gc.createRun(r, { nowSeconds: t, leaseSeconds: 600, mark: { markNow: t } }),
  ).toMatchObject({ created: true });
  expect(transactions() - before).toBe(2);
  before = transactions();
  loseOnce(r.runId, "TransactWriteItems");
  expect(
    await gc.completeRun(repository, r.runId, { status: "succeeded" }, "2027-01-15T09:00:00Z"),
  ).toBe(true);
  expect(transactions() - before).toBe(2);
  expect(await gc.getLease(repository)).toBeUndefined();
});

test("a transaction whose retry finds its first attempt still in progress is sent again with the same token: answered as done", async () => {
  // The SDK sends a TransactionInProgressException again (as throttling) but its 4 attempts end
  // within 1 to 3 s, before DynamoDB recovers a first attempt stopped part way (5 s). Thrown, a
  // configuration stored was answered 500, an export start recorded never launched its
  // workflow, and a GC start left the repository's lease held by a run without a workflow.
  const repository = uniqueName("in-progress-transactions");
  const transactions = () => proxy.received("TransactWriteItems");
  const inProgressOnce = (marker: string) =>
    proxy.lose({
      operation: "TransactWriteItems",
      bodyIncludes: marker,
      mode: "in-progress",
      times: 1,
    });
  const config = {
    repository,
    branch: "main",
    exportPath: `s3://bucket/${repository}`,
    updatedAt: "2027-01-15T08:00:00.000Z",
    lastKeysInPrefixRegexp: [],
    isContinuous: false,
  };
  let before = transactions();
  inProgressOnce(config.exportPath);
  expect(await exports.replaceConfig(config, undefined)).toBe(true);
  // The first attempt (its answer lost), the SDK's 3 more (in progress), the same token again.
  expect(transactions() - before).toBe(5);
  expect(await exports.getConfig(repository, "main")).toMatchObject({
    exportPath: config.exportPath,
  });

  const exportId = `exp-${randomUUID()}`;
  const running: ExportState = {
    state: "in-progress",
    commitId: "c1",
    exportId,
    updatedAt: config.updatedAt,
    startedAt: config.updatedAt,
    repaired: false,
    attempt: 1,
    version: 1,
  };
  before = transactions();
  inProgressOnce(exportId);
  expect(await exports.compareAndSetState(repository, "main", undefined, running, config)).toBe(
    true,
  );
  expect(transactions() - before).toBe(5);

  const r = gcRun(repository, `r-${randomUUID().slice(0, 8)}`);
  before = transactions();
  inProgressOnce(r.runId);
  expect(
    await gc.createRun(r, { nowSeconds: t, leaseSeconds: 600, mark: { markNow: t } }),
  ).toMatchObject({ created: true });
  expect(transactions() - before).toBe(5);
  before = transactions();
  inProgressOnce(r.runId);
  expect(
    await gc.completeRun(repository, r.runId, { status: "succeeded" }, "2027-01-15T09:00:00Z"),
  ).toBe(true);
  expect(transactions() - before).toBe(5);
  expect(await gc.getRun(repository, r.runId)).toMatchObject({ status: "succeeded" });
  expect(await gc.getLease(repository)).toBeUndefined();

  await gc.putRules(repository, { default_retention_days: 7, branches: [] }, config.updatedAt);
  before = transactions();
  inProgressOnce(repository);
  expect(await gc.deleteRules(repository)).toBe(true);
  expect(transactions() - before).toBe(5);
  expect(await gc.getRules(repository)).toBeUndefined();
});
