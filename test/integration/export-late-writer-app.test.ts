// A copy batch that reports from one attempt while another still runs: Step Functions retries
// a Lambda task after a service error (here a dropped connection) while the first invocation
// runs on. Both copy the export's commit, which is harmless until the branch's next export
// writes the path: the older copy would land over it under its success line. Through the real
// Lakeport app on the embedded environment:
// - an attempt still copying when the status step runs: the execution ends (and the next
//   export starts) only once that attempt has ended;
// - an attempt that starts after its export ended copies nothing.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
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
const outBucket = uniqueName("late-writer-out");
const COPY = "LakeportExportCopyFunction";

beforeAll(async () => {
  env = await startLakeportEnvironment();
  await env.s3.send(new CreateBucketCommand({ Bucket: outBucket }));
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

async function state(repo: string) {
  return (await env.api.get(`/repositories/${repo}/branches/main/export-status`)).body;
}

async function exported(repo: string): Promise<string> {
  const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: `${repo}/a.txt` }));
  return await o.Body!.transformToString();
}

async function statusLine(repo: string, commitId: string): Promise<string | undefined> {
  const key = statusKeys(`status-${repo}`, repo, "main", commitId).statusLine;
  try {
    await env.s3.send(new HeadObjectCommand({ Bucket: outBucket, Key: key }));
  } catch {
    return undefined;
  }
  const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return await o.Body!.transformToString();
}

/** A repository with `a.txt` = "old" committed and a (not continuous) export configured. */
async function exportedRepository() {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "a.txt", { content: "old" });
  const old = (await env.lakefs.commit(repo.id, "main", { message: "old" })).id;
  const cfg = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}`,
    exportStatusPath: `s3://${outBucket}/status-${repo.id}`,
    isContinuous: false,
  });
  expect(cfg.status, cfg.text).toBe(200);
  return { repo: repo.id, old };
}

async function runExport(repo: string, expected = 202) {
  const res = await env.api.post(`/repositories/${repo}/branches/main/export-hook`);
  expect(res.status, res.text).toBe(expected);
  return res.body;
}

async function commitNew(repo: string): Promise<string> {
  await env.lakefs.uploadObject(repo, "main", "a.txt", { content: "new" });
  return (await env.lakefs.commit(repo, "main", { message: "new" })).id;
}

it("a success waits for an earlier attempt of a copy batch still copying, and the next export starts after it", async () => {
  const { repo, old } = await exportedRepository();
  const runtime = env.deployment.runtime;
  const copyFn = env.deployment.physicalId(COPY);
  const endedBefore = runtime.stats(copyFn).records.length;
  // The first attempt's copy is held in S3; Step Functions is told its connection dropped and
  // retries; the second attempt starts once the first is copying, and reports.
  const hold = await env.s3Admin.hold({ count: 1, bucket: outBucket, operation: "CopyObject" });
  runtime.injectFault({ function: COPY, invocation: "next", kind: "lost-answer" });
  runtime.beforeInvocation({ function: COPY, invocation: "next", run: () => undefined });
  runtime.beforeInvocation({
    function: COPY,
    invocation: "next",
    run: async () => {
      await eventually("the first attempt's copy held", async () =>
        (await env.s3Admin.listHoldRules()).find((r) => r.id === hold.id)?.held === 1
          ? true
          : undefined,
      );
    },
  });
  await runExport(repo);

  // The status step wrote the success line of the old commit (what the path holds)...
  expect(await eventually("the status line", () => statusLine(repo, old))).toMatch(
    /^status: exported-successfully/,
  );
  expect(await exported(repo)).toBe("old");
  // ...but the branch's export goes on while the first attempt may still copy.
  const running = await state(repo);
  expect(running).toMatchObject({ state: "in-progress", currentRef: old });
  const head = await commitNew(repo);
  // Queued behind it, as behind any running export.
  expect((await runExport(repo, 409)).message).toContain("will be exported when it ends");
  await new Promise((r) => setTimeout(r, 12_000)); // more than one check of the writers
  expect(await state(repo)).toMatchObject({ state: "in-progress", currentRef: old });

  // The first attempt copies the old commit and ends; only then does the next export start.
  await env.s3Admin.releaseHold(hold.id);
  await eventually("both attempts' end", () =>
    runtime.stats(copyFn).records.length >= endedBefore + 2 ? true : undefined,
  );
  const done = await eventually(
    "the queued head exported",
    async () => {
      const s = await state(repo);
      return s?.state === "exported-successfully" && s.lastExportedCommit === head ? s : undefined;
    },
    120_000,
  );
  expect(done.currentRef).toBe(head);
  expect(await exported(repo)).toBe("new");
  expect(await statusLine(repo, head)).toMatch(/^status: exported-successfully/);
}, 240_000);

it("a copy attempt that starts after its export ended copies nothing", async () => {
  const { repo, old } = await exportedRepository();
  const runtime = env.deployment.runtime;
  const copyFn = env.deployment.physicalId(COPY);
  const endedBefore = runtime.stats(copyFn).records.length;
  // The first attempt is held before it starts (its connection dropped at once); the retry
  // copies and reports, and the export ends.
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  runtime.injectFault({ function: COPY, invocation: "next", kind: "lost-answer" });
  runtime.beforeInvocation({ function: COPY, invocation: "next", run: () => held });
  await runExport(repo);
  await eventually("the old commit exported", async () => {
    const s = await state(repo);
    return s?.state === "exported-successfully" && s.lastExportedCommit === old ? s : undefined;
  });

  // The next export writes the new head.
  const head = await commitNew(repo);
  expect(await runExport(repo)).toMatchObject({ status: "started" });
  await eventually("the new head exported", async () => {
    const s = await state(repo);
    return s?.state === "exported-successfully" && s.lastExportedCommit === head ? s : undefined;
  });
  expect(await exported(repo)).toBe("new");

  // The first attempt of the old export's batch starts now: its export has ended, so it stops.
  release();
  await eventually("the late attempt's end", () =>
    runtime.stats(copyFn).records.length >= endedBefore + 3 ? true : undefined,
  );
  expect(await exported(repo)).toBe("new");
}, 240_000);
