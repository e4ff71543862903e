// Continuous export through the real Lakeport app (test/support/lakeport-env.ts: the whole
// synthesized stack deployed on the local cloud, API served by the deployed API functions):
// enabling the export, then a commit on lakeFS whose webhook starts the export workflow.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { parseStatusLine } from "../../lambdas/export/domain/status";
import { uniqueName } from "../support/clients";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const outBucket = uniqueName("exp-app-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

async function waitExported(repo: string, head: string) {
  const deadline = Date.now() + 60_000;
  for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
    const r = await env.api.get(`/repositories/${repo}/branches/main/export-status`);
    if (r.body?.state !== "in-progress" && r.body?.currentRef === head) return r.body;
    if (Date.now() > deadline) throw new Error(`not exported: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, delay));
  }
}

async function text(key: string) {
  const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return o.Body!.transformToString("utf8");
}

it("exports on enabling and after a commit, through the webhook, the bus and the workflow", async () => {
  const repo = await createLakeFsRepository(env);
  await env.lakefsServer.hooksSettled();
  await env.lakefs.uploadObject(repo.id, "main", "logs/a.txt", { content: "A" });
  const first = (await env.lakefs.commit(repo.id, "main", { message: "a" })).id;
  await env.lakefsServer.hooksSettled();
  const set = await env.lakeport([
    "export",
    "set",
    `lakefs://${repo.id}@main`,
    "--path",
    `s3://${outBucket}/data`,
    "--status-path",
    `s3://${outBucket}/status`,
    "--prefix-regex",
    "^logs/$",
    "--continuous",
    "true",
  ]);
  expect(set.code, set.stderr).toBe(0);
  expect(set.stdout).toMatch(
    /^configuration stored \(version 1, continuous\)\nexport \S+ started: /,
  );
  expect((await waitExported(repo.id, first)).state).toBe("exported-successfully");

  await env.lakefs.uploadObject(repo.id, "main", "logs/b.txt", { content: "B" });
  await env.lakefs.deleteObject(repo.id, "main", "logs/a.txt");
  const second = (await env.lakefs.commit(repo.id, "main", { message: "b" })).id;
  await env.lakefsServer.hooksSettled();
  expect(await waitExported(repo.id, second)).toMatchObject({
    state: "exported-successfully",
    lastExportedCommit: second,
  });
  const keys = (await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: "data/" })))
    .Contents!.map((c) => c.Key)
    .sort();
  // lakeFS's _lakefs_actions/ (the webhook action) is configuration, never exported.
  expect(keys).toEqual(["data/logs/_lakefs_success", "data/logs/b.txt"]);
  expect(await text("data/logs/b.txt")).toBe("B");
  expect(parseStatusLine(await text(`status/${repo.id}-main-${second}`))).toEqual({
    status: "exported-successfully",
    signalledErrors: 0,
  });

  // A commit whose message and metadata make lakeFS's payload larger than an EventBridge event
  // is exported too (the bus event carries the fields naming the commit).
  await env.lakefs.uploadObject(repo.id, "main", "logs/c.txt", { content: "C" });
  const third = (
    await env.lakefs.commit(repo.id, "main", {
      message: "c".repeat(100_000),
      metadata: { schema: "s".repeat(300_000) },
    })
  ).id;
  await env.lakefsServer.hooksSettled();
  expect(await waitExported(repo.id, third)).toMatchObject({
    state: "exported-successfully",
    lastExportedCommit: third,
  });
  expect(await text("data/logs/c.txt")).toBe("C");
}, 120_000);

it("refuses an export or status path in the deployment's own work bucket, storing nothing", async () => {
  const repo = await createLakeFsRepository(env);
  const work = env.resources.workBucket;
  const cfg = `/repositories/${repo.id}/branches/main/continuous-export`;
  const inWork = await env.api.put(cfg, {
    exportPath: `s3://${work}/exports`,
    isContinuous: false,
  });
  expect(inWork.status).toBe(400);
  expect(inWork.body.message).toMatch(
    new RegExp(`^exportPath: bucket "${work}" is Lakeport's own work bucket`),
  );
  const statusInWork = await env.api.put(cfg, {
    exportPath: `s3://${outBucket}/elsewhere`,
    exportStatusPath: `s3://${work}/status`,
    isContinuous: false,
  });
  expect(statusInWork.status).toBe(400);
  expect(statusInWork.body.message).toMatch(/^exportStatusPath: bucket .* own work bucket/);
  expect((await env.api.get(cfg)).status).toBe(404);
});
