// Cells of the GC safety matrix (event x moment) that gc-safety-app.test.ts leaves out, on the
// real Lakeport app (test/support/lakeport-env.ts: the synthesized app on the local cloud, the
// lakeFS development server, requests through the deployed API Lambdas):
// - between a mark-only and a sweep-only run: a hard reset of the branch to an expired commit,
//   the GC rules lengthened, the repository deleted in lakeFS (and created again on its
//   namespace, linking a marked object; or on another namespace: without the mark's lists
//   there the sweep deletes nothing, and on a copy of the old namespace it is refused);
// - between them, a mark-and-sweep run of the repository after a tag revived an expired commit;
// - during a mark-and-sweep run: a tag while the mark lists addresses; an uncommitted link of
//   a marked address as the sweep starts (after revalidation: only the sweep's checks see it);
// - a repository created on the namespace, or inside it, as the sweep starts: the sweep stops;
// - after a sweep stopped and before the sweep-only run that resumes it: a branch created on
//   an expired commit; the mark retired (as a restore does).
import { CopyObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import {
  type DatedRepository,
  datedRepository as dated,
  gcAppRuns,
  setRetention,
} from "../support/gc-app-runs";
import { useLakeportEnvironment } from "../support/lakeport-env";

const env = useLakeportEnvironment();

type Repo = DatedRepository;
const runs = gcAppRuns(() => env);
const datedRepository = () => dated(env);
const rules = (repo: Repo, days: number) => setRetention(env, repo.id, days);

const MARKED = ["A0", "O0", "A1"];

const read = (repo: Repo, ref: string, p: string) =>
  runs.read(repo.id, repo.commits[ref] ?? ref, p);

/** Whether the object of `label` is still in the namespace (read from S3, not lakeFS). */
async function stored(repo: Repo, label: string): Promise<boolean> {
  const url = new URL(repo.stats[label]!.physical_address);
  const key = url.pathname.slice(1);
  try {
    await env.s3.send(new HeadObjectCommand({ Bucket: url.host, Key: key }));
    return true;
  } catch (err) {
    if ((err as { name?: string }).name === "NotFound") return false;
    throw err;
  }
}

async function expectStored(repo: Repo, kept: string[]) {
  for (const label of [...MARKED, "K0", "A2", "A3"]) {
    expect(await stored(repo, label), label).toBe(!MARKED.includes(label) || kept.includes(label));
  }
}

const waitRun = (repo: Repo, runId: string, timeoutMs = 90_000) =>
  runs.waitRun(repo.id, runId, timeoutMs);

async function gc(repo: Repo, body: unknown) {
  return waitRun(repo, await runs.startGc(repo.id, body));
}

async function markOnly(repo: Repo) {
  const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
  expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: 3 } });
}

/** The sweep-only run of m1: it succeeds with these counts. */
async function sweptOnly(repo: Repo, counts: { deletedObjects: number; sparedObjects: number }) {
  const sweep = await gc(repo, { do_mark: false, mark_id: "m1" });
  expect(sweep, JSON.stringify(sweep)).toMatchObject({ status: "succeeded", counts });
}

describe("between a mark-only run and its sweep-only run", () => {
  it("a hard reset of main to an expired commit: what that commit references reads back", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.hardResetBranch(repo.id, "main", repo.commits.c1!);
    await sweptOnly(repo, { deletedObjects: 1, sparedObjects: 2 });
    expect(await read(repo, "main", "a")).toBe(repo.content.A1);
    expect(await read(repo, "main", "old")).toBe(repo.content.O0);
    expect(await read(repo, "c0", "a")).toBe(410);
    await expectStored(repo, ["A1", "O0"]);
  }, 120_000);

  it("the GC rules lengthened: the sweep keeps what the new rules keep", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await rules(repo, 30);
    await sweptOnly(repo, { deletedObjects: 0, sparedObjects: 3 });
    for (const [label, ref, p] of [
      ["A0", "c0", "a"],
      ["O0", "c0", "old"],
      ["A1", "c1", "a"],
    ] as const) {
      expect(await read(repo, ref, p), label).toBe(repo.content[label]);
    }
  }, 120_000);

  it("the repository deleted in lakeFS: the sweep is refused (404), nothing is deleted", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.deleteRepository(repo.id);
    const r = await env.api.post(`/repositories/${repo.id}/gc/runs`, {
      do_mark: false,
      mark_id: "m1",
    });
    expect(r.status, r.text).toBe(404);
    expect(r.body.message).toBe(`repository "${repo.id}" not found`);
    await expectStored(repo, MARKED);
  }, 120_000);

  it("the repository deleted and created again on its namespace, a commit linking a marked object: it is kept", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.deleteRepository(repo.id);
    await env.lakefs.createRepository({
      name: repo.id,
      storage_namespace: repo.storageNamespace,
      default_branch: "main",
    });
    const o0 = repo.stats.O0!;
    await env.lakefs.linkPhysicalAddress(repo.id, "main", "o0-again", {
      physicalAddress: o0.physical_address,
      checksum: o0.checksum,
      sizeBytes: o0.size_bytes ?? 0,
    });
    await env.lakefs.commit(repo.id, "main", { message: "link o0" });
    await rules(repo, 3);
    // The new repository's commits are all unknown to the mark: revalidation lists them.
    await sweptOnly(repo, { deletedObjects: 2, sparedObjects: 1 });
    expect(await read(repo, "main", "o0-again")).toBe(repo.content.O0);
    await expectStored(repo, ["O0"]);
  }, 120_000);
});

