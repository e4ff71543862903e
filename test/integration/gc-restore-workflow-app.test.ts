// A restore through the GC copy workflow retires its mark in the workflow's own plan step: after
// every check passed, before the map copies any object back. On the real Lakeport app
// (test/support/lakeport-env.ts): the deployed copy state machine, the `lakeport` CLI as a
// child process, the deployed API Lambdas, DynamoDB Local.
// - a wrong (empty) location fails the restore and leaves the mark as it was: still sweepable;
// - a good backup: the mark is unretired when the plan starts, retired when the first copy
//   batch starts, the objects are back, and a sweep of the mark is refused afterwards;
// - the copy state machine started directly (console, another tool) retires the mark too;
// - a sweep of the mark holding its lease: the restore fails naming that sweep, copies nothing.

import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { encodeBackupRecord, startedRecord } from "../../lambdas/gc/domain/backup-record";
import { keys } from "../../lambdas/shared/dynamodb/table";
import { testDynamoDbClient, uniqueName } from "../support/clients";
import { gcAppRuns } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const DAY = 86_400;
const backupBucket = uniqueName("gc-restore-bk");
const env = useLakeportEnvironment({ buckets: [backupBucket] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { gc, markOf, read, startGc, waitRun } = gcAppRuns(() => env);
const copyMachine = () => env.deployment.arn("LakeportGcCopyStateMachine");
const copyPartsInvocations = () =>
  env.deployment.runtime.stats(env.deployment.physicalId("LakeportGcCopyPartsFunction"))
    .invocations;

const sweepOnly = { do_mark: false, mark_id: "m1" };

/** main: c0 (20 days) a="old a"; c1 (10 days) a="new a"; c2 (1 day). Mark m1: old a. */
async function markedRepository() {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const { id } = repo;
  const now = Math.floor(Date.now() / 1000);
  await env.lakefs.uploadObject(id, "main", "a", { content: "old a" });
  const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY })).id;
  await env.lakefs.uploadObject(id, "main", "a", { content: "new a" });
  await env.lakefs.commit(id, "main", { message: "c1", date: now - 10 * DAY });
  await env.lakefs.uploadObject(id, "main", "b", { content: "b" });
  await env.lakefs.commit(id, "main", { message: "c2", date: now - DAY });
  const rules = { default_retention_days: 3, branches: [] };
  expect((await env.api.put(`/repositories/${id}/settings/gc_rules`, rules)).status).toBe(204);
  const mark = await gc(id, { do_sweep: false, mark_id: "m1" });
  expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: 1 } });
  return { ...repo, c0, backupAt: `s3://${backupBucket}/${id}` };
}

type Marked = Awaited<ReturnType<typeof markedRepository>>;

async function cli(r: Marked, direction: "backup" | "restore", location: string, wf = true) {
  return env.lakeport([
    "gc",
    direction,
    `lakefs://${r.id}`,
    "--mark-id",
    "m1",
    direction === "backup" ? "--to" : "--from",
    location,
    ...(wf ? ["--workflow", copyMachine()] : []),
  ]);
}

async function backedUp(): Promise<Marked> {
  const r = await markedRepository();
  const backup = await cli(r, "backup", r.backupAt);
  expect(backup.code, backup.stderr).toBe(0);
  return r;
}

/** A restore started on the copy state machine itself, as the console would; its end. */
async function restoreDirectly(r: Marked, location = r.backupAt) {
  const started = await env.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: copyMachine(),
      name: uniqueName("restore"),
      input: JSON.stringify({
        repository: r.id,
        markId: "m1",
        storageNamespace: r.storageNamespace,
        direction: "restore",
        location,
      }),
    }),
  );
  const until = Date.now() + 60_000;
  for (;;) {
    const d: DescribeExecutionCommandOutput = await env.sfn.send(
      new DescribeExecutionCommand({ executionArn: started.executionArn }),
    );
    if (d.status !== "RUNNING") return d;
    if (Date.now() > until) throw new Error(`${started.executionArn} still running`);
    await sleep(100);
  }
}

