// The GC copy workflow keeps a backup record (`<location>/_lakeport_backup.json`), on the real
// Lakeport app (test/support/lakeport-env.ts): the deployed copy state machine started directly
// (as the CLI's --workflow does), its Lambdas, the embedded S3 and DynamoDB Local.
// - a backup writes a complete record with its counts; the execution's output carries them;
// - a backup of a swept mark, or into another mark's location, is refused (record unchanged);
// - a restore from another mark's backup fails and leaves the mark unretired;
// - a restore from an in-progress record fails unless acceptIncompleteBackup;
// - a restore from a backup that lost an object since fails naming how many are missing, also
//   when an object absent at the backup came back to the namespace since (the backup's absent
//   lists, not counts, tell the two apart).
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { gcAppRuns } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const DAY = 86_400;
const backupBucket = uniqueName("gc-record-bk");
const env = useLakeportEnvironment({ buckets: [backupBucket] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { gc, markOf } = gcAppRuns(() => env);
const copyMachine = () => env.deployment.arn("LakeportGcCopyStateMachine");

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/**
 * main: c0 (20 days) a="old a", x="old x"; c1 (10 days) a="new a", x="new x"; c2 (1 day).
 * Marks m1 and m2 (the same two objects, each mark its own list).
 */
async function markedRepository() {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const { id } = repo;
  const now = Math.floor(Date.now() / 1000);
  await env.lakefs.uploadObject(id, "main", "a", { content: "old a" });
  await env.lakefs.uploadObject(id, "main", "x", { content: "old x" });
  await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY });
  await env.lakefs.uploadObject(id, "main", "a", { content: "new a" });
  await env.lakefs.uploadObject(id, "main", "x", { content: "new x" });
  await env.lakefs.commit(id, "main", { message: "c1", date: now - 10 * DAY });
  await env.lakefs.uploadObject(id, "main", "b", { content: "b" });
  await env.lakefs.commit(id, "main", { message: "c2", date: now - DAY });
  const rules = { default_retention_days: 3, branches: [] };
  expect((await env.api.put(`/repositories/${id}/settings/gc_rules`, rules)).status).toBe(204);
  for (const markId of ["m1", "m2"]) {
    const mark = await gc(id, { do_sweep: false, mark_id: markId });
    expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: 2 } });
  }
  const at = (name: string) => ({
    location: `s3://${backupBucket}/${id}/${name}`,
    recordKey: `${id}/${name}/_lakeport_backup.json`,
    prefix: `${id}/${name}/`,
  });
  return { ...repo, at };
}

type Marked = Awaited<ReturnType<typeof markedRepository>>;

/** A copy execution started on the state machine, as the CLI does; its end. */
async function copy(
  r: Marked,
  direction: "backup" | "restore",
  location: string,
  extra: Record<string, unknown> = {},
): Promise<DescribeExecutionCommandOutput> {
  const started = await env.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: copyMachine(),
      name: uniqueName(direction),
      input: JSON.stringify({
        repository: r.id,
        markId: "m1",
        storageNamespace: r.storageNamespace,
        direction,
        location,
        ...extra,
      }),
    }),
  );
  const until = Date.now() + 60_000;
  for (;;) {
    const d = await env.sfn.send(
      new DescribeExecutionCommand({ executionArn: started.executionArn }),
    );
    if (d.status !== "RUNNING") return d;
    if (Date.now() > until) throw new Error(`${started.executionArn} still running`);
    await sleep(100);
  }
}

const errorMessage = (d: DescribeExecutionCommandOutput) =>
  String(JSON.parse(d.cause ?? "{}").errorMessage ?? d.cause);

async function record(bucketKey: string) {
  const body = await text(backupBucket, bucketKey);
  return body === undefined ? undefined : JSON.parse(body);
}

