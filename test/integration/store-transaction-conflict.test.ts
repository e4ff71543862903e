// DynamoDB cancels a transaction that meets another one in progress on one of its items
// (TransactionCanceledException, reason TransactionConflict), and refuses a single write of an
// item a transaction holds (TransactionConflictException). DynamoDB Local runs transactions
// one at a time and does neither, so these tests put the cancellation DynamoDB would send in
// front of the real DynamoDB Local writes: a GC run's end and a start racing it (the lease is
// in both transactions), and an export configuration's rollback racing an export start (which
// checks the configuration in its transaction), must still be decided on what the table holds.
import {
  TransactionCanceledException,
  TransactionConflictException,
} from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { beforeAll, expect, test } from "vitest";
import { ExportStore } from "../../lambdas/export/adapters/export-store";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import { GcStore } from "../../lambdas/gc/adapters/gc-store";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import { documentClient } from "../../lambdas/shared/dynamodb/document-client";
import { createStateTable } from "../../local/dynamodb/create-table";
import { testDynamoDbClient, uniqueName } from "../support/clients";

const ddb = testDynamoDbClient();
const tableName = uniqueName("lakeport-conflict");
const t = 1_800_000_000;

beforeAll(async () => {
  await createStateTable(ddb, tableName);
});

/**
 * The real client, whose next `conflicts` transactions DynamoDB cancels as conflicting; with
 * `singleWrites`, whose next `singleWrites` updates it refuses as meeting a transaction.
 */
