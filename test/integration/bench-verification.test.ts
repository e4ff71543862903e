// The benchmark's own environment (bench/env.ts, as `npm run bench` starts it) and the checks
// every benchmark run makes of its data: an export and a GC run through the same functions the
// bench runs pass them; then the export path, the status file or the namespace is changed from
// outside, and the same checks fail naming what is wrong. lakeFS runs in a thread of its own
// there (bench/lakefs-thread.ts), so it answers while this thread is busy.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchEnv, startBenchEnv } from "../../bench/env";
import {
  BenchFailure,
  commitAndAwaitExport,
  ensureBucket,
  prepareExportBranch,
  stageChanges,
  verifyExport,
  verifyPathEqualsCommit,
} from "../../bench/export-bench";
import { runGcBench, verifySweep } from "../../bench/gc-bench";
import { describeBreakdown, runLatencyBench } from "../../bench/latency-bench";
import { writePhysicalObjects } from "../../bench/populate";
import {
  type ExtraClientWork,
  extraClientWorkSeriesOf,
  measureCopyCeiling,
} from "../../bench/s3-ceiling";
import { PhaseRecorder } from "../../bench/usage";
import { LOCAL_STACK_NAME } from "../../local/lakeport-assembly";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { lakeportAssemblyDir } from "../support/lakeport-env";

let env: BenchEnv;
let dataRoot: string;
const ns = "lakeport-local-storage";
const exportsBucket = "lakeport-local-exports";

beforeAll(async () => {
  dataRoot = await mkdtemp(path.join(os.tmpdir(), "bench-verify-"));
  env = await startBenchEnv({
    dataRoot,
    assemblyCacheDir: path.join(dataRoot, "assembly"),
    storageBuckets: [ns],
    exportBuckets: [exportsBucket],
    log: () => undefined,
    lambdaConcurrency: 2,
    // The test run's assembly (its buckets, named above): the bench's own synthesis for its
    // buckets would cost the suite a minute and test nothing more here. This S3 is the bench
    // environment's own, so the names meet no other test's buckets.
    assembly: { assemblyDir: await lakeportAssemblyDir(), stackName: LOCAL_STACK_NAME },
  });
  await ensureBucket(env.s3, ns);
  await ensureBucket(env.s3, exportsBucket);
});

afterAll(async () => {
  await env?.stop();
  await rm(dataRoot, { recursive: true, force: true });
});

async function body(s3: S3Client, bucket: string, key: string): Promise<string> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await o.Body!.transformToString("utf8");
}

const put = (s3: S3Client, bucket: string, key: string, text: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text }));

const del = (s3: S3Client, bucket: string, key: string) =>
  s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

/** Resolves to the BenchFailure the check throws (and fails the test if it passes). */
async function failureOf(check: Promise<unknown>): Promise<BenchFailure> {
  const err = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BenchFailure);
  return err as BenchFailure;
}

it("lakeFS answers from a thread of its own: a request made while this thread is blocked", () => {
  // execFileSync blocks this thread until the child ends; a lakeFS served from this thread
  // could not answer it, and the child would time out.
  const out = execFileSync(
    process.execPath,
    [
      "-e",
      `fetch(${JSON.stringify(`${env.lakefsServer.endpoint}/_lakeport/health`)}).then((r) => console.log(r.status))`,
    ],
    { timeout: 20_000, encoding: "utf8" },
  );
  expect(out.trim()).toBe("200");
});

