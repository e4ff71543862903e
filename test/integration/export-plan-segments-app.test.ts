// A plan of several calls has each call's task shards copied while the next call lists (README,
// Continuous export: plan segments), on the real app. With two copy map children at a time
// (COPY_MAP_CONCURRENCY=2, a shard each) and a first segment of four shards
// (PLAN_FIRST_SEGMENT_SHARDS) the first plan call stops after four shards: an export of 6 000
// objects copies them while the second call lists the other 2 000. And when that second call
// fails, the shards already handed to the copies count as touched: the export ends failed with
// copies that may still run, and the repair brings every path they copied back to its head.
// With marker expressions, the first call has retracted the markers above its own shards only,
// and the repair writes them back, those of directories only the failed export's record names.
//
// A plan call whose answer is lost (the connection to Lambda drops) is retried by Step Functions
// while its first attempt still runs. In the second test the first attempt of the second plan call is held until the copies of that call's own
// segment have begun: listing the export path then, it would see the extras those copies
// deleted gone and cut its task shards elsewhere, and the copy children still to start would read
// its shards after the retry's, missing the paths between. The call is claimed (README,
// Continuous export: one writer per plan call): the late attempt answers the retry's plan and
// writes nothing, and the export holds exactly the commit. (Without the claim this export ended
// exported-successfully with a shard's 500 paths missing and its 500 extras left.)
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { exportAndWait } from "../support/export-runs";
import { settleExportNow } from "../support/export-settling";
import { linkPathsToOneObject, stageLinkedEntries } from "../support/lakefs-staging";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  type TestRepository,
  useLakeportEnvironment,
} from "../support/lakeport-env";
import { etagsUnder } from "../support/s3-listing";

const outBucket = uniqueName("segments-out");
const OBJECTS = 6000;
const paths = Array.from({ length: OBJECTS }, (_, i) => `d/${String(i).padStart(5, "0")}.bin`);
const LATE_OBJECTS = 5000;
const latePaths = paths.slice(0, LATE_OBJECTS);
const PLAN = "LakeportExportPlanFunction";
const COPY = "LakeportExportCopyFunction";
const env = useLakeportEnvironment({
  buckets: [outBucket],
  lambdaEnv: { COPY_MAP_CONCURRENCY: "2", PLAN_FIRST_SEGMENT_SHARDS: "4" },
});

/** Two physical objects of different content; returns their keys and ETags. */
async function pools(repo: TestRepository) {
  const out: { key: string; etag: string }[] = [];
  for (const body of ["version one", "version two"]) {
    const key = `repos/${repo.id}/data/${uniqueName("pool")}`;
    await env.s3.send(new PutObjectCommand({ Bucket: repo.bucket, Key: key, Body: body }));
    const head = await env.s3.send(new HeadObjectCommand({ Bucket: repo.bucket, Key: key }));
    out.push({ key, etag: head.ETag! });
  }
  return out;
}

/** Links `linked` paths to `pool` on main, then commits. */
async function commitLinked(
  repo: TestRepository,
  linked: string[],
  pool: { key: string; etag: string },
) {
  await stageLinkedEntries(
    env,
    repo.id,
    "main",
    linked.map((path) => ({
      path,
      physical_address: `s3://${repo.bucket}/${pool.key}`,
      checksum: pool.etag.replaceAll('"', ""),
      size_bytes: 11,
    })),
  );
  return (await env.lakefs.commit(repo.id, "main", { message: `${linked.length} linked` })).id;
}

async function configure(repo: string): Promise<void> {
  const put = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo}/exp`,
    exportStatusPath: `s3://${outBucket}/${repo}/status`,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
}

/** The exported objects' ETags by path. */
async function exportedEtags(repo: string): Promise<Map<string, string>> {
  const all = await etagsUnder(env.s3, outBucket, `${repo}/exp/`);
  return new Map([...all].filter(([path]) => path.endsWith(".bin")));
}

const records = (fn: string) => env.deployment.runtime.stats(env.deployment.physicalId(fn)).records;
const endOf = (r: { startedAt: Date; durationMs: number }) => r.startedAt.getTime() + r.durationMs;