describe("the repository created again on another namespace between mark-only and sweep-only", () => {
  it("without the mark's lists there: the sweep deletes nothing in either namespace", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.deleteRepository(repo.id);
    await env.lakefs.createRepository({
      name: repo.id,
      storage_namespace: `${repo.storageNamespace}-moved`,
      default_branch: "main",
    });
    await rules(repo, 3);
    const r = await env.api.post(`/repositories/${repo.id}/gc/runs`, {
      do_mark: false,
      mark_id: "m1",
    });
    if (r.status === 202) expect((await waitRun(repo, r.body.run_id)).status).toBe("failed");
    else expect(r.status, r.text).toBe(409);
    await expectStored(repo, MARKED);
  }, 120_000);

  it("on a copy of the old namespace (its objects and the mark's lists): the sweep is refused, naming both", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.deleteRepository(repo.id);
    const old = new URL(repo.storageNamespace);
    const prefix = old.pathname.slice(1);
    const copied: string[] = [];
    const listed = await env.s3.send(
      new ListObjectsV2Command({ Bucket: old.host, Prefix: `${prefix}/` }),
    );
    for (const o of listed.Contents ?? []) {
      const key = `${prefix}-moved/${o.Key!.slice(prefix.length + 1)}`;
      await env.s3.send(
        new CopyObjectCommand({
          Bucket: old.host,
          Key: key,
          CopySource: `${old.host}/${encodeURIComponent(o.Key!)}`,
        }),
      );
      copied.push(key);
    }
    await env.lakefs.createRepository({
      name: repo.id,
      storage_namespace: `${repo.storageNamespace}-moved`,
      default_branch: "main",
    });
    await rules(repo, 3);
    const r = await env.api.post(`/repositories/${repo.id}/gc/runs`, {
      do_mark: false,
      mark_id: "m1",
    });
    expect(r.status, r.text).toBe(409);
    expect(r.body.message).toContain(repo.storageNamespace);
    expect(r.body.message).toContain(`${repo.storageNamespace}-moved`);
    const view = await env.api.get(`/repositories/${repo.id}/gc/marks/m1`);
    expect(view.body).toMatchObject({ sweepable: false, storage_namespace: repo.storageNamespace });
    expect(view.body.not_sweepable_because).toContain(`${repo.storageNamespace}-moved`);
    await expectStored(repo, MARKED);
    for (const key of copied) {
      await env.s3.send(new HeadObjectCommand({ Bucket: old.host, Key: key }));
    }
  }, 120_000);
});

describe("a second GC run of the repository between a mark-only run and its sweep-only run", () => {
  it("a mark-and-sweep run after a tag revived an expired commit: neither sweep deletes what the tag holds", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    await env.lakefs.createTag(repo.id, "v0", repo.commits.c0!);
    // c0 is kept now: the second run marks A1 only (O0 is c0's too).
    const second = await gc(repo, {});
    expect(second, JSON.stringify(second)).toMatchObject({
      status: "succeeded",
      counts: { markedAddresses: 1, deletedObjects: 1 },
    });
    await expectStored(repo, ["A0", "O0"]);
    const sweep = await gc(repo, { do_mark: false, mark_id: "m1" });
    expect(sweep, JSON.stringify(sweep)).toMatchObject({
      status: "succeeded",
      counts: { sparedObjects: 2 },
    });
    expect(await read(repo, "v0", "a")).toBe(repo.content.A0);
    expect(await read(repo, "v0", "old")).toBe(repo.content.O0);
    await expectStored(repo, ["A0", "O0"]);
  }, 120_000);
});

