// An export through the real Lakeport app whose S3 writes lose their first answers (the
// embedded S3's lose rules): copies, deletes, markers, status documents and the work bucket's
// files. S3 did each request; the SDK sends it again. The export still succeeds, with the
// objects, markers and status line of the commit.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { parseStatusLine } from "../../lambdas/export/domain/status";
import { uniqueName } from "../support/clients";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const outBucket = uniqueName("exp-lost-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

async function waitExported(repo: string, head: string) {
  const deadline = Date.now() + 90_000;
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

async function loseFirstAnswers() {
  for (const operation of ["PutObject", "CopyObject", "DeleteObjects"] as const) {
    await env.s3Admin.lose({ count: 3, bucket: outBucket, operation });
  }
  await env.s3Admin.lose({ count: 3, bucket: env.resources.workBucket, operation: "PutObject" });
}

it("an export whose S3 writes lose their first answers exports the commit", async () => {
  const repo = await createLakeFsRepository(env);
  await env.lakefsServer.hooksSettled();
  await env.lakefs.uploadObject(repo.id, "main", "logs/a.txt", { content: "A" });
  await env.lakefs.uploadObject(repo.id, "main", "logs/d/x.txt", { content: "X" });
  const first = (await env.lakefs.commit(repo.id, "main", { message: "a" })).id;
  await env.lakefsServer.hooksSettled();
  await loseFirstAnswers();
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
  expect(await waitExported(repo.id, first)).toMatchObject({ state: "exported-successfully" });

  await env.lakefs.uploadObject(repo.id, "main", "logs/b.txt", { content: "B" });
  await env.lakefs.deleteObject(repo.id, "main", "logs/a.txt");
  await env.lakefs.deleteObject(repo.id, "main", "logs/d/x.txt");
  await loseFirstAnswers();
  const second = (await env.lakefs.commit(repo.id, "main", { message: "b" })).id;
  await env.lakefsServer.hooksSettled();
  expect(await waitExported(repo.id, second)).toMatchObject({
    state: "exported-successfully",
    lastExportedCommit: second,
  });
  const keys = (await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: "data/" })))
    .Contents!.map((c) => c.Key)
    .sort();
  expect(keys.filter((k) => !k!.startsWith("data/_lakefs_actions/"))).toEqual([
    "data/logs/_lakefs_success",
    "data/logs/b.txt",
  ]);
  expect(await text("data/logs/b.txt")).toBe("B");
  expect(parseStatusLine(await text(`status/${repo.id}-main-${second}`))).toEqual({
    status: "exported-successfully",
    signalledErrors: 0,
  });
  // The counts a user reads: each copy and delete once, though S3 did some of them twice.
  const doc = JSON.parse(await text(`status/${repo.id}-main-${second}.status.json`));
  expect(doc.counts).toMatchObject({ copied: 1, deleted: 2, failed: 0 });
  const rules = await env.s3Admin.listLoseRules();
  expect(rules.filter((r) => r.bucket === outBucket).map((r) => r.operation)).not.toContain(
    "PutObject",
  );
}, 240_000);
