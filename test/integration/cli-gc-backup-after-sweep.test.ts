// A backup copies a mark's objects out BEFORE its sweep. Objects a mark lists that are gone are
// counted as absent (an earlier sweep of another mark deleted them); but once this mark's own
// sweep has run (or while it runs), "absent" means "deleted by this sweep": a backup then is
// too late, and must say so instead of succeeding with every object "already absent"; so must
// a backup during which that sweep began (its check passed, then the sweep deleted).
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseBackupRecord } from "../../lambdas/gc/domain/backup-record";
import { type CliGcCopyWorld, startCliGcCopyWorld } from "../support/cli-gc-copy";
import { testS3Client } from "../support/clients";

let w: CliGcCopyWorld;
let fake: CliGcCopyWorld["fake"];
let bucket: string;
let backupBucket: string;
const repo = "repo-bk";
const lakeport = (args: string[]) => w.lakeport(args);
const markedThroughCli = (markId: string, paths: string[], objects: boolean) =>
  w.marked(markId, paths, objects);
const now = () => new Date().toISOString();

beforeAll(async () => {
  w = await startCliGcCopyWorld(repo);
  ({ fake, bucket, backupBucket } = w);
});
afterAll(() => w.stop());

test("gc backup of a mark its own sweep already deleted is refused", async () => {
  const gc = fake.deps.stores.gc;
  // The mark's list: data/a, which its sweep (below) deleted.
  await markedThroughCli("m1", ["data/a"], false);
  const sweep = await lakeport([
    "--json",
    "gc",
    "run",
    `lakefs://${repo}`,
    "--sweep-only",
    "--mark-id",
    "m1",
  ]);
  expect(sweep.code, sweep.stderr).toBe(0);
  const sweepRun = JSON.parse(sweep.stdout).run_id as string;
  await gc.completeRun(repo, sweepRun, { status: "succeeded" }, now());

  const backup = await lakeport([
    "gc",
    "backup",
    `lakefs://${repo}`,
    "--mark-id",
    "m1",
    "--to",
    `s3://${backupBucket}/m1`,
  ]);
  expect(backup.code, `${backup.stdout}${backup.stderr}`).not.toBe(0);
  expect(backup.stderr).toMatch(/swept/);
});

test("gc backup during which the mark's sweep began fails, naming that sweep", async () => {
  const gc = fake.deps.stores.gc;
  const markRun = await markedThroughCli("m2", ["data/b", "data/c"], true);
  const s3 = testS3Client();
  // The backup's check reads the mark before any sweep; the sweep begins right after that
  // read (a sweep-only start, or the sweep phase of a mark and sweep) and deletes data/b.
  const getMark = gc.getMark.bind(gc);
  let sweepRun: string | undefined;
  gc.getMark = async (r, id) => {
    const seen = await getMark(r, id);
    if (id === "m2" && !sweepRun) {
      sweepRun = `${markRun}-sweep`;
      const started = await gc.createRun(
        {
          repository: repo,
          runId: sweepRun,
          mode: "sweep-only",
          markId: "m2",
          status: "running",
          counts: {},
          startedAt: now(),
        },
        { nowSeconds: Math.floor(Date.now() / 1000), leaseSeconds: 600, sweepsMark: true },
      );
      expect(started.created).toBe(true);
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${repo}/data/b` }));
    }
    return seen;
  };
  try {
    const backup = await lakeport([
      "gc",
      "backup",
      `lakefs://${repo}`,
      "--mark-id",
      "m2",
      "--to",
      `s3://${backupBucket}/m2`,
    ]);
    expect(backup.code, `${backup.stdout}${backup.stderr}`).toBe(4);
    expect(backup.stderr).toContain(`run ${sweepRun}`);
    expect(backup.stderr).toMatch(/began during the backup/);
    // The backup's record says so: a restore from it is refused unless accepted.
    const got = await s3.send(
      new GetObjectCommand({ Bucket: backupBucket, Key: "m2/_lakeport_backup.json" }),
    );
    const record = parseBackupRecord(await got.Body!.transformToString(), "record");
    expect(record.state).toBe("failed");
    expect(record.reason).toContain(`run ${sweepRun}`);
  } finally {
    gc.getMark = getMark;
  }
});

test("gc backup while the mark's sweep runs is refused, writing nothing; after that sweep failed it warns", async () => {
  const gc = fake.deps.stores.gc;
  // The sweep the test above began is still running: end it (one GC run per repository).
  for (const run of (await gc.listRuns(repo, { limit: 50 })).runs) {
    if (run.status === "running")
      await gc.completeRun(repo, run.runId, { status: "failed" }, now());
  }
  await markedThroughCli("m3", ["data/d"], true);
  const sweep = await lakeport([
    ...["--json", "gc", "run", `lakefs://${repo}`, "--sweep-only", "--mark-id", "m3"],
  ]);
  expect(sweep.code, sweep.stderr).toBe(0);
  const sweepRun = JSON.parse(sweep.stdout).run_id as string;
  const to = ["--mark-id", "m3", "--to", `s3://${backupBucket}/m3`];
  const s3 = testS3Client();
  const recordOf = () =>
    s3
      .send(new GetObjectCommand({ Bucket: backupBucket, Key: "m3/_lakeport_backup.json" }))
      .then(async (o) => parseBackupRecord(await o.Body!.transformToString(), "record"))
      .catch(() => undefined);

  const during = await lakeport(["gc", "backup", `lakefs://${repo}`, ...to]);
  expect(during.code, `${during.stdout}${during.stderr}`).toBe(2);
  expect(during.stderr).toContain(`mark id "m3" is being swept by run ${sweepRun}`);
  expect(await recordOf()).toBeUndefined();

  // The sweep failed part way: what it deleted counts as absent, and the CLI says so.
  await gc.completeRun(repo, sweepRun, { status: "failed" }, now());
  const after = await lakeport(["gc", "backup", `lakefs://${repo}`, ...to]);
  expect(after.code, after.stderr).toBe(0);
  expect(after.stderr).toContain(
    `warning: mark m3 was partly swept by run ${sweepRun} (the sweep failed): the objects it deleted are counted as absent, not backed up`,
  );
  expect(await recordOf()).toMatchObject({ markId: "m3", state: "complete" });
});