describe("export", () => {
  it("a first and an incremental export pass the bench's check; changes from outside fail it, naming the key", async () => {
    const pool = await writePhysicalObjects(env.s3, ns, "pool/", 20, "pool");
    const b = await prepareExportBranch(env, {
      repo: "verify-export",
      nsBucket: ns,
      exportBucket: exportsBucket,
      objects: 150,
      pool,
    });
    const first = await commitAndAwaitExport(env, b, "first", 120_000);
    await verifyExport(env, b, first.commitId);
    await stageChanges(env, b, ns, 5, 1);
    const { commitId } = await commitAndAwaitExport(env, b, "five changes", 120_000);
    expect(commitId).not.toBe(first.commitId);
    await verifyExport(env, b, commitId);

    const check = () => verifyPathEqualsCommit(env, b, commitId, b.exportPrefix);
    const key = `${b.exportPrefix}/data/07/part-0000007.bin`;
    const original = await body(env.s3, exportsBucket, key);

    await del(env.s3, exportsBucket, key);
    expect((await failureOf(check())).message).toMatch(/data\/07\/part-0000007\.bin/);
    await put(env.s3, exportsBucket, key, original);
    await check();

    await put(env.s3, exportsBucket, key, `${original}changed`);
    expect((await failureOf(check())).message).toMatch(
      /data\/07\/part-0000007\.bin has ETag [0-9a-f]{32}, commit says/,
    );
    await put(env.s3, exportsBucket, key, original);

    await put(env.s3, exportsBucket, `${b.exportPrefix}/zz-extra`, "not in the commit");
    expect((await failureOf(check())).message).toMatch(/holds an extra key zz-extra/);
    await del(env.s3, exportsBucket, `${b.exportPrefix}/zz-extra`);

    const statusKey = `${b.statusPrefix}/${b.repo}-${b.branch}-${commitId}`;
    const line = await body(env.s3, exportsBucket, statusKey);
    await put(env.s3, exportsBucket, statusKey, "status: export-failed, signalled_errors: 1\n");
    expect((await failureOf(verifyExport(env, b, commitId))).message).toMatch(
      /status file of verify-export@[0-9a-f]+ says: status: export-failed/,
    );
    await put(env.s3, exportsBucket, statusKey, line);
    await verifyExport(env, b, commitId);

    // The check against the previous commit: five paths differ.
    const previous = verifyPathEqualsCommit(env, b, first.commitId, b.exportPrefix);
    expect((await failureOf(previous)).message).toMatch(
      /data\/00\/part-0000000\.bin has ETag [0-9a-f]{32}, commit says/,
    );
  });
});

describe("GC", () => {
  it("a mark and sweep pass the bench's check; an object swept and written back, or a kept one deleted, fails it", async () => {
    const o = { base: 30, branches: 2, commitsPerBranch: 3, hotPaths: 4, nsBucket: ns };
    const r = await runGcBench(env, {
      ...o,
      phase: () => new PhaseRecorder(env),
      log: () => undefined,
    });
    // Two branches x (3 - 1) commits x 4 hot paths: the objects only expired commits held.
    expect(r.measurement.expectedSwept).toBe(16);
    expect(r.measurement.swept).toBe(16);
    const repo = r.repository;
    const keyOf = (address: string) => address.slice(`s3://${ns}/`.length);

    const swept = keyOf([...repo.swept][0]!);
    await put(env.s3, ns, swept, "back again");
    expect((await failureOf(verifySweep(env, o, repo))).message).toContain(
      `left ${swept}, which it should have deleted`,
    );
    await del(env.s3, ns, swept);
    await verifySweep(env, o, repo);

    const kept = keyOf([...repo.kept][0]!);
    const keptBody = await body(env.s3, ns, kept);
    await del(env.s3, ns, kept);
    expect((await failureOf(verifySweep(env, o, repo))).message).toMatch(
      /deleted 1 objects still referenced/,
    );
    await put(env.s3, ns, kept, keptBody);

    await put(env.s3, ns, `${repo.dataPrefix}stray`, "no commit holds it");
    expect((await failureOf(verifySweep(env, o, repo))).message).toMatch(/unexpected object/);
    await del(env.s3, ns, `${repo.dataPrefix}stray`);
    expect(await verifySweep(env, o, repo)).toBe(repo.kept.size);
  });
});

