// gc backup leaves a record beside the objects (_lakeport_backup.json): which mark it holds,
// whether it completed, what it saved. A restore counts an object the location lacks as
// absent, so without the record a restore from another mark's backup, from a backup that
// stopped halfway, or from one that lost objects since, would succeed with part of the mark.
// The CLI from this machine, against the API (fake lakeFS and stores) and the embedded S3.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackupRecord,
  encodeBackupRecord,
  parseBackupRecord,
  startedRecord,
} from "../../lambdas/gc/domain/backup-record";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";

const repo = "repo-rec";
let w: CliGcCopyWorld;
const s3 = () => testS3Client();

beforeAll(async () => {
  w = await startCliGcCopyWorld(repo);
});
afterAll(() => w.stop());

async function record(prefix: string): Promise<BackupRecord> {
  const got = await s3().send(
    new GetObjectCommand({ Bucket: w.backupBucket, Key: `${prefix}/_lakeport_backup.json` }),
  );
  return parseBackupRecord(await got.Body!.transformToString(), prefix);
}

async function keys(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** Deletes the namespace's copies of `lines`, as the mark's sweep would. */
async function sweepObjects(lines: string[]) {
  for (const l of lines) {
    await s3().send(new DeleteObjectCommand({ Bucket: w.bucket, Key: `${repo}/${l}` }));
  }
}

const backup = (markId: string, to: string) =>
  w.lakeport(["gc", "backup", `lakefs://${repo}`, "--mark-id", markId, "--to", to]);
const restore = (markId: string, from: string, ...more: string[]) =>
  w.lakeport(["gc", "restore", `lakefs://${repo}`, "--mark-id", markId, "--from", from, ...more]);
/** The marks the repository's claim of `location` names (none: not claimed). */
async function claimedMarks(location: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of w.fake.deps.stores.backupLocations.listOfRepository(repo)) {
    for (const c of page) if (c.location === location) out.push(c.markId);
  }
  return out;
}
const retiredAt = async (markId: string) =>
  (await w.fake.deps.stores.gc.getMark(repo, markId))?.retiredAt;

