// After a successful export of a continuous branch whose head moved meanwhile without an event
// (lakeFS delivers a webhook once and does not retry it; a hard reset sends none), the next
// export starts at once from the newest head, through the real Lakeport app on the embedded
// environment. The stuck-export check is never run here: the export that ended finds the head.
// A branch that is not continuous is left at its exported commit.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("moved-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });
const STATUS_FN = "LakeportExportStatusFunction";

async function status(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function exportedBody(repo: string, path: string): Promise<string> {
  const out = await env.s3.send(
    new GetObjectCommand({ Bucket: outBucket, Key: `${repo}/${path}` }),
  );
  return out.Body!.transformToString();
}

/**
 * A repository without the webhook action, configured and exported once by hand; `during`
 * runs before the status step of that export (the branch is in-progress).
 */
async function exportOnceWhile(isContinuous: boolean, during: (repo: string) => Promise<void>) {
  const repo = (await createLakeFsRepository(env, { webhook: false })).id;
  await env.lakefs.uploadObject(repo, "main", "data/a.txt", { content: "A1" });
  const c1 = (await env.lakefs.commit(repo, "main", { message: "c1" })).id;
  env.deployment.runtime.beforeInvocation({
    function: env.deployment.physicalId(STATUS_FN),
    invocation: "next",
    run: () => during(repo),
  });
  const put = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo}`,
    exportStatusPath: `s3://${outBucket}/status-${repo}`,
    isContinuous,
  });
  expect(put.status, put.text).toBe(200);
  // The configuration of a continuous branch exports its head itself; a `run` now would queue
  // a head of its own (exported after, whatever the branch).
  if (!isContinuous) {
    const run = await env.api.post(`/repositories/${repo}/branches/main/export-hook`);
    expect(run.status, run.text).toBe(202);
  }
  return { repo, c1 };
}

async function commitWithoutEvent(repo: string, content: string): Promise<string> {
  await env.lakefs.uploadObject(repo, "main", "data/a.txt", { content });
  return (await env.lakefs.commit(repo, "main", { message: content })).id;
}

it("a continuous branch whose head moved during its export, without an event, exports the newest head at once", async () => {
  let c2 = "";
  let c3 = "";
  const { repo } = await exportOnceWhile(true, async (r) => {
    c2 = await commitWithoutEvent(r, "A2");
    c3 = await commitWithoutEvent(r, "A3");
  });
  const s = await eventually(`${repo} exported at the moved head`, async () => {
    const st = await status(repo);
    return st?.state === "exported-successfully" && c3 !== "" && st.lastExportedCommit === c3
      ? st
      : undefined;
  });
  expect(s.lastExportedCommit).toBe(c3);
  expect(await exportedBody(repo, "data/a.txt")).toBe("A3");
  // The intermediate commit is skipped: no status line of its own.
  await expect(
    env.s3.send(
      new GetObjectCommand({ Bucket: outBucket, Key: `status-${repo}/${repo}-main-${c2}` }),
    ),
  ).rejects.toMatchObject({ name: "NoSuchKey" });
});

it("a branch that is not continuous stays at its exported commit when its head moved meanwhile", async () => {
  let c2 = "";
  const { repo, c1 } = await exportOnceWhile(false, async (r) => {
    c2 = await commitWithoutEvent(r, "A2");
  });
  await eventually(`${repo} exported at c1`, async () => {
    const st = await status(repo);
    return st?.state === "exported-successfully" && st.lastExportedCommit === c1 ? st : undefined;
  });
  // Long enough for a follow-up's start to show.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(c2).not.toBe("");
  expect(await status(repo)).toMatchObject({
    state: "exported-successfully",
    currentRef: c1,
    pendingHead: null,
  });
  expect(await exportedBody(repo, "data/a.txt")).toBe("A1");
});