describe("gc restore --workflow retires the mark in the workflow's plan step", () => {
  it("from an empty location: fails, the mark is not retired and can still be swept", async () => {
    const r = await markedRepository();
    const empty = `s3://${backupBucket}/${uniqueName("empty")}`;
    const restore = await cli(r, "restore", empty);
    expect(restore.code, restore.stderr).toBe(4);
    expect(await markOf(r.id)).toMatchObject({ retired_at: null, sweepable: true });
    expect(restore.stderr).not.toContain("retired");
    expect(restore.stderr).toContain(
      `ended FAILED (Error: location: no object under ${empty}: nothing to restore from)\n`,
    );
    const sweep = await gc(r.id, sweepOnly);
    expect(sweep).toMatchObject({ status: "succeeded", counts: { deletedObjects: 1 } });
    expect(await read(r.id, r.c0, "a")).toBe(410);
  }, 120_000);

  it("from a good backup: retired after the plan's checks, before any copy; objects back; no sweep after", async () => {
    const r = await backedUp();
    const runtime = env.deployment.runtime;
    // The sweep deletes the marked object, then fails (its summary): a sweep of the mark may
    // be resumed, so only the retire keeps one from deleting the restored object.
    runtime.injectFault({
      function: /GcSummaryFunction/,
      invocation: "next",
      kind: "error",
      errorType: "InjectedFault",
      errorMessage: "summary lost",
    });
    const sweep = await gc(r.id, sweepOnly);
    runtime.clearFaults();
    expect(sweep.status).toBe("failed");
    expect(await read(r.id, r.c0, "a")).toBe(410);
    expect(await markOf(r.id)).toMatchObject({ sweep_status: "failed", sweepable: true });

    const seen: Record<string, unknown> = {};
    runtime.beforeInvocation({
      function: /GcCopyPlanFunction/,
      invocation: "next",
      run: async () => {
        seen.retiredAtPlan = (await markOf(r.id)).retired_at;
      },
    });
    runtime.beforeInvocation({
      function: /GcCopyPartsFunction/,
      invocation: "next",
      run: async () => {
        seen.retiredAtCopy = (await markOf(r.id)).retired_at;
        seen.objectAtCopy = await read(r.id, r.c0, "a");
      },
    });
    try {
      const restore = await cli(r, "restore", r.backupAt);
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stderr).toContain("mark m1 retired: it will never be swept");
      expect(restore.stderr).not.toContain("warning");
    } finally {
      runtime.clearFaults();
    }
    expect(seen).toEqual({
      retiredAtPlan: null,
      retiredAtCopy: expect.any(String),
      objectAtCopy: 410,
    });
    expect(await read(r.id, r.c0, "a")).toBe("old a");
    expect(await markOf(r.id)).toMatchObject({
      sweepable: false,
      retired_reason: `restored from ${r.backupAt}`,
    });
    const again = await env.api.post(`/repositories/${r.id}/gc/runs`, sweepOnly);
    expect(again.status, again.text).toBe(409);
    expect(again.text).toContain(`(restored from ${r.backupAt})`);
  }, 180_000);

  it("started on the copy state machine directly: the restore retires the mark (once)", async () => {
    const r = await backedUp();
    const first = await restoreDirectly(r);
    expect(first.status, `${first.error}: ${first.cause}`).toBe("SUCCEEDED");
    const mark = await markOf(r.id);
    expect(mark).toMatchObject({
      sweepable: false,
      retired_at: expect.any(String),
      retired_reason: `restored from ${r.backupAt}`,
    });
    expect(JSON.parse(first.output ?? "{}").plan.retired).toEqual({
      retiredAt: mark.retired_at,
      retiredReason: `restored from ${r.backupAt}`,
    });
    // Again: the mark keeps its first retire.
    const second = await restoreDirectly(r);
    expect(second.status).toBe("SUCCEEDED");
    expect(await markOf(r.id)).toMatchObject({ retired_at: mark.retired_at });
    const sweep = await env.api.post(`/repositories/${r.id}/gc/runs`, sweepOnly);
    expect(sweep.status, sweep.text).toBe(409);
    expect(sweep.text).toContain("was retired at");
  }, 120_000);

  it("while a sweep of the mark holds its lease: fails naming the sweep, copies nothing", async () => {
    const r = await backedUp();
    const runtime = env.deployment.runtime;
    const copiesBefore = copyPartsInvocations();
    let restore: DescribeExecutionCommandOutput | undefined;
    let retiredDuring: unknown;
    // The sweep holds the lease and its claim on the mark from Revalidate until its summary;
    // the restore runs right before the sweep's first delete batch.
    runtime.beforeInvocation({
      function: /GcSweepFunction/,
      invocation: "next",
      run: async () => {
        restore = await restoreDirectly(r);
        retiredDuring = (await markOf(r.id)).retired_at;
      },
    });
    let sweepRun: string | undefined;
    try {
      sweepRun = await startGc(r.id, sweepOnly);
      expect(await waitRun(r.id, sweepRun)).toMatchObject({ status: "succeeded" });
    } finally {
      runtime.clearFaults();
    }
    expect(restore?.status).toBe("FAILED");
    expect(restore?.error).toBe("MarkBeingSweptError");
    expect(JSON.parse(restore?.cause ?? "{}").errorMessage).toContain(
      `mark id "m1" is being swept by GC run ${sweepRun}`,
    );
    expect(retiredDuring).toBeNull();
    expect(copyPartsInvocations()).toBe(copiesBefore);
    // Nothing came back: the sweep deleted the object, and the mark was not retired.
    expect(await read(r.id, r.c0, "a")).toBe(410);
    expect(await markOf(r.id)).toMatchObject({ retired_at: null, sweep_status: "succeeded" });
  }, 120_000);

  it("a copy workflow that does not retire (deployed before it did): the CLI retires after it, warning", async () => {
    const r = await backedUp();
    const runtime = env.deployment.runtime;
    // The plan's retire undone before the copies, as an older plan step would have left it.
    runtime.beforeInvocation({
      function: /GcCopyPartsFunction/,
      invocation: "next",
      run: async () => {
        const doc = DynamoDBDocumentClient.from(testDynamoDbClient());
        await doc.send(
          new UpdateCommand({
            TableName: env.resources.tableName,
            Key: keys.gcMark(r.id, "m1"),
            UpdateExpression: "REMOVE retiredAt, retiredReason",
          }),
        );
      },
    });
    try {
      const restore = await cli(r, "restore", r.backupAt);
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stderr).toContain("warning: the copy workflow did not retire mark m1");
      expect(restore.stderr).toContain("mark m1 retired: it will never be swept");
    } finally {
      runtime.clearFaults();
    }
    expect(await markOf(r.id)).toMatchObject({
      sweepable: false,
      retired_reason: `restored from ${r.backupAt}`,
    });
  }, 120_000);

  it("through the CLI: the workflow's counts printed; an incomplete backup restored only with --accept-incomplete-backup", async () => {
    const r = await backedUp();
    const recordKey = `${r.id}/_lakeport_backup.json`;
    // As a backup whose end never ran: its record says in progress.
    const interrupted = startedRecord(
      { repository: r.id, markId: "m1", storageNamespace: r.storageNamespace },
      new Date(),
    );
    await env.s3.send(
      new PutObjectCommand({
        Bucket: backupBucket,
        Key: recordKey,
        Body: encodeBackupRecord(interrupted),
      }),
    );
    expect(await gc(r.id, sweepOnly)).toMatchObject({ status: "succeeded" });
    expect(await read(r.id, r.c0, "a")).toBe(410);
    const refused = await cli(r, "restore", r.backupAt);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain("BackupRecordError");
    expect(refused.stderr).toContain("that did not complete (state in-progress;");
    expect(await markOf(r.id)).toMatchObject({ retired_at: null });
    const accepted = await env.lakeport([
      "gc",
      "restore",
      `lakefs://${r.id}`,
      "--mark-id",
      "m1",
      "--from",
      r.backupAt,
      "--workflow",
      copyMachine(),
      "--accept-incomplete-backup",
    ]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(
      /^gc restore of mark m1: 1 copied \(5 B\), 0 failed in .*\(1 objects\) by arn:/,
    );
    expect(await read(r.id, r.c0, "a")).toBe("old a");
  }, 180_000);

  it("through the CLI: a location without a backup record is restored, with a warning", async () => {
    const r = await backedUp();
    await env.s3.send(
      new DeleteObjectCommand({ Bucket: backupBucket, Key: `${r.id}/_lakeport_backup.json` }),
    );
    const restore = await cli(r, "restore", r.backupAt);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/warning: s3:\/\/\S+ has no backup record/);
    expect(restore.stdout).toMatch(/\(1 objects, 1 already in the namespace\)/);
  }, 120_000);
});
