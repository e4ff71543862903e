// A continuous branch whose head moved without an event, through the real Lakeport app on the
// embedded environment: lakeFS delivers a webhook once and does not retry it, and a hard reset
// sends none. The scheduled stuck-export check finds the head that no export followed and
// exports it (here with no grace: a commit older than the start grace counts); a head already
// exported, or a branch that is not continuous, is left alone.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { StuckCheckResult } from "../../lambdas/export/app/stuck-exports";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
const outBucket = uniqueName("missed-out");
const STUCK_CHECK = "LakeportExportStuckCheckFunction";

beforeAll(async () => {
  env = await startLakeportEnvironment({
    // Its own servers, so its own table: the check looks at every export state there is.
    servers: "own",
    lambdaEnv: { STUCK_EXPORT_GRACE_MINUTES: "0" },
  });
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function status(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function exportedAt(repo: string, commitId: string) {
  return eventually(`${repo} exported at ${commitId}`, async () => {
    const s = await status(repo);
    return s?.state === "exported-successfully" && s.lastExportedCommit === commitId
      ? s
      : undefined;
  });
}

async function exportPathKeys(repo: string): Promise<string[]> {
  const out = await env.s3.send(
    new ListObjectsV2Command({ Bucket: outBucket, Prefix: `${repo}/` }),
  );
  return (out.Contents ?? []).map((o) => (o.Key as string).slice(repo.length + 1)).sort();
}

async function exportedBody(repo: string, path: string): Promise<string> {
  const out = await env.s3.send(
    new GetObjectCommand({ Bucket: outBucket, Key: `${repo}/${path}` }),
  );
  return out.Body!.transformToString();
}

/** A repository without the webhook action: no commit of it sends an event. */
async function exportedRepository(isContinuous: boolean) {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A1" });
  const c1 = (await env.lakefs.commit(repo.id, "main", { message: "c1" })).id;
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}`,
    isContinuous,
  });
  expect(put.status, put.text).toBe(200);
  // Exported once by hand (as `lakeport export run`), unless the configuration's own first
  // export of a continuous branch runs already (409: the head is exported when it ends).
  const run = await env.api.post(`/repositories/${repo.id}/branches/main/export-hook`);
  expect([200, 202, 409], run.text).toContain(run.status);
  await exportedAt(repo.id, c1);
  return { id: repo.id, c1 };
}

const check = () => env.deployment.invoke<StuckCheckResult>(STUCK_CHECK, {});

it("exports the head of a continuous branch that moved without an event, a hard reset included", async () => {
  const missed = await exportedRepository(true);
  const oneTime = await exportedRepository(false);

  // Nothing missed yet: every head is the exported commit.
  expect((await check()).missedHeads).toEqual([]);

  // Commits whose events never arrive.
  for (const r of [missed, oneTime]) {
    await env.lakefs.uploadObject(r.id, "main", "data/a.txt", { content: "A2" });
    await env.lakefs.uploadObject(r.id, "main", "data/b.txt", { content: "B2" });
  }
  const c2 = (await env.lakefs.commit(missed.id, "main", { message: "c2" })).id;
  const oneTimeHead = (await env.lakefs.commit(oneTime.id, "main", { message: "c2" })).id;
  await new Promise((r) => setTimeout(r, 1100)); // the commit dates are in whole seconds

  const first = await check();
  expect(first.missedHeads).toEqual([
    {
      repository: missed.id,
      branch: "main",
      head: c2,
      exportedCommit: missed.c1,
      outcome: "started",
    },
  ]);
  expect(first.errors).toEqual([]);
  await exportedAt(missed.id, c2);
  expect(await exportPathKeys(missed.id)).toEqual(["data/a.txt", "data/b.txt"]);
  expect(await exportedBody(missed.id, "data/a.txt")).toBe("A2");
  // Not continuous: its head stays as it was exported until someone asks.
  expect(await status(oneTime.id)).toMatchObject({ lastExportedCommit: oneTime.c1 });
  expect(oneTimeHead).not.toBe(oneTime.c1);
  expect(await exportPathKeys(oneTime.id)).toEqual(["data/a.txt"]);
  expect(await exportedBody(oneTime.id, "data/a.txt")).toBe("A1");

  // Once exported, the next check leaves it.
  expect((await check()).missedHeads).toEqual([]);

  // A hard reset back to c1 sends no event: the check mirrors it too.
  await env.lakefs.hardResetBranch(missed.id, "main", missed.c1);
  const second = await check();
  expect(second.missedHeads).toEqual([
    {
      repository: missed.id,
      branch: "main",
      head: missed.c1,
      exportedCommit: c2,
      outcome: "started",
    },
  ]);
  await exportedAt(missed.id, missed.c1);
  expect(await exportPathKeys(missed.id)).toEqual(["data/a.txt"]);
  expect(await exportedBody(missed.id, "data/a.txt")).toBe("A1");
});
