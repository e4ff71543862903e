// A revert is a commit on the branch, but lakeFS fires post-revert for it, not post-commit: a
// continuous export must follow it too (the action file listens to it, the webhook takes it,
// the bus rule and the trigger start the export), or the export path keeps the reverted data
// until the next commit.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const outBucket = uniqueName("exp-revert-out");
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

it("a revert on a continuously exported branch is exported through its post-revert webhook", async () => {
  const repo = await createLakeFsRepository(env);
  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A" });
  const first = (await env.lakefs.commit(repo.id, "main", { message: "a" })).id;
  await env.lakefsServer.hooksSettled();
  const set = await env.lakeport([
    "export",
    "set",
    `lakefs://${repo.id}@main`,
    "--path",
    `s3://${outBucket}/out`,
    "--continuous",
    "true",
  ]);
  expect(set.code, set.stderr).toBe(0);
  expect((await waitExported(repo.id, first)).state).toBe("exported-successfully");

  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A2" });
  await env.lakefs.uploadObject(repo.id, "main", "data/b.txt", { content: "B" });
  const second = (await env.lakefs.commit(repo.id, "main", { message: "b" })).id;
  await env.lakefsServer.hooksSettled();
  await waitExported(repo.id, second);

  await env.lakefs.revertBranch(repo.id, "main", { ref: second });
  const reverted = (await env.lakefs.getBranch(repo.id, "main")).commit_id;
  expect(reverted).not.toBe(second);
  await env.lakefsServer.hooksSettled();
  expect(await waitExported(repo.id, reverted)).toMatchObject({
    state: "exported-successfully",
    lastExportedCommit: reverted,
  });
  const keys = (await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: "out/" })))
    .Contents!.map((c) => c.Key)
    .sort();
  expect(keys).toEqual(["out/data/a.txt"]);
  const a = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: "out/data/a.txt" }));
  expect(await a.Body!.transformToString("utf8")).toBe("A");
}, 120_000);