describe("gc backup record", () => {
  it("a backup records the mark and its counts; a restore from it checks them, no warning", async () => {
    await w.marked("r1", ["data/a", "data/b", "data/gone"], true);
    await sweepObjects(["data/gone"]); // swept by an earlier run: absent
    const loc = `s3://${w.backupBucket}/r1`;
    const b = await backup("r1", loc);
    expect(b.code, b.stderr).toBe(0);
    expect(await record("r1")).toMatchObject({
      repository: repo,
      markId: "r1",
      storageNamespace: `s3://${w.bucket}/${repo}`,
      state: "complete",
      counts: { objects: 3, saved: 2, absent: 1, failed: 0 },
    });
    await sweepObjects(["data/a", "data/b"]);
    const r = await restore("r1", loc);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    expect(await keys(w.bucket, `${repo}/data/`)).toEqual([`${repo}/data/a`, `${repo}/data/b`]);
  });

  it("a restore from another mark's backup is refused before the mark is retired", async () => {
    await w.marked("r2a", ["data/c"], true);
    await w.marked("r2b", ["data/c", "data/d"], true);
    const loc = `s3://${w.backupBucket}/r2a`;
    expect((await backup("r2a", loc)).code).toBe(0);
    await sweepObjects(["data/c", "data/d"]);
    const r = await restore("r2b", loc);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/holds the backup of mark "r2a" of repo-rec .*not of mark "r2b"/);
    expect(await retiredAt("r2b")).toBeUndefined();
    expect(await keys(w.bucket, `${repo}/data/c`)).toEqual([]);
  });

  it("a backup into another mark's location is refused, that backup left as it was", async () => {
    await w.marked("r3a", ["data/e"], true);
    await w.marked("r3b", ["data/f"], true);
    const loc = `s3://${w.backupBucket}/r3a`;
    expect((await backup("r3a", loc)).code).toBe(0);
    const before = await record("r3a");
    const b = await backup("r3b", loc);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/--to: .* holds the backup of mark "r3a"/);
    expect(await record("r3a")).toEqual(before);
    expect(
      (await keys(w.backupBucket, "r3a/")).filter(
        (k) => !k.startsWith("r3a/_lakeport_backup_absent/"),
      ),
    ).toEqual(["r3a/_lakeport_backup.json", "r3a/data/e"]);
    // The claim still names the mark whose backup the location holds (claimed only once the
    // record's checks passed).
    expect(await claimedMarks(loc)).toEqual(["r3a"]);
    // Its own location again: allowed (a backup run twice).
    expect((await backup("r3a", loc)).code).toBe(0);
  });

  it("a backup into a location holding objects but no record is refused, writing nothing", async () => {
    await w.marked("r9", ["data/o"], true);
    await s3().send(
      new PutObjectCommand({ Bucket: w.backupBucket, Key: "r9/data/other", Body: "other" }),
    );
    const b = await backup("r9", `s3://${w.backupBucket}/r9`);
    expect(b.code, b.stderr).toBe(2);
    expect(b.stderr).toMatch(/--to: \S+ holds objects but no backup record/);
    expect(await keys(w.backupBucket, "r9/")).toEqual(["r9/data/other"]);
    // Not claimed: nothing of this backup is there to keep out of export paths.
    expect(await claimedMarks(`s3://${w.backupBucket}/r9`)).toEqual([]);
  });

  it("a backup that did not complete is restored only when accepted", async () => {
    await w.marked("r4", ["data/g", "data/h"], true);
    const loc = `s3://${w.backupBucket}/r4`;
    expect((await backup("r4", loc)).code).toBe(0);
    // As a backup interrupted after its first copy: the record still says in progress.
    const interrupted = startedRecord(
      { repository: repo, markId: "r4", storageNamespace: `s3://${w.bucket}/${repo}` },
      new Date(),
    );
    await s3().send(
      new PutObjectCommand({
        Bucket: w.backupBucket,
        Key: "r4/_lakeport_backup.json",
        Body: encodeBackupRecord(interrupted),
      }),
    );
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "r4/data/h" }));
    await sweepObjects(["data/g", "data/h"]);
    const refused = await restore("r4", loc);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/did not complete \(state in-progress/);
    expect(refused.stderr).toMatch(/--accept-incomplete-backup/);
    expect(await retiredAt("r4")).toBeUndefined();
    const accepted = await restore("r4", loc, "--accept-incomplete-backup");
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(await keys(w.bucket, `${repo}/data/g`)).toEqual([`${repo}/data/g`]);
    expect(await retiredAt("r4")).toBeDefined();
  });

  it("a restore that finds fewer objects than the backup saved fails, naming how many", async () => {
    await w.marked("r5", ["data/i", "data/j", "data/k"], true);
    const loc = `s3://${w.backupBucket}/r5`;
    expect((await backup("r5", loc)).code).toBe(0);
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "r5/data/j" }));
    await sweepObjects(["data/i", "data/j", "data/k"]);
    const r = await restore("r5", loc);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/1 object\(s\) the backup saved \(3\) are no longer in the location/);
    // What the location still held came back; the mark stays retired.
    expect(await retiredAt("r5")).toBeDefined();
    expect(await keys(w.bucket, `${repo}/data/i`)).toEqual([`${repo}/data/i`]);
    expect(await keys(w.bucket, `${repo}/data/k`)).toEqual([`${repo}/data/k`]);
  });

  it("an object the location lost but the namespace still holds is not short of the backup", async () => {
    await w.marked("r10", ["data/p", "data/q"], true);
    const loc = `s3://${w.backupBucket}/r10`;
    expect((await backup("r10", loc)).code).toBe(0);
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "r10/data/p" }));
    await sweepObjects(["data/q"]); // data/p was never deleted from the namespace
    const r = await restore("r10", loc);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 copied .*\(2 objects, 1 already in the namespace\)/);
    expect(await keys(w.bucket, `${repo}/data/`)).toEqual(
      expect.arrayContaining([`${repo}/data/p`, `${repo}/data/q`]),
    );
  });

  it("an object absent at the backup and back in the namespace since does not hide one the location lost", async () => {
    await w.marked("r31", ["data/s", "data/t", "data/u"], true);
    await sweepObjects(["data/s"]); // swept by an earlier run: absent at the backup
    const loc = `s3://${w.backupBucket}/r31`;
    expect((await backup("r31", loc)).code).toBe(0);
    expect(await record("r31")).toMatchObject({
      counts: { objects: 3, saved: 2, absent: 1 },
      absentLists: true,
    });
    // Another mark's restore brings data/s back; the location loses data/t; the sweep of
    // this mark deletes data/t and data/u. By counts alone the restore would look whole: one
    // absent (data/t) as at the backup (data/s, now present).
    await s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: `${repo}/data/s`, Body: "s" }));
    await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: "r31/data/t" }));
    await sweepObjects(["data/t", "data/u"]);
    const r = await restore("r31", loc);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      /1 object\(s\) the backup saved \(2\) are no longer in the location \(e\.g\. data\/t\)/,
    );
    expect(await keys(w.bucket, `${repo}/data/u`)).toEqual([`${repo}/data/u`]);
  });

  it("a restore whose location lost the backup's absent lists fails rather than guess", async () => {
    await w.marked("r32", ["data/v", "data/w"], true);
    await sweepObjects(["data/v"]);
    const loc = `s3://${w.backupBucket}/r32`;
    expect((await backup("r32", loc)).code).toBe(0);
    const lists = (await keys(w.backupBucket, "r32/_lakeport_backup_absent/")).filter((k) =>
      k.endsWith(".txt"),
    );
    expect(lists.length).toBeGreaterThan(0);
    for (const key of lists) {
      await s3().send(new DeleteObjectCommand({ Bucket: w.backupBucket, Key: key }));
    }
    await sweepObjects(["data/w"]);
    const r = await restore("r32", loc);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/lists of the objects the backup found absent .* are missing/);
    expect(await keys(w.bucket, `${repo}/data/w`)).toEqual([`${repo}/data/w`]);
  });

  it("a backup with an object it could not copy records failed", async () => {
    await w.marked("r6", ["data/l", "data/../escape"], false);
    await s3().send(new PutObjectCommand({ Bucket: w.bucket, Key: `${repo}/data/l`, Body: "l" }));
    const b = await backup("r6", `s3://${w.backupBucket}/r6`);
    expect(b.code, b.stderr).toBe(4);
    expect(await record("r6")).toMatchObject({
      state: "failed",
      reason: "1 object(s) could not be backed up",
      counts: { objects: 2, saved: 1, failed: 1 },
    });
  });

  it("a location without a record (an older backup) is restored with a warning", async () => {
    await w.marked("r7", ["data/m"], true);
    await s3().send(
      new PutObjectCommand({ Bucket: w.backupBucket, Key: "r7/data/m", Body: "data/m" }),
    );
    await sweepObjects(["data/m"]);
    const r = await restore("r7", `s3://${w.backupBucket}/r7`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .* has no backup record/);
    expect(await keys(w.bucket, `${repo}/data/m`)).toEqual([`${repo}/data/m`]);
  });

  it("a restore from the backup's parent folder (no record there) is refused before the mark is retired", async () => {
    await w.marked("r11", ["data/r"], true);
    expect((await backup("r11", `s3://${w.backupBucket}/parent11/r11`)).code).toBe(0);
    await sweepObjects(["data/r"]);
    const r = await restore("r11", `s3://${w.backupBucket}/parent11`);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /--from: none of the mark's 1 object\(s\) is under \S+\/parent11: nothing restored and the mark not retired/,
    );
    expect(await retiredAt("r11")).toBeUndefined();
    expect(await keys(w.bucket, `${repo}/data/r`)).toEqual([]);
  });

  it("a record that is not one is refused, naming its key", async () => {
    await w.marked("r8", ["data/n"], true);
    await s3().send(
      new PutObjectCommand({
        Bucket: w.backupBucket,
        Key: "r8/_lakeport_backup.json",
        Body: "{}",
      }),
    );
    const r = await restore("r8", `s3://${w.backupBucket}/r8`);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/r8\/_lakeport_backup\.json is not a Lakeport backup record/);
    expect(await retiredAt("r8")).toBeUndefined();
  });

  it("a restore while a run sweeps the mark is refused (exit 3): nothing retired, nothing copied", async () => {
    await w.marked("r12", ["data/r12"], true);
    const loc = `s3://${w.backupBucket}/r12`;
    expect((await backup("r12", loc)).code).toBe(0);
    await sweepObjects(["data/r12"]);
    const sweep = await w.lakeport([
      ...["--json", "gc", "run", `lakefs://${repo}`, "--sweep-only", "--mark-id", "r12"],
    ]);
    expect(sweep.code, sweep.stderr).toBe(0);
    const sweepRun = JSON.parse(sweep.stdout).run_id as string;
    try {
      const r = await restore("r12", loc);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`409 mark id "r12" is being swept by GC run ${sweepRun}`);
      expect(await retiredAt("r12")).toBeUndefined();
      expect(await keys(w.bucket, `${repo}/data/r12`)).toEqual([]);
    } finally {
      await w.fake.deps.stores.gc.completeRun(
        repo,
        sweepRun,
        { status: "failed" },
        new Date().toISOString(),
      );
    }
  });

  it("a backup into another repository's storage namespace is refused (exit 2) before anything is written", async () => {
    // That repository's garbage collection (lakeFS's lists its namespace) may delete the backup.
    await w.marked("r13", ["data/r13"], true);
    w.fake.lakefs.addRepository("other-r13", `s3://${w.backupBucket}/other-r13/`, { main: "c1" });
    for (const to of [
      `s3://${w.backupBucket}/other-r13/backups/r13`,
      `s3://${w.backupBucket}/other-r13`,
      `s3://${w.backupBucket}`,
    ]) {
      const b = await backup("r13", to);
      expect(b.code, b.stderr).toBe(2);
      expect(b.stderr).toContain(
        `--to: ${to} overlaps the storage namespace s3://${w.backupBucket}/other-r13 of repository "other-r13"`,
      );
    }
    // With --workflow too: refused before the state machine is started (without the check the
    // CLI goes on to Step Functions, which this test's machine cannot reach).
    const viaWorkflow = await w.lakeport([
      ...["gc", "backup", `lakefs://${repo}`, "--mark-id", "r13"],
      ...["--to", `s3://${w.backupBucket}/other-r13/bk`],
      ...["--workflow", "arn:aws:states:us-east-1:123456789012:stateMachine:LakeportGcCopy"],
    ]);
    expect(viaWorkflow.code, viaWorkflow.stderr).toBe(2);
    expect(viaWorkflow.stderr).toContain('of repository "other-r13"');
    expect(await keys(w.backupBucket, "other-r13/")).toEqual([]);
    // Nor under a branch's export path, which its next full export empties of anything else.
    const exportPath = `s3://${w.backupBucket}/r13-export`;
    const set = await w.lakeport([
      ...["export", "set", `lakefs://${repo}/main`, "--path", exportPath, "--continuous=false"],
    ]);
    expect(set.code, set.stderr).toBe(0);
    const underExport = await backup("r13", `${exportPath}/bk`);
    expect(underExport.code, underExport.stderr).toBe(2);
    expect(underExport.stderr).toContain(
      `--to: ${exportPath}/bk overlaps the export path ${exportPath} of lakefs://${repo}@main`,
    );
    expect(await keys(w.backupBucket, "r13-export/")).toEqual([]);
    // Beside them, the backup runs.
    const ok = await backup("r13", `s3://${w.backupBucket}/other-r13-backups/r13`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await record("other-r13-backups/r13")).toMatchObject({
      markId: "r13",
      state: "complete",
    });
  });
});

