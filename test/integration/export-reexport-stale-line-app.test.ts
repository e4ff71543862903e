// A commit exported once and then exported again (a marker expression changed, `repair --full`,
// a hard reset back to it): the new export changes the export path, so the first export's
// success line may not stay. Without the plan's first call removing it, an export that ended
// without its status step writing (Status and StatusAfterFailure both failing, an aborted
// execution) left the line saying success for the commit the branch records as export-failed,
// over a path the failed export had changed (a marker the line's configuration selects deleted;
// the newer commit's objects after a hard reset). Through the real Lakeport app.
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { StopExecutionCommand } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, expect, it } from "vitest";
import { statusKeys } from "../../lambdas/export/domain/status";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
const outBucket = uniqueName("reexport-out");
const STATUS = "LakeportExportStatusFunction";

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function text(key: string): Promise<string | undefined> {
  try {
    const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
    return await o.Body!.transformToString();
  } catch {
    return undefined;
  }
}

async function keys(prefix: string): Promise<string[]> {
  const out = await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => (o.Key as string).slice(prefix.length)).sort();
}

async function status(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function ended(repo: string, notExportId?: string) {
  return eventually(
    "the export to end",
    async () => {
      const s = await status(repo);
      return s.state !== "in-progress" && !s.pendingHead && s.exportId !== notExportId
        ? s
        : undefined;
    },
    120_000,
  );
}

async function exportedRepo(regexes: string[]) {
  const repo = (await createLakeFsRepository(env, { webhook: false })).id;
  await env.lakefs.uploadObject(repo, "main", "a/1.txt", { content: "one" });
  await env.lakefs.uploadObject(repo, "main", "d/2.txt", { content: "two" });
  const c1 = (await env.lakefs.commit(repo, "main", { message: "c1" })).id;
  const config = {
    exportPath: `s3://${outBucket}/${repo}/x`,
    exportStatusPath: `s3://${outBucket}/${repo}-status`,
    lastKeysInPrefixRegexp: regexes,
    isContinuous: true,
  };
  const put = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, config);
  expect(put.status, put.text).toBe(200);
  const first = await ended(repo);
  expect(first.state).toBe("exported-successfully");
  const line = statusKeys(`${repo}-status`, repo, "main", c1).statusLine;
  expect(await text(line)).toMatch(/^status: exported-successfully/);
  return { repo, c1, config, line, first };
}

it("a marker expression changed, the export of the same commit fails without its status step: no success line stays", async () => {
  const { repo, c1, config, line, first } = await exportedRepo(["^a/"]);
  expect(await keys(`${repo}/x/`)).toEqual(["a/1.txt", "a/_lakefs_success", "d/2.txt"]);

  // Status and StatusAfterFailure both fail: the status files are not written.
  env.deployment.runtime.injectFault({ function: STATUS, invocation: "next", kind: "crash" });
  env.deployment.runtime.injectFault({ function: STATUS, invocation: "next", kind: "crash" });
  const put = await env.api.put(`/repositories/${repo}/branches/main/continuous-export`, {
    ...config,
    lastKeysInPrefixRegexp: ["^d/"],
  });
  expect(put.status, put.text).toBe(200);
  const s = await ended(repo, first.exportId);
  // The failed export deleted the marker the first export's line (configuration version 1)
  // promised.
  expect(await keys(`${repo}/x/`)).toEqual(["a/1.txt", "d/2.txt", "d/_lakefs_success"]);
  const lineNow = await text(line);
  expect(await text(`${line}.status.json`)).toBeUndefined();
  expect(s.currentRef).toBe(c1);
  // The branch failed on c1: c1's line may not say success.
  expect(s.state).toBe("export-failed");
  expect(lineNow).toBeUndefined();
}, 300_000);

it("repair --full aborted: the commit's earlier success line does not stay", async () => {
  const { repo, c1, line, first } = await exportedRepo(["^a/"]);
  // Slow the re-export down so that it can be aborted while it copies.
  const slow = env.lakefsServer.faults.add({
    operation: "listObjects",
    route: `/repositories/${repo}/`,
    latencyMs: 5_000,
    count: 1,
  });
  const r = await env.api.post(`/repositories/${repo}/branches/main/repair-export`, {
    full: true,
  });
  expect(r.status, r.text).toBe(202);
  await eventually("the plan waiting on lakeFS", async () =>
    env.lakefsServer.faults.list().find((f) => f.id === slow.id)?.fired === 1 ? true : undefined,
  );
  await env.sfn.send(new StopExecutionCommand({ executionArn: r.body.executionArn }));
  const s = await ended(repo, first.exportId);
  const lineNow = await text(line);
  expect(s.currentRef).toBe(c1);
  expect(s.state).toBe("export-failed");
  expect(lineNow).toBeUndefined();
}, 300_000);

it("a hard reset back to an exported commit, its export aborted: its earlier success line does not stay over the newer commit", async () => {
  const { repo, c1, line } = await exportedRepo([]);
  await env.lakefs.uploadObject(repo, "main", "a/1.txt", { content: "changed" });
  await env.lakefs.deleteObject(repo, "main", "d/2.txt");
  await env.lakefs.commit(repo, "main", { message: "c2" });
  const run = await env.api.post(`/repositories/${repo}/branches/main/export-hook`);
  expect(run.status, run.text).toBe(202);
  const s2 = await ended(repo, "none");
  expect(s2.state).toBe("exported-successfully");
  // Slowed before the reset: c1's export may be started by the hook below or, when the
  // execution-ended handler of c2's export reads the branch's head after the reset, by that
  // handler (a continuous branch whose head moved exports it at once); either plan waits here.
  const slow = env.lakefsServer.faults.add({
    operation: "diffRefs",
    route: `/repositories/${repo}/`,
    latencyMs: 5_000,
    count: 1,
  });
  await env.lakefs.hardResetBranch(repo, "main", c1);
  expect((await env.lakefs.getBranch(repo, "main")).commit_id).toBe(c1);
  // (Until c1 is exported again, its line says success over c2: lakeFS sends no event.)
  const again = await env.api.post(`/repositories/${repo}/branches/main/export-hook`);
  expect([202, 409], again.text).toContain(again.status);
  await eventually("the plan waiting on lakeFS", async () =>
    env.lakefsServer.faults.list().find((f) => f.id === slow.id)?.fired === 1 ? true : undefined,
  );
  const executionArn: string =
    again.status === 202 ? again.body.executionArn : (await status(repo)).execution.executionArn;
  await env.sfn.send(new StopExecutionCommand({ executionArn }));
  const s = await ended(repo, s2.exportId as string);
  const lineNow = await text(line);
  // The path still holds c2's a/1.txt.
  expect(await keys(`${repo}/x/`)).toEqual(["a/1.txt"]);
  expect(s.currentRef).toBe(c1);
  expect(s.state).toBe("export-failed");
  expect(lineNow).toBeUndefined();
}, 300_000);