describe("during a mark-and-sweep run", () => {
  it("a tag on an expired commit made while the mark lists addresses: the sweep keeps what it references", async () => {
    const repo = await datedRepository();
    env.deployment.runtime.beforeInvocation({
      function: /GcAddressesFunction/,
      invocation: "next",
      run: async () => {
        await env.lakefs.createTag(repo.id, "late", repo.commits.c0!);
      },
    });
    const run = await gc(repo, {});
    expect(run, JSON.stringify(run)).toMatchObject({
      status: "succeeded",
      counts: { markedAddresses: 3, deletedObjects: 1, sparedObjects: 2 },
    });
    expect(await read(repo, "late", "a")).toBe(repo.content.A0);
    expect(await read(repo, "late", "old")).toBe(repo.content.O0);
    await expectStored(repo, ["A0", "O0"]);
  }, 120_000);

  it("an uncommitted link of a marked address made as the sweep starts (after revalidation): it is kept", async () => {
    const repo = await datedRepository();
    await markOnly(repo);
    const a1 = repo.stats.A1!;
    env.deployment.runtime.beforeInvocation({
      function: /GcSweepFunction/,
      invocation: "next",
      run: async () => {
        await env.lakefs.linkPhysicalAddress(repo.id, "main", "staged-a1", {
          physicalAddress: a1.physical_address,
          checksum: a1.checksum,
          sizeBytes: a1.size_bytes ?? 0,
        });
      },
    });
    await sweptOnly(repo, { deletedObjects: 2, sparedObjects: 1 });
    expect(await read(repo, "main", "staged-a1")).toBe(repo.content.A1);
    await expectStored(repo, ["A1"]);
  }, 120_000);
});

describe("a repository created on the namespace as the sweep starts (after revalidation)", () => {
  it.each([
    // lakeFS accepts a bare repository on a namespace in use: how refs-restore copies one,
    // whose refs (restored from an older dump) may name commits this repository expired.
    ["a bare copy on the same namespace", "", true],
    // lakeFS looks for <namespace>/_lakefs/ only: a repository inside this one's namespace.
    ["a repository inside the namespace", "/data", false],
  ] as const)(
    "%s: the sweep stops, naming it, and deletes nothing",
    async (_n, sub, bare) => {
      const repo = await datedRepository();
      await markOnly(repo);
      const other = `${repo.id}-copy`;
      env.deployment.runtime.beforeInvocation({
        function: /GcSweepFunction/,
        invocation: "next",
        run: async () => {
          await env.lakefs.createRepository({
            name: other,
            storage_namespace: `${repo.storageNamespace}${sub}`,
            default_branch: "main",
            bare,
          });
        },
      });
      const stopped = await gc(repo, { do_mark: false, mark_id: "m1" });
      expect(stopped.status, JSON.stringify(stopped)).toBe("failed");
      expect(stopped.error_message).toContain(`"${other}"`);
      await expectStored(repo, MARKED);
      // Nothing was deleted: once the namespace is this repository's alone, the mark is swept.
      await env.lakefs.deleteRepository(other);
      const again = await gc(repo, { do_mark: false, mark_id: "m1" });
      expect(again, JSON.stringify(again)).toMatchObject({
        status: "succeeded",
        counts: { deletedObjects: 3 },
      });
      await expectStored(repo, []);
    },
    120_000,
  );
});

/**
 * A mark-only run (m1), then its sweep-only run stopped by a tag on c0 made as the sweep
 * starts (after revalidation: only the sweep's checks see it): the run fails.
 */
async function sweepStoppedByLateTag(repo: Repo) {
  await markOnly(repo);
  env.deployment.runtime.beforeInvocation({
    function: /GcSweepFunction/,
    invocation: "next",
    run: async () => {
      await env.lakefs.createTag(repo.id, "late", repo.commits.c0!);
    },
  });
  const stopped = await gc(repo, { do_mark: false, mark_id: "m1" });
  expect(stopped.status).toBe("failed");
}

describe("after a sweep stopped, before the sweep-only run that resumes it", () => {
  it("a branch created on an expired commit: the resumed sweep keeps what it references", async () => {
    const repo = await datedRepository();
    await sweepStoppedByLateTag(repo);
    await expectStored(repo, MARKED);
    await env.lakefs.createBranch(repo.id, "back", repo.commits.c1!);
    const again = await gc(repo, { do_mark: false, mark_id: "m1" });
    expect(again, JSON.stringify(again)).toMatchObject({
      status: "succeeded",
      counts: { deletedObjects: 0, sparedObjects: 3 },
    });
    expect(await read(repo, "back", "a")).toBe(repo.content.A1);
    expect(await read(repo, "late", "old")).toBe(repo.content.O0);
    await expectStored(repo, MARKED);
  }, 120_000);

  it("the mark retired (as a restore does): the sweep-only run is refused, nothing more is deleted", async () => {
    const repo = await datedRepository();
    await sweepStoppedByLateTag(repo);
    const retired = await env.api.post(`/repositories/${repo.id}/gc/marks/m1/retire`, {
      reason: "restored from s3://backup/m1",
    });
    expect(retired.status, retired.text).toBe(200);
    await env.lakefs.deleteTag(repo.id, "late");
    const refused = await env.api.post(`/repositories/${repo.id}/gc/runs`, {
      do_mark: false,
      mark_id: "m1",
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.message).toContain("retired");
    await expectStored(repo, MARKED);
  }, 120_000);
});
