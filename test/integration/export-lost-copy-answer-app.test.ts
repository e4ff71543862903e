// A copy batch whose Lambda call fails on Step Functions' side while the invocation runs on (a
// dropped connection: Lambda.SdkClientException, retried, and failed for good), through the
// real Lakeport app on the embedded environment. The export ends failed with the batch's shard
// unreported, but its invocations may still copy the old commit: a repair made meanwhile would
// have them land over its copies of the new head under its success line. The branch records
// until when they may run, and the repair waits, as after an aborted export. (Held here before
// they start, they find their export ended and copy nothing.)
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { settleExportNow } from "../support/export-settling";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
const outBucket = uniqueName("lost-copy-out");
const COPY = "LakeportExportCopyFunction";
/** The copy task's first attempt and its 6 retries of a Lambda service error. */
const ATTEMPTS = 7;

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function status(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function exported(repo: string): Promise<string> {
  const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: `${repo}/a.txt` }));
  return await o.Body!.transformToString();
}

it("a repair waits for the copy invocations a failed export lost the answers of", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "a.txt", { content: "old" });
  await env.lakefs.commit(repo.id, "main", { message: "old" });
  const cfg = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}`,
    isContinuous: false,
  });
  expect(cfg.status, cfg.text).toBe(200);

  // Every attempt of the copy batch: Step Functions is told the connection dropped, while the
  // invocation runs on, held here until the test lets it copy.
  const runtime = env.deployment.runtime;
  const copyFn = env.deployment.physicalId(COPY);
  const endedBefore = runtime.stats(copyFn).records.length;
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  for (let i = 0; i < ATTEMPTS; i++) {
    runtime.injectFault({ function: COPY, invocation: "next", kind: "lost-answer" });
    runtime.beforeInvocation({ function: COPY, invocation: "next", run: () => held });
  }
  const stoppedAfter = Date.now();
  expect((await env.api.post(`/repositories/${repo.id}/branches/main/export-hook`)).status).toBe(
    202,
  );
  const failed = await eventually("the export recorded as failed", async () => {
    const s = await status(repo.id);
    return s?.state === "export-failed" ? s : undefined;
  });
  expect(failed.errorMessage).toContain("did not complete");
  // The copy function's 15-minute timeout and a minute of margin, from the execution's end.
  const until = Date.parse(failed.settlesAt);
  expect(until).toBeGreaterThanOrEqual(stoppedAfter + 16 * 60_000);
  expect(until).toBeLessThanOrEqual(Date.now() + 16 * 60_000 + 5_000);

  // A new head; the repair is refused while the lost invocations may still copy.
  await env.lakefs.uploadObject(repo.id, "main", "a.txt", { content: "new" });
  const head = (await env.lakefs.commit(repo.id, "main", { message: "new" })).id;
  const early = await env.api.post(`/repositories/${repo.id}/branches/main/repair-export`, {});
  expect(early.status, early.text).toBe(409);
  expect(early.body.message).toContain(`until ${failed.settlesAt}`);
  expect(await status(repo.id)).toMatchObject({
    state: "export-failed",
    settlesAt: failed.settlesAt,
  });

  // The invocations start only now, after their export ended: they copy nothing (one that
  // had started before would have been listed by the status step, export-late-writer-app).
  release();
  await eventually("the lost invocations' end", () =>
    runtime.stats(copyFn).records.length >= endedBefore + ATTEMPTS ? true : undefined,
  );
  await expect(exported(repo.id)).rejects.toMatchObject({ name: "NoSuchKey" });

  // Once they have stopped (the settling time moved into the past here), the repair runs and
  // nothing lands after it.
  await settleExportNow(env, repo.id);
  const repair = await env.lakeport(["export", "repair", `lakefs://${repo.id}@main`, "--wait"]);
  expect(repair.code, repair.stderr + repair.stdout).toBe(0);
  expect(await status(repo.id)).toMatchObject({
    state: "export-repaired",
    lastExportedCommit: head,
  });
  expect(await exported(repo.id)).toBe("new");
}, 180_000);
