// A sweep Lambda killed at its timeout would leave no deleted-objects log for what it had
// deleted. The sweep stops sending delete requests once less than a minute of its function's
// time is left, writes its log and counts, and fails the run, naming the way on; a sweep-only
// run of the mark finishes. On the real Lakeport app (test/support/lakeport-env.ts), the sweep
// function's timeout set to 60 s, so that the first request would already start inside the
// last minute.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { gcAppRuns, repositoryWithOldA } from "../support/gc-app-runs";
import { useLakeportEnvironment } from "../support/lakeport-env";

const env = useLakeportEnvironment();
const { gc, read } = gcAppRuns(() => env);

describe("a sweep whose function's time runs short", () => {
  it("deletes nothing more, writes its log, fails naming a sweep-only run; that run finishes", async () => {
    const { id, c0 } = await repositoryWithOldA(env);
    const rules = { default_retention_days: 3, branches: [] };
    expect((await env.api.put(`/repositories/${id}/settings/gc_rules`, rules)).status).toBe(204);
    const mark = await gc(id, { mode: "mark-only", mark_id: "m1" });
    expect(mark, JSON.stringify(mark)).toMatchObject({ status: "succeeded" });
    const sweepFn = env.deployment.resources.find(
      (r) => r.type === "AWS::Lambda::Function" && /GcSweepFunction/.test(r.logicalId),
    )!.physicalId;
    env.deployment.runtime.updateFunctionLimits(sweepFn, { timeoutSeconds: 60 });
    let short: Record<string, unknown>;
    try {
      short = await gc(id, { mode: "sweep-only", mark_id: "m1" });
    } finally {
      env.deployment.runtime.updateFunctionLimits(sweepFn, { timeoutSeconds: 900 });
    }
    expect(short.status).toBe("failed");
    expect(JSON.stringify(short)).toContain(
      "stopped with less than a minute of its function's time left, its deleted-objects log written: start a sweep-only run of the mark",
    );
    expect(await read(id, c0, "a")).toBe("old a");
    // Each part's log is there (nothing deleted), not lost with the function.
    const repo = await namespaceOf(id);
    const logs = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: repo.bucket,
        Prefix: `${repo.prefix}/_lakefs/logs/gc/deleted_objects/`,
      }),
    );
    expect(logs.KeyCount, JSON.stringify(logs.Contents)).toBeGreaterThan(0);
    const resumed = await gc(id, { mode: "sweep-only", mark_id: "m1" });
    expect(resumed, JSON.stringify(resumed)).toMatchObject({ status: "succeeded" });
    expect(await read(id, c0, "a")).toBe(410);
    expect(await read(id, "main", "a")).toBe("new a");
  }, 180_000);
});

/** The bucket and key prefix of a repository's storage namespace. */
async function namespaceOf(id: string) {
  const repo = await env.lakefs.getRepository(id);
  const m = /^s3:\/\/([^/]+)\/(.*?)\/*$/.exec(repo.storage_namespace)!;
  return { bucket: m[1]!, prefix: m[2]! };
}
