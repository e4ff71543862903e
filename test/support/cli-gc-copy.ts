// The world of the CLI's gc backup and restore tests: the API with fake lakeFS and state
// stores, the real embedded S3 for the namespace and the backups, and the CLI run as a process.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect, inject } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { type FakeApi, startApiWithFakes } from "./api-harness";
import { testS3Client, uniqueName } from "./clients";

const bin = path.resolve(__dirname, "../../cli/bin.mjs");

export interface CliGcCopyWorld {
  fake: FakeApi;
  repo: string;
  /** The namespace's bucket (the namespace is s3://<bucket>/<repo>). */
  bucket: string;
  /** A bucket outside the namespace for backups. */
  backupBucket: string;
  lakeport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * A successful mark-only run started through the CLI, its one address list holding `lines`,
   * each stored in the namespace (with its own name as content) when `objects` says so; the
   * mark has `partitions` partitions (1 unless given), whose other lists are not written.
   */
  marked(
    markId: string,
    lines: string[],
    objects: boolean,
    opts?: { partitions?: number },
  ): Promise<string>;
  stop(): Promise<void>;
}

export async function startCliGcCopyWorld(repo: string): Promise<CliGcCopyWorld> {
  const fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  const bucket = uniqueName("bkns");
  const backupBucket = uniqueName("bkto");
  fake.lakefs.addRepository(repo, `s3://${bucket}/${repo}`, { main: "c1" });
  const dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-cli-"));
  const s3 = testS3Client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new CreateBucketCommand({ Bucket: backupBucket }));
  const now = () => new Date().toISOString();

  const lakeport: CliGcCopyWorld["lakeport"] = (args) =>
    new Promise((resolve) => {
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

  const marked: CliGcCopyWorld["marked"] = async (markId, lines, objects, opts = {}) => {
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
    await gc.endMark(repo, markId, markRun, { partitions: opts.partitions ?? 1, markedAt: now() });
    await gc.completeRun(repo, markRun, { status: "succeeded" }, now());
    const list = `${repo}/${gcPaths.addressesTextPart(markId, 0)}`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: list,
        Body: lines.map((p) => `${p}\n`).join(""),
      }),
    );
    for (const p of objects ? lines : []) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${repo}/${p}`, Body: p }));
    }
    return markRun;
  };

  return { fake, repo, bucket, backupBucket, lakeport, marked, stop: () => fake.stop() };
}