/** Plan call `invocation` waits until a copy record beyond `copiesBefore` exists, then fails. */
function failPlanCallAfterACopy(
  runtime: LakeportEnvironment["deployment"]["runtime"],
  planFn: string,
  invocation: number,
  copiesBefore: number,
) {
  runtime.beforeInvocation({
    function: planFn,
    invocation,
    run: async () => {
      await eventually("a segment copy to end", () =>
        records(COPY).length > copiesBefore ? true : undefined,
      );
    },
  });
  runtime.injectFault({
    function: planFn,
    invocation,
    kind: "error",
    errorType: "PlanError",
    errorMessage: "lakeFS listing failed",
  });
}
describe("plan segments", () => {
  it("copies a call's shards while the next lists; a second call failing meanwhile: the repair brings back every path copied", async () => {
    const repo = await createLakeFsRepository(env, { webhook: false });
    const [one, two] = await pools(repo);
    await commitLinked(repo, paths, one!);
    await configure(repo.id);
    // The first export copies the first call's four shards while the second lists the other
    // 2 000 objects (each listing page of this repository takes 100 ms more: for a while).
    const slow = env.lakefsServer.faults.add({
      operation: "listObjects",
      route: `/repositories/${repo.id}/`,
      latencyMs: 100,
    });
    const plansBefore = records(PLAN).length;
    const copiesAtStart = records(COPY).length;
    try {
      expect(await exportAndWait(env, repo.id)).toMatchObject({ state: "exported-successfully" });
    } finally {
      env.lakefsServer.faults.remove(slow.id);
    }
    const plans = records(PLAN).slice(plansBefore);
    const firstCopies = records(COPY).slice(copiesAtStart);
    // Two plan calls; four segment shards and the last two, a child each (copy-batches.ts).
    expect(plans).toHaveLength(2);
    expect(firstCopies).toHaveLength(6);
    const firstCopy = Math.min(...firstCopies.map((r) => r.startedAt.getTime()));
    expect(firstCopy).toBeGreaterThanOrEqual(endOf(plans[0]!));
    expect(firstCopy).toBeLessThan(endOf(plans[1]!));
    const exported = await exportedEtags(repo.id);
    expect([...exported.keys()].sort()).toEqual(paths);
    expect(new Set(exported.values())).toEqual(new Set([one!.etag]));

    // Every path changes; the export's second plan call fails once a segment copy has ended.
    await commitLinked(repo, paths, two!);
    const planFn = env.deployment.physicalId(PLAN);
    const copyFn = env.deployment.physicalId(COPY);
    const runtime = env.deployment.runtime;
    const second = runtime.stats(planFn).invocations + 2;
    const copiesBefore = records(COPY).length;
    // The segment's fourth copy child is held until the export has failed: it has not reported.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    runtime.beforeInvocation({
      function: copyFn,
      invocation: runtime.stats(copyFn).invocations + 4,
      run: () => held,
    });
    failPlanCallAfterACopy(runtime, planFn, second, copiesBefore);
    const failed = await exportAndWait(env, repo.id);
    // A segment copy may still run: the branch waits for it (settling.ts).
    expect(failed).toMatchObject({ state: "export-failed" });
    expect(failed.settlesAt).toEqual(expect.any(String));
    release();
    await eventually("the held copy child to end", () =>
      records(COPY).length >= copiesBefore + 4 ? true : undefined,
    );
    const afterFailure = await exportedEtags(repo.id);
    const copied = paths.filter((p) => afterFailure.get(p) === two!.etag);
    // At least a shard of the first four (the first 4 000 paths) copied, nothing after them.
    expect(copied.length).toBeGreaterThanOrEqual(1000);
    expect(copied.every((p) => p < "d/04000.bin")).toBe(true);

    // The head takes the first 1 000 paths back to their first version: unchanged since the
    // last exported commit, so only the failed export's record says they were overwritten.
    await commitLinked(repo, paths.slice(0, 1000), one!);
    // The copies have ended: the settling time moved into the past.
    const settling = await settleExportNow(env, repo.id);
    expect(settling.unreconciled?.map((u) => u.exportId)).toEqual([failed.exportId]);
    expect(await exportAndWait(env, repo.id, "repair")).toMatchObject({ state: "export-repaired" });
    const etags = await exportedEtags(repo.id);
    expect([...etags.keys()].sort()).toEqual(paths);
    for (const [i, p] of paths.entries()) {
      expect(etags.get(p), p).toBe(i < 1000 ? one!.etag : two!.etag);
    }
  }, 300_000);

  it("with marker expressions, each call retracts its own shards' markers; the repair after a second call failing writes them back", async () => {
    const repo = await createLakeFsRepository(env, { webhook: false });
    const [one, two] = await pools(repo);
    // 60 directories of 100 objects: d/00/ to d/59/, each selected, and d/ above them.
    const inDirs = paths.map(
      (p, i) => `d/${String(Math.floor(i / 100)).padStart(2, "0")}/${p.slice(2)}`,
    );
    const dirs = [...new Set(inDirs.map((p) => p.slice(0, 5)))];
    await commitLinked(repo, inDirs, one!);
    const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
      exportPath: `s3://${outBucket}/${repo.id}/exp`,
      lastKeysInPrefixRegexp: ["^d/[0-9]+/$", "^d/$"],
      isContinuous: false,
    });
    expect(put.status, put.text).toBe(200);
    expect(await exportAndWait(env, repo.id)).toMatchObject({ state: "exported-successfully" });
    const markers = async () =>
      [...(await etagsUnder(env.s3, outBucket, `${repo.id}/exp/`)).keys()]
        .filter((k) => k.endsWith("_lakefs_success"))
        .sort();
    const all = ["d/", ...dirs].map((d) => `${d}_lakefs_success`).sort();
    expect(await markers()).toEqual(all);

    // Every path changes; the second plan call fails once a copy of the first call's segment
    // (its four shards: d/00/ to d/39/) has ended, before it plans anything.
    await commitLinked(repo, inDirs, two!);
    const runtime = env.deployment.runtime;
    const planFn = env.deployment.physicalId(PLAN);
    const second = runtime.stats(planFn).invocations + 2;
    const copiesBefore = records(COPY).length;
    failPlanCallAfterACopy(runtime, planFn, second, copiesBefore);
    expect(await exportAndWait(env, repo.id)).toMatchObject({ state: "export-failed" });
    await eventually("the segment's copies to end", () =>
      records(COPY).length >= copiesBefore + 4 ? true : undefined,
    );
    // The first call retracted d/ and d/00/ to d/39/; d/40/ to d/59/, never planned, keep theirs.
    expect(await markers()).toEqual(dirs.slice(40).map((d) => `${d}_lakefs_success`));

    // The head takes d/00/ to d/09/ back to the last exported commit: only the failed export's
    // record names them, and the repair writes their markers again.
    await commitLinked(repo, inDirs.slice(0, 1000), one!);
    await settleExportNow(env, repo.id);
    expect(await exportAndWait(env, repo.id, "repair")).toMatchObject({ state: "export-repaired" });
    expect(await markers()).toEqual(all);
  }, 300_000);

  it("a late attempt of a plan call answers the retry's plan and writes no shard", async () => {
    const repo = await createLakeFsRepository(env, { webhook: false });
    const { etag } = await linkPathsToOneObject(env, repo, "main", latePaths, "one");
    await env.lakefs.commit(repo.id, "main", { message: "linked" });
    // The export path holds an extra beside every path: the export deletes them, half of each
    // task shard's lines.
    const prefix = `${repo.id}/exp/`;
    for (let i = 0; i < LATE_OBJECTS; i += 100) {
      await Promise.all(
        paths
          .slice(i, i + 100)
          .map((p) =>
            env.s3.send(
              new PutObjectCommand({ Bucket: outBucket, Key: `${prefix}${p}.old`, Body: "x" }),
            ),
          ),
      );
    }
    const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
      exportPath: `s3://${outBucket}/${repo.id}/exp`,
      isContinuous: false,
    });
    expect(put.status, put.text).toBe(200);

    // 10 000 lines, 10 shards: the first call writes 4 (a child each), the second 6. Its first
    // attempt: Step Functions is told the connection dropped, the invocation is held until the
    // second segment's children have run but one (its third), which waits for that attempt.
    const runtime = env.deployment.runtime;
    const planFn = env.deployment.physicalId(PLAN);
    const copyFn = env.deployment.physicalId(COPY);
    const plansBefore = records(PLAN).length;
    const late = runtime.stats(planFn).invocations + 2;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    runtime.injectFault({ function: planFn, invocation: late, kind: "lost-answer" });
    runtime.beforeInvocation({ function: planFn, invocation: late, run: () => held });
    let lateEndedBeforeChild = false;
    const copiesBefore = records(COPY).length;
    runtime.beforeInvocation({
      function: copyFn,
      invocation: runtime.stats(copyFn).invocations + 4 + 3,
      run: async () => {
        // The segment's other five children have copied and deleted their shards' paths.
        await eventually("the other copy children to end", () =>
          records(COPY).length >= copiesBefore + 4 + 5 ? true : undefined,
        );
        release();
        await eventually("the late plan attempt to end", () =>
          records(PLAN).some((r) => r.invocation === late) ? true : undefined,
        );
        lateEndedBeforeChild = true;
      },
    });
    const ended = await exportAndWait(env, repo.id);
    expect(lateEndedBeforeChild).toBe(true);

    // Exactly the commit: every path at its object, every extra gone.
    expect(ended).toMatchObject({ state: "exported-successfully" });
    const exported = await etagsUnder(env.s3, outBucket, prefix);
    expect([...exported.keys()].sort()).toEqual(latePaths);
    expect(new Set(exported.values())).toEqual(new Set([etag]));

    // Three plan invocations: call 1, the late attempt and the retry of call 2.
    const plans = records(PLAN).slice(plansBefore);
    expect(plans.map((r) => r.invocation).sort()).toEqual([late - 1, late, late + 1]);
    // The retry owns call 2; its record holds the answer the late attempt gave.
    const retry = plans.find((r) => r.invocation === late + 1)!;
    const work = env.resources.workBucket;
    const claimKey = `exports/${ended.exportId}/plan/calls/call-000001.json`;
    const claim = await env.s3.send(new GetObjectCommand({ Bucket: work, Key: claimKey }));
    const record = JSON.parse(await claim.Body!.transformToString());
    expect(record.attempt).toBe(retry.requestId);
    expect(record.output).toMatchObject({ done: true, call: 1, counts: { shards: 10 } });
  }, 300_000);
});
