// A backup copies a mark's objects out BEFORE its sweep. Objects a mark lists that are gone are
// counted as absent (an earlier sweep of another mark deleted them); but once this mark's own
// sweep has run (or while it runs), "absent" means "deleted by this sweep": a backup then is
// too late, and must say so instead of succeeding with every object "already absent"; so must
// a backup during which that sweep began (its check passed, then the sweep deleted).
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { type FakeApi, startApiWithFakes } from "../support/api-harness";
import { testS3Client, uniqueName } from "../support/clients";

let fake: FakeApi;
let dir: string;
const repo = "repo-bk";
const bin = path.resolve(__dirname, "../../cli/bin.mjs");
const bucket = uniqueName("bkns");
const backupBucket = uniqueName("bkto");

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository(repo, `s3://${bucket}/${repo}`, { main: "c1" });
  dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-cli-"));
  const s3 = testS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new CreateBucketCommand({ Bucket: backupBucket }));
});
afterAll(() => fake.stop());

function lakeport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          LAKEPORT_ENDPOINT: fake.api.endpoint,
          AWS_ACCESS_KEY_ID: fake.api.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: fake.api.credentials.secretAccessKey,
          AWS_REGION: fake.api.region,
          AWS_ENDPOINT_URL_S3: inject("s3Endpoint"),
          LAKEPORT_S3_FORCE_PATH_STYLE: "true",
        },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const now = () => new Date().toISOString();

/**
 * A successful mark-only run started through the CLI, its one address list holding `paths`,
 * each also stored in the namespace when `objects` says so. Returns the mark's run id.
 */
async function markedThroughCli(markId: string, paths: string[], objects: boolean) {
  const gc = fake.deps.stores.gc;
  await gc.putRules(repo, { default_retention_days: 7, branches: [] }, now());
  const mark = await lakeport([
    "--json",
    "gc",
    "run",
    `lakefs://${repo}`,
    "--mark-only",
    "--mark-id",
    markId,
  ]);
  expect(mark.code, mark.stderr).toBe(0);
  const markRun = JSON.parse(mark.stdout).run_id as string;
  await gc.endMark(repo, markId, markRun, { partitions: 1, markedAt: now() });
  await gc.completeRun(repo, markRun, { status: "succeeded" }, now());
  const s3 = testS3Client();
  const list = `${repo}/${gcPaths.addressesTextPart(markId, 0)}`;
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: list, Body: paths.map((p) => `${p}\n`).join("") }),
  );
  for (const p of objects ? paths : []) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${repo}/${p}`, Body: p }));
  }
  return markRun;
}

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
  } finally {
    gc.getMark = getMark;
  }
});
