// A status step attempt that runs on after Step Functions retried it: the connection to Lambda
// dropped (a service error), the retry wrote the commit's status files and ended the export,
// while the first attempt was still waiting on lakeFS. A newer export of the same commit (a
// configuration change) then fails and says so. The first attempt, when it goes on, must not
// write its success over that failure: the status line would promise an export path that the
// failed export left half-written. Through the real Lakeport app on the embedded environment.
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { statusKeys } from "../../lambdas/export/domain/status";
import { uniqueName } from "../support/clients";
import { exportEnded, startExport } from "../support/export-hook";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
const outBucket = uniqueName("late-status-out");
const STATUS = "LakeportExportStatusFunction";

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function text(key: string): Promise<string> {
  const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return await o.Body!.transformToString();
}

it("a status step attempt that runs on after its retry ended the export writes nothing over a newer export of the same commit", async () => {
  const repo = (await createLakeFsRepository(env, { webhook: false })).id;
  await env.lakefs.uploadObject(repo, "main", "a.txt", { content: "a" });
  const commit = (await env.lakefs.commit(repo, "main", { message: "c" })).id;
  const statusPrefix = `status-${repo}`;
  const configure = async (exportPath: string) => {
    const put = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, {
      exportPath: `s3://${outBucket}/${exportPath}`,
      exportStatusPath: `s3://${outBucket}/${statusPrefix}`,
      isContinuous: false,
    });
    expect(put.status, put.text).toBe(200);
  };
  await configure(`${repo}/one`);

  // The status step's first attempt waits on lakeFS (after its first check that its export is
  // the branch's latest); Step Functions is told the connection dropped and retries at once.
  const runtime = env.deployment.runtime;
  const statusFn = env.deployment.physicalId(STATUS);
  const endedBefore = runtime.stats(statusFn).records.length;
  const slow = env.lakefsServer.faults.add({
    operation: "getCommit",
    route: `/repositories/${repo}/`,
    latencyMs: 40_000,
    count: 1,
  });
  runtime.injectFault({ function: STATUS, invocation: "next", kind: "lost-answer" });
  runtime.beforeInvocation({ function: STATUS, invocation: "next", run: () => undefined });
  runtime.beforeInvocation({
    function: STATUS,
    invocation: "next",
    run: async () => {
      await eventually("the first attempt waiting on lakeFS", async () =>
        env.lakefsServer.faults.list().find((r) => r.id === slow.id)?.fired === 1
          ? true
          : undefined,
      );
    },
  });
  const first = await startExport(env, repo);
  expect((await exportEnded(env, repo, first.exportId)).state).toBe("exported-successfully");
  const line = statusKeys(statusPrefix, repo, "main", commit).statusLine;
  expect(await text(line)).toMatch(/^status: exported-successfully/);

  // The export path moves; the export of the same commit to it fails (writes are denied).
  await configure(`${repo}/two`);
  const deny = await env.s3Admin.deny({ bucket: outBucket, prefix: `${repo}/two/` });
  const second = await startExport(env, repo);
  expect(second.exportId).not.toBe(first.exportId);
  expect((await exportEnded(env, repo, second.exportId)).state).toBe("export-failed");
  // The first attempt is still waiting (the retry's and the newer export's status steps ended).
  expect(runtime.stats(statusFn).records.length).toBe(endedBefore + 2);
  await env.s3Admin.removeDenyRule(deny.id);
  expect(await text(line)).toMatch(/^status: export-failed/);

  // The first attempt goes on and ends; the failure stays what the status line says.
  await eventually(
    "the first attempt's end",
    () => (runtime.stats(statusFn).records.length >= endedBefore + 3 ? true : undefined),
    90_000,
  );
  expect(await text(line)).toMatch(/^status: export-failed/);
  const doc = JSON.parse(await text(`${line}.status.json`));
  expect(doc.exportId).toBe(second.exportId);
}, 300_000);