describe("gc backup-locations", () => {
  // Review of claiming inside the record's claim: the API's check passes, then its claim is
  // refused (an export path set around the location meanwhile) or fails. Nothing may be
  // written at the location and no claim left; a refusal is a usage error naming --to.
  it("a claim refused or failing after the check writes nothing at the location", async () => {
    await w.marked("r15", ["data/r15"], true);
    const store = w.fake.deps.stores.backupLocations;
    const claim = store.claim.bind(store);
    const exportPath = `s3://${w.backupBucket}/r15-around`;
    const loc = `${exportPath}/bk`;
    w.fake.lakefs.addRepository("exp-r15", `s3://${w.bucket}/exp-r15/`, { main: "c1" });
    store.claim = async (c) => {
      // Between the CLI's check and its claim, an export path is set around the location.
      store.claim = claim;
      const set = await w.lakeport([
        ...["export", "set", "lakefs://exp-r15/main", "--path", exportPath, "--continuous=false"],
      ]);
      expect(set.code, set.stderr).toBe(0);
      return claim(c);
    };
    try {
      const b = await backup("r15", loc);
      expect(b.code, b.stderr).toBe(2);
      expect(b.stderr).toContain(`--to: ${loc} overlaps the export path ${exportPath}`);
    } finally {
      store.claim = claim;
    }
    expect(await keys(w.backupBucket, "r15-around/")).toEqual([]);
    expect(await claimedMarks(loc)).toEqual([]);
    // The API failing as the CLI claims: an API error, nothing written either.
    const elsewhere = `s3://${w.backupBucket}/r15-elsewhere`;
    store.claim = async () => {
      throw new Error("table unavailable");
    };
    try {
      const b = await backup("r15", elsewhere);
      expect(b.code, b.stderr).toBe(3);
    } finally {
      store.claim = claim;
    }
    expect(await keys(w.backupBucket, "r15-elsewhere/")).toEqual([]);
    expect(await claimedMarks(elsewhere)).toEqual([]);
  });

  it("a backup claims its location: no export path is set around it until it is released", async () => {
    // A branch's full export deletes whatever else is under its export path.
    await w.marked("r14", ["data/r14"], true);
    const loc = `s3://${w.backupBucket}/claims/r14`;
    const b = await backup("r14", loc);
    expect(b.code, b.stderr).toBe(0);
    const listed = await w.lakeport(["gc", "backup-locations", `lakefs://${repo}`]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${loc}  mark r14  claimed \\d{4}-`, "m"));
    const around = `s3://${w.backupBucket}/claims`;
    // Any repository's branch: here one with no export of its own yet.
    w.fake.lakefs.addRepository("exp-r14", `s3://${w.bucket}/exp-r14/`, { main: "c1" });
    const set = () =>
      w.lakeport([
        ...["export", "set", "lakefs://exp-r14/main", "--path", around, "--continuous=false"],
      ]);
    const refused = await set();
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      `400 exportPath: ${around} overlaps the GC backup location ${loc} of repository "${repo}" (mark r14)`,
    );
    const released = await w.lakeport([
      ...["gc", "backup-locations", `lakefs://${repo}`, "--release", loc],
    ]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout.trim()).toBe(`released ${loc}`);
    const again = await w.lakeport([
      ...["gc", "backup-locations", `lakefs://${repo}`, "--release", loc],
    ]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain(`404 no GC backup location ${loc} claimed for "${repo}"`);
    const bad = await w.lakeport([
      ...["gc", "backup-locations", `lakefs://${repo}`, "--release", "s3://b/a/../c"],
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--release: /);
    const stored = await set();
    expect(stored.code, stored.stderr).toBe(0);
  });
});