function conflictingClient(conflicts: number, singleWrites = 0, reason = "TransactionConflict") {
  const doc = documentClient(ddb);
  let left = conflicts;
  let singleLeft = singleWrites;
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  const client = new Proxy(doc, {
    get(target, name, receiver) {
      if (name !== "send") return Reflect.get(target, name, receiver);
      return async (command: unknown) => {
        if (command instanceof TransactWriteCommand && left > 0) {
          left--;
          const items = command.input.TransactItems ?? [];
          throw new TransactionCanceledException({
            message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${items.map((_, i) => (i === 0 ? reason : "None")).join(", ")}]`,
            $metadata: { httpStatusCode: 400 },
            CancellationReasons: items.map((_, i) =>
              i === 0 ? { Code: reason, Message: "refused for a moment" } : { Code: "None" },
            ),
          });
        }
        if (command instanceof UpdateCommand && singleLeft > 0) {
          singleLeft--;
          throw new TransactionConflictException({
            message: "Transaction is ongoing for the item",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return send(command);
      };
    },
  });
  const cdoc = client as DynamoDBDocumentClient;
  return {
    store: new GcStore(cdoc, tableName),
    exports: new ExportStore(cdoc, tableName),
    left: () => left + singleLeft,
  };
}

const run = (repository: string, runId: string): GcRun => ({
  repository,
  runId,
  mode: "mark-only",
  markId: runId,
  status: "running",
  counts: {},
  startedAt: new Date(t * 1000).toISOString(),
});
const marking = { nowSeconds: t, leaseSeconds: 600, mark: { markNow: t } };

test("a run's end cancelled by a conflicting transaction is written again: the run succeeded", async () => {
  const repo = uniqueName("conflict-end");
  const plain = new GcStore(documentClient(ddb), tableName);
  expect(await plain.createRun(run(repo, "r1"), marking)).toMatchObject({ created: true });
  const { store, left } = conflictingClient(1);
  expect(await store.completeRun(repo, "r1", { status: "succeeded" }, "2027-01-15T08:00:00Z")).toBe(
    true,
  );
  expect(left()).toBe(0);
  expect(await plain.getRun(repo, "r1")).toMatchObject({ status: "succeeded" });
  expect(await plain.getMark(repo, "r1")).toMatchObject({ status: "succeeded" });
  expect(await plain.getLease(repo)).toBeUndefined();
});

test("a start cancelled by a conflicting transaction is decided again, not thrown", async () => {
  const repo = uniqueName("conflict-start");
  const { store, left } = conflictingClient(1);
  expect(await store.createRun(run(repo, "r1"), marking)).toMatchObject({ created: true });
  expect(left()).toBe(0);
  // Against a live holder, a conflict still ends in the lease refusal.
  const again = conflictingClient(1);
  expect(await again.store.createRun(run(repo, "r2"), marking)).toMatchObject({
    created: false,
    reason: "lease",
    holder: { runId: "r1" },
  });
});

test("a configuration's rollback cancelled by a conflicting transaction still takes it back", async () => {
  // PUT continuous-export stores the configuration, finds it overlapping another branch's
  // paths, puts the previous one back and answers 409: a rollback lost to an export start's
  // transaction (its check of the configuration) must not leave the refused one stored.
  const repository = uniqueName("conflict-config");
  const plain = new ExportStore(documentClient(ddb), tableName);
  const config = (exportPath: string, updatedAt: string) =>
    ({ repository, branch: "main", exportPath, updatedAt }) as unknown as ExportConfig;
  const first = config("s3://bucket/a", "2027-01-15T08:00:00.000Z");
  expect(await plain.replaceConfig(first, undefined)).toBe(true);
  const refused = config("s3://bucket/overlap", "2027-01-15T08:01:00.000Z");
  expect(await plain.replaceConfig(refused, first)).toBe(true);
  const { exports, left } = conflictingClient(1);
  await exports.restoreConfig(refused, first);
  expect(left()).toBe(0);
  expect((await plain.getConfig(repository, "main"))?.exportPath).toBe("s3://bucket/a");
  // None before: the rollback deletes it, through a conflict too.
  const other = { ...config("s3://bucket/b", "2027-01-15T08:02:00.000Z"), branch: "dev" };
  expect(await plain.replaceConfig(other, undefined)).toBe(true);
  await conflictingClient(1).exports.restoreConfig(other, undefined);
  expect(await plain.getConfig(repository, "dev")).toBeUndefined();
});

test("a lease renewal that meets a start's transaction on the lease is made again: the run goes on", async () => {
  // A start refused for the lease still holds the lease item in its transaction for a moment:
  // DynamoDB refuses an update of the item meanwhile (TransactionConflictException). Every GC
  // step renews the lease, and a renewal that threw failed the running run.
  const repo = uniqueName("conflict-renew");
  const plain = new GcStore(documentClient(ddb), tableName);
  expect(await plain.createRun(run(repo, "r1"), marking)).toMatchObject({ created: true });
  const { store, left } = conflictingClient(0, 1);
  await store.renewLease(repo, "r1", t + 10, 600);
  expect(left()).toBe(0);
  expect(await plain.getLease(repo)).toMatchObject({ runId: "r1", leaseExpiresAt: t + 610 });
});

test("a rollback cancelled for throttling is sent again; one cancelled as invalid is not taken for a change", async () => {
  const repository = uniqueName("cancel-reasons");
  const plain = new ExportStore(documentClient(ddb), tableName);
  const config = (branch: string) =>
    ({
      repository,
      branch,
      exportPath: `s3://bucket/${branch}`,
      updatedAt: "2027-01-15T08:00:00.000Z",
    }) as unknown as ExportConfig;
  expect(await plain.replaceConfig(config("a"), undefined)).toBe(true);
  await conflictingClient(1, 0, "ThrottlingError").exports.restoreConfig(config("a"), undefined);
  expect(await plain.getConfig(repository, "a")).toBeUndefined();
  // No condition failed: the rollback did not happen, and says so instead of returning.
  expect(await plain.replaceConfig(config("b"), undefined)).toBe(true);
  await expect(
    conflictingClient(1, 0, "ValidationError").exports.restoreConfig(config("b"), undefined),
  ).rejects.toThrow(/ValidationError/);
  expect(await plain.getConfig(repository, "b")).toBeDefined();
});

test("a mark's retirement and a run's execution record that meet a transaction are made again", async () => {
  // A sweep's claim or a run's end holds the mark (and the run) in its transaction for a
  // moment: DynamoDB refuses a single update of the item meanwhile, which `gc retire` answered
  // with a 500 and the start with a run that never named its execution.
  const repo = uniqueName("conflict-retire");
  const plain = new GcStore(documentClient(ddb), tableName);
  expect(await plain.createRun(run(repo, "r1"), marking)).toMatchObject({ created: true });
  const arn = "arn:aws:states:us-east-1:123456789012:execution:gc:r1";
  const recording = conflictingClient(0, 1);
  await recording.store.recordExecution(repo, "r1", arn);
  expect(recording.left()).toBe(0);
  expect(await plain.getRun(repo, "r1")).toMatchObject({ executionArn: arn });
  expect(await plain.completeRun(repo, "r1", { status: "succeeded" }, "2027-01-15T08:00:00Z")).toBe(
    true,
  );
  const retiring = conflictingClient(0, 1);
  const out = await retiring.store.retireMark(repo, "r1", "not needed", {
    iso: "2027-01-15T09:00:00.000Z",
    seconds: t + 3600,
  });
  expect(retiring.left()).toBe(0);
  expect(out).toMatchObject({ retired: { markId: "r1", retiredReason: "not needed" } });
  expect(await plain.getMark(repo, "r1")).toMatchObject({ retiredAt: "2027-01-15T09:00:00.000Z" });
});