describe("latency", () => {
  it("times commits to their status lines and says where the median commit's time went", async () => {
    const pool = await writePhysicalObjects(env.s3, ns, "latency-pool/", 20, "latency-pool");
    const r = await runLatencyBench(env, {
      pool,
      nsBucket: ns,
      exportBucket: exportsBucket,
      commits: 3,
      log: () => undefined,
    });
    expect(r.commits).toBe(3);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p50Ms).toBeLessThanOrEqual(r.p95Ms);
    expect(r.p95Ms).toBeLessThanOrEqual(r.maxMs);
    // The breakdown is the median commit's own: its total is the p50, lakeFS's commit came
    // first, and the export's functions ran after it, the status step before the line was seen.
    const m = r.medianCommit!;
    expect(m.ms).toBe(r.p50Ms);
    expect(m.lakeFsCommitMs).toBeLessThan(m.ms);
    const fn = (name: string) => m.functions.find((f) => f.function === name);
    for (const name of ["ExportTriggerFunction", "ExportPlanFunction", "ExportStatusFunction"]) {
      expect(fn(name), name).toBeDefined();
      expect(fn(name)!.startMs, name).toBeGreaterThanOrEqual(0);
      expect(fn(name)!.endMs, name).toBeGreaterThanOrEqual(fn(name)!.startMs);
    }
    expect(fn("ExportTriggerFunction")!.startMs).toBeLessThan(fn("ExportPlanFunction")!.startMs);
    expect(fn("ExportPlanFunction")!.endMs).toBeLessThanOrEqual(
      fn("ExportStatusFunction")!.startMs,
    );
    expect(fn("ExportStatusFunction")!.startMs).toBeLessThan(m.ms);
    expect(describeBreakdown(m)).toMatch(
      new RegExp(
        `^${m.ms.toFixed(0)} ms: lakeFS commit 0-\\d+, ExportTrigger \\d+-\\d+ \\(\\d+\\), `,
      ),
    );
  });
});

describe("S3 ceiling loop with extra client work", () => {
  it("spends the extra work on the loop's thread, beside copies that all land", async () => {
    const sample = async (bucket: string, extraClientWork?: ExtraClientWork) =>
      await measureCopyCeiling(env.s3, {
        endpoint: env.s3Server.endpoint,
        credentials: { ...LOCAL_S3_CREDENTIALS },
        bucket,
        sources: 50,
        copies: 1500,
        settings: [[1, 16]],
        body: "ceiling object body\n",
        request: "export",
        ...(extraClientWork ? { extraClientWork } : {}),
      });
    const plain = await sample("extra-work-none");
    const spin = await sample("extra-work-spin", { kind: "spin", amount: 16 });
    const garbage = await sample("extra-work-garbage", { kind: "garbage", amount: 64 });
    for (const [bucket, s] of [
      ["extra-work-none", plain],
      ["extra-work-spin", spin],
      ["extra-work-garbage", garbage],
    ] as const) {
      expect(s.copies).toBe(1500);
      // Every timed copy landed, at the export's key layout (plus the untimed warm-up's).
      let keys = 0;
      let token: string | undefined;
      do {
        const page = await env.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: "dst-1x16/data/",
            ContinuationToken: token,
          }),
        );
        keys += page.KeyCount ?? 0;
        token = page.NextContinuationToken;
      } while (token);
      expect(keys, bucket).toBe(1500);
    }
    // The loop's own thread (told apart by its Linux thread id) pays for the extra work: some
    // 70 µs a copy for 16 000 spins, some 100 for 64 parses, against about 100 for the copy.
    const loop = (s: typeof plain) => s.cpu?.clientThreadsMicrosPerObject;
    if (loop(plain) === undefined) return; // no /proc: the loop's thread is not told apart
    expect(loop(spin)! - loop(plain)!).toBeGreaterThan(30);
    expect(loop(garbage)! - loop(plain)!).toBeGreaterThan(30);
  });

  it("reads a series of extra work, refusing anything else by the variable's name", () => {
    expect(extraClientWorkSeriesOf("none, spin:16,garbage:8")).toEqual([
      undefined,
      { kind: "spin", amount: 16 },
      { kind: "garbage", amount: 8 },
    ]);
    for (const bad of ["", "spin", "spin:0", "spin:-1", "garbage:1.5", "burn:5", "none,,spin:1"]) {
      expect(() => extraClientWorkSeriesOf(bad), bad).toThrow(
        /^LAKEPORT_BENCH_EXTRA_WORK: expected/,
      );
    }
  });
});
