// A plan call whose answer is lost (the connection to Lambda drops) is retried by Step Functions
// while its first attempt still runs, through the real Lakeport app on the embedded environment.
// Here the first attempt of the second plan call is held until the copies of that call's own
// segment have begun: listing the export path then, it would see the extras those copies
// deleted gone and cut its task shards elsewhere, and the copy children still to start would read
// its shards after the retry's, missing the paths between. The call is claimed (README,
// Continuous export: one writer per plan call): the late attempt answers the retry's plan and
// writes nothing, and the export holds exactly the commit. (Without the claim this export ended
// exported-successfully with a shard's 500 paths missing and its 500 extras left.)
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { exportAndWait } from "../support/export-runs";
import { linkPathsToOneObject } from "../support/lakefs-staging";
import {
  createLakeFsRepository,
  eventually,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("late-plan-out");
const OBJECTS = 5000;
const paths = Array.from({ length: OBJECTS }, (_, i) => `d/${String(i).padStart(5, "0")}.bin`);
const PLAN = "LakeportExportPlanFunction";
const COPY = "LakeportExportCopyFunction";
const env = useLakeportEnvironment({
  buckets: [outBucket],
  lambdaEnv: { COPY_MAP_CONCURRENCY: "2", PLAN_FIRST_SEGMENT_SHARDS: "4" },
});

/** Every key under `prefix` with its ETag. */
async function listed(bucket: string, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length), o.ETag!);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const records = (fn: string) => env.deployment.runtime.stats(env.deployment.physicalId(fn)).records;

it("a late attempt of a plan call answers the retry's plan and writes no shard", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const { etag } = await linkPathsToOneObject(env, repo, "main", paths, "one");
  await env.lakefs.commit(repo.id, "main", { message: "linked" });
  // The export path holds an extra beside every path: the export deletes them, half of each
  // task shard's lines.
  const prefix = `${repo.id}/exp/`;
  for (let i = 0; i < OBJECTS; i += 100) {
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
  const exported = await listed(outBucket, prefix);
  expect([...exported.keys()].sort()).toEqual(paths);
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