/** The keys of the marked objects' backups under a location (the record and absent lists aside). */
async function backedUpKeys(prefix: string): Promise<string[]> {
  const page = await env.s3.send(
    new ListObjectsV2Command({ Bucket: backupBucket, Prefix: prefix }),
  );
  return (page.Contents ?? [])
    .map((o) => o.Key ?? "")
    .filter(
      (k) => !k.endsWith("_lakeport_backup.json") && !k.includes("/_lakeport_backup_absent/"),
    );
}

/** Bucket and key in the namespace of a marked object backed up at `backupKey`. */
function namespaceObject(r: Marked, prefix: string, backupKey: string) {
  const m = /^s3:\/\/([^/]+)\/?(.*?)\/*$/.exec(r.storageNamespace)!;
  const rel = backupKey.slice(prefix.length);
  return { Bucket: m[1]!, Key: m[2] ? `${m[2]}/${rel}` : rel };
}

describe("the GC copy workflow's backup record", () => {
  it("a backup writes a complete record with its counts; the execution's output carries them", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status, `${backup.error}: ${backup.cause}`).toBe("SUCCEEDED");
    const out = JSON.parse(backup.output ?? "{}");
    expect(out.end).toMatchObject({
      direction: "backup",
      objects: 2,
      copied: 2,
      present: 0,
      absent: 0,
      failed: 0,
      recordState: "complete",
    });
    expect(out.end.copiedBytes).toBe("old a".length + "old x".length);
    expect(out.plan).toMatchObject({ sweepRunId: null, recordStartedAt: expect.any(String) });
    expect(await record(loc.recordKey)).toMatchObject({
      format: "lakeport-gc-backup",
      version: 1,
      repository: r.id,
      markId: "m1",
      storageNamespace: r.storageNamespace.replace(/\/+$/, ""),
      state: "complete",
      startedAt: out.plan.recordStartedAt,
      finishedAt: expect.any(String),
      counts: { objects: 2, saved: 2, absent: 0, failed: 0 },
    });
    expect(await backedUpKeys(loc.prefix)).toHaveLength(2);
    // A restore from it: the record was found and kept its promise.
    const restore = await copy(r, "restore", loc.location);
    expect(restore.status, `${restore.error}: ${restore.cause}`).toBe("SUCCEEDED");
    expect(JSON.parse(restore.output ?? "{}")).toMatchObject({
      plan: { recordFound: true, record: { state: "complete" } },
      end: { direction: "restore", objects: 2, present: 2, absent: 0, recordFound: true },
    });
  }, 180_000);

  it("a backup into another mark's location is refused, the record unchanged", async () => {
    const r = await markedRepository();
    const loc = r.at("m2");
    const theirs = await copy(r, "backup", loc.location, { markId: "m2" });
    expect(theirs.status, `${theirs.error}: ${theirs.cause}`).toBe("SUCCEEDED");
    const before = await text(backupBucket, loc.recordKey);
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status).toBe("FAILED");
    expect(backup.error).toBe("BackupRecordError");
    expect(errorMessage(backup)).toContain(
      `location: ${loc.location} holds the backup of mark "m2" of ${r.id}`,
    );
    expect(await text(backupBucket, loc.recordKey)).toBe(before);
    // The location's claim still names the mark whose backup it holds.
    const claims = await env.api.get(`/repositories/${r.id}/gc/backup-locations`);
    expect(claims.body.results.map((c: { mark_id: string }) => c.mark_id)).toEqual(["m2"]);
  }, 180_000);

  it("a backup into another repository's storage namespace is refused, writing nothing; the API says so, and for an export path", async () => {
    // That repository's garbage collection may delete what a backup keeps in its namespace.
    const r = await markedRepository();
    const other = await createLakeFsRepository(env, { bucket: backupBucket, webhook: false });
    const location = `${other.storageNamespace}/backups/m1`;
    const backup = await copy(r, "backup", location);
    expect(backup.status).toBe("FAILED");
    expect(errorMessage(backup)).toContain(
      `location: ${location} overlaps the storage namespace ${other.storageNamespace} of repository "${other.id}"`,
    );
    expect(await backedUpKeys(`repos/${other.id}/backups/`)).toEqual([]);
    expect(await record(`repos/${other.id}/backups/m1/_lakeport_backup.json`)).toBeUndefined();
    const check = (l: string) =>
      env.api.get(
        `/repositories/${r.id}/gc/backup-location-check?location=${encodeURIComponent(l)}`,
      );
    const refused = await check(location);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain(`of repository \\"${other.id}\\"`);
    expect((await check(r.at("beside").location)).status).toBe(200);
    // Nor under a branch's export path, which its next full export empties of anything else.
    const exportPath = `s3://${backupBucket}/${r.id}/export-out`;
    const set = await env.api.put(`/repositories/${r.id}/branches/main/continuous-export`, {
      exportPath,
    });
    expect(set.status).toBe(200);
    const underExport = await check(`${exportPath}/backups/m1`);
    expect(underExport.status).toBe(400);
    expect(JSON.stringify(underExport.body)).toContain(`overlaps the export path ${exportPath}`);
  }, 180_000);

  it("a backup started on the state machine claims its location: no export path around it until released; under one it fails, writing nothing", async () => {
    // A full export deletes whatever else is under its export path: the backup would go.
    const r = await markedRepository();
    const loc = r.at("claimed");
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status, `${backup.error}: ${backup.cause}`).toBe("SUCCEEDED");
    const claims = await env.api.get(`/repositories/${r.id}/gc/backup-locations`);
    expect(claims.body.results).toEqual([
      {
        repository: r.id,
        location: loc.location,
        mark_id: "m1",
        claimed_at: expect.any(String),
      },
    ]);
    const around = `s3://${backupBucket}/${r.id}`;
    const set = (exportPath: string) =>
      env.api.put(`/repositories/${r.id}/branches/main/continuous-export`, { exportPath });
    const refused = await set(around);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain(
      `exportPath: ${around} overlaps the GC backup location ${loc.location} of repository \\"${r.id}\\" (mark m1)`,
    );
    expect(
      (await env.api.get(`/repositories/${r.id}/branches/main/continuous-export`)).status,
    ).toBe(404);
    // Under a branch's export path set first, the workflow's plan refuses, claiming nothing.
    const exportPath = `s3://${backupBucket}/${r.id}/export-out`;
    expect((await set(exportPath)).status).toBe(200);
    const under = await copy(r, "backup", `${exportPath}/bk`);
    expect(under.status).toBe("FAILED");
    expect(errorMessage(under)).toContain(
      `location: ${exportPath}/bk overlaps the export path ${exportPath} of lakefs://${r.id}@main`,
    );
    expect(await backedUpKeys(`${r.id}/export-out/`)).toEqual([]);
    expect(
      (await env.api.get(`/repositories/${r.id}/gc/backup-locations`)).body.results,
    ).toHaveLength(1);
    // Released (its backup no longer needed), the location may be exported over.
    const released = await env.api.delete(
      `/repositories/${r.id}/gc/backup-locations?location=${encodeURIComponent(loc.location)}`,
    );
    expect(released.status).toBe(204);
    expect((await set(`${around}/claimed`)).status).toBe(200);
  }, 180_000);

  it("a backup of a swept mark is refused, writing no record", async () => {
    const r = await markedRepository();
    const sweep = await gc(r.id, { do_mark: false, mark_id: "m1" });
    expect(sweep).toMatchObject({ status: "succeeded" });
    const loc = r.at("after-sweep");
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status).toBe("FAILED");
    expect(backup.error).toBe("MarkSweptError");
    expect(errorMessage(backup)).toContain(`mark id "m1" was swept by run ${sweep.run_id}`);
    expect(await record(loc.recordKey)).toBeUndefined();
    expect(await backedUpKeys(loc.prefix)).toEqual([]);
  }, 180_000);

  it("a restore from another mark's backup fails and leaves the mark not retired", async () => {
    const r = await markedRepository();
    const loc = r.at("m2");
    const theirs = await copy(r, "backup", loc.location, { markId: "m2" });
    expect(theirs.status, `${theirs.error}: ${theirs.cause}`).toBe("SUCCEEDED");
    const restore = await copy(r, "restore", loc.location);
    expect(restore.status).toBe("FAILED");
    expect(restore.error).toBe("BackupRecordError");
    expect(errorMessage(restore)).toContain(
      `holds the backup of mark "m2" of ${r.id} (${r.storageNamespace.replace(/\/+$/, "")}), not of mark "m1"`,
    );
    expect(await markOf(r.id)).toMatchObject({ retired_at: null, sweepable: true });
  }, 180_000);

  it("a restore from an in-progress backup fails unless acceptIncompleteBackup", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    // The backup's end step never ran: its record stays in-progress.
    const runtime = env.deployment.runtime;
    runtime.injectFault({
      function: /GcCopyEndFunction/,
      invocation: "next",
      kind: "error",
      errorType: "InjectedFault",
      errorMessage: "end lost",
    });
    let backup: DescribeExecutionCommandOutput;
    try {
      backup = await copy(r, "backup", loc.location);
    } finally {
      runtime.clearFaults();
    }
    expect(backup.status).toBe("FAILED");
    expect(await record(loc.recordKey)).toMatchObject({ state: "in-progress", markId: "m1" });
    for (const extra of [{}, { acceptIncompleteBackup: false }]) {
      const refused = await copy(r, "restore", loc.location, extra);
      expect(refused.status).toBe("FAILED");
      expect(refused.error).toBe("BackupRecordError");
      expect(errorMessage(refused)).toContain("that did not complete (state in-progress;");
      expect(await markOf(r.id)).toMatchObject({ retired_at: null, sweepable: true });
    }
    const accepted = await copy(r, "restore", loc.location, { acceptIncompleteBackup: true });
    expect(accepted.status, `${accepted.error}: ${accepted.cause}`).toBe("SUCCEEDED");
    expect(JSON.parse(accepted.output ?? "{}").end).toMatchObject({ objects: 2, present: 2 });
    expect(await markOf(r.id)).toMatchObject({ sweepable: false });
  }, 180_000);

  it("a backup whose copy map fails records failed, with the map's error", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    const runtime = env.deployment.runtime;
    runtime.injectFault({
      function: /GcCopyPartsFunction/,
      invocation: "next",
      kind: "error",
      errorType: "InjectedFault",
      errorMessage: "copy batch lost",
    });
    let backup: DescribeExecutionCommandOutput;
    try {
      backup = await copy(r, "backup", loc.location);
    } finally {
      runtime.clearFaults();
    }
    // The execution reports the map's own error, as before the record step.
    expect(backup.status).toBe("FAILED");
    expect(backup.error).toBe("States.ExceedToleratedFailureThreshold");
    expect(await record(loc.recordKey)).toMatchObject({
      state: "failed",
      markId: "m1",
      reason: expect.stringContaining("the copy failed (States.ExceedToleratedFailureThreshold"),
    });
    const refused = await copy(r, "restore", loc.location);
    expect(refused.error).toBe("BackupRecordError");
    expect(errorMessage(refused)).toContain("that did not complete (state failed: ");
  }, 180_000);

  it("a restore is not fooled by an object absent at the backup and back in the namespace since", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    const ns = /^s3:\/\/([^/]+)\/?(.*?)\/*$/.exec(r.storageNamespace)!;
    const nsKey = (line: string) => (ns[2] ? `${ns[2]}/${line}` : line);
    const listed = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: ns[1]!,
        Prefix: nsKey("_lakefs/retention/gc/addresses.text/mark_id=m1/"),
      }),
    );
    const lines = (
      await Promise.all((listed.Contents ?? []).map((o) => text(ns[1]!, o.Key!)))
    ).flatMap((t) => (t ?? "").split("\n").filter((l) => l.length > 0));
    expect(lines).toHaveLength(2);
    const [absent, saved] = lines as [string, string];
    // Swept by an earlier run before the backup: absent from it.
    const absentBody = await text(ns[1]!, nsKey(absent));
    await env.s3.send(new DeleteObjectCommand({ Bucket: ns[1]!, Key: nsKey(absent) }));
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status, `${backup.error}: ${backup.cause}`).toBe("SUCCEEDED");
    expect(await record(loc.recordKey)).toMatchObject({
      counts: { objects: 2, saved: 1, absent: 1 },
      absentLists: true,
    });
    // Another mark's restore brings it back; this mark's sweep deletes the other; the
    // location loses that one. Counts alone would cancel out (one absent, as at the backup).
    await env.s3.send(
      new PutObjectCommand({ Bucket: ns[1]!, Key: nsKey(absent), Body: absentBody }),
    );
    await env.s3.send(new DeleteObjectCommand({ Bucket: ns[1]!, Key: nsKey(saved) }));
    await env.s3.send(
      new DeleteObjectCommand({ Bucket: backupBucket, Key: `${loc.prefix}${saved}` }),
    );
    const restore = await copy(r, "restore", loc.location);
    expect(restore.status).toBe("FAILED");
    expect(restore.error).toBe("RestoreShortfallError");
    expect(errorMessage(restore)).toBe(
      `restore of mark "m1" from ${loc.location}: 1 object(s) the backup saved (1) are no longer in the location (e.g. ${saved}): counted as absent, not restored`,
    );
  }, 180_000);

  it("a restore after an object was deleted from the backup fails naming the missing count", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status, `${backup.error}: ${backup.cause}`).toBe("SUCCEEDED");
    // The sweep deletes both objects; then the location loses one of them.
    expect(await gc(r.id, { do_mark: false, mark_id: "m1" })).toMatchObject({
      status: "succeeded",
      counts: { deletedObjects: 2 },
    });
    const [lost, kept] = await backedUpKeys(loc.prefix);
    await env.s3.send(new DeleteObjectCommand({ Bucket: backupBucket, Key: lost! }));
    const restore = await copy(r, "restore", loc.location);
    expect(restore.status).toBe("FAILED");
    expect(restore.error).toBe("RestoreShortfallError");
    expect(errorMessage(restore)).toBe(
      `restore of mark "m1" from ${loc.location}: 1 object(s) the backup saved (2) are no longer in the location (e.g. ${lost!.slice(loc.prefix.length)}): counted as absent, not restored`,
    );
    // The plan retired the mark before copying: what the location held came back.
    expect(await markOf(r.id)).toMatchObject({ sweepable: false });
    const back = namespaceObject(r, loc.prefix, kept!);
    expect(await text(back.Bucket, back.Key)).toMatch(/^old [ax]$/);
    const gone = namespaceObject(r, loc.prefix, lost!);
    expect(await text(gone.Bucket, gone.Key)).toBeUndefined();
  }, 180_000);

  it("a restore from the backup's parent folder (no record there) fails, the mark not retired", async () => {
    const r = await markedRepository();
    const loc = r.at("m1");
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status, `${backup.error}: ${backup.cause}`).toBe("SUCCEEDED");
    const parent = loc.location.replace(/\/m1$/, "");
    const restore = await copy(r, "restore", parent);
    expect(restore.status).toBe("FAILED");
    expect(errorMessage(restore)).toBe(
      `location: none of the mark's 2 object(s) is under ${parent} (which has no backup record): nothing restored and the mark is not retired`,
    );
    expect(await markOf(r.id)).toMatchObject({ retired_at: null, sweepable: true });
  }, 180_000);

  it("an unparsable record at the location is refused, naming its key", async () => {
    const r = await markedRepository();
    const loc = r.at("junk");
    await env.s3.send(
      new PutObjectCommand({ Bucket: backupBucket, Key: loc.recordKey, Body: "not json" }),
    );
    const backup = await copy(r, "backup", loc.location);
    expect(backup.status).toBe("FAILED");
    expect(errorMessage(backup)).toBe(
      `s3://${backupBucket}/${loc.recordKey} is not a Lakeport backup record (not JSON)`,
    );
    expect(await text(backupBucket, loc.recordKey)).toBe("not json");
  }, 180_000);
});
