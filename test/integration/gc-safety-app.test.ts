// GC never deletes live data, on the real Lakeport app (test/support/lakeport-env.ts: the
// synthesized app on the local cloud, the lakeFS development server, requests through the
// deployed API Lambdas):
// - revivals between a mark-only and a sweep-only run (a branch created from an expired
//   commit, hidden or not, a commit linking an old address, a revert of the commit that deleted an object,
//   a tag on an expired commit, an uncommitted link of an old address): every revived object
//   reads back with its bytes, the rest of the mark is deleted;
// - a revival between the mark and sweep phases of one mark-and-sweep run; an expired commit
//   revived between revalidation and the deletes stops the sweep, also where lakeFS's diffs
//   cannot show what it brings back (hooks of the local Lambda runtime, not of the product);
// - one run per repository: concurrent starts get 409 naming the running run; a run whose
//   Lambdas crashed gives the repository back when its lease expires;
// - lakeFS answering 500 mid-run: retried, the run succeeds; a persistent 500 fails it.
import { describe, expect, it } from "vitest";
import { datedRepository as dated, gcAppRuns } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const DAY = 86_400;
const env = useLakeportEnvironment();

interface Repo {
  id: string;
  commits: Record<string, string>;
  content: Record<string, string>;
}

const runs = gcAppRuns(() => env);
const datedRepository = (): Promise<Repo> => dated(env);

/** Where each marked object can be read: its label, a ref and a path. */
const MARKED: [string, string, string][] = [
  ["A0", "c0", "a"],
  ["O0", "c0", "old"],
  ["A1", "c1", "a"],
];

const read = (repo: Repo, ref: string, p: string) =>
  runs.read(repo.id, repo.commits[ref] ?? ref, p);
const startRun = (repo: Repo, body: unknown) => runs.startGc(repo.id, body);
const waitRun = (repo: Repo, runId: string, timeoutMs = 90_000) =>
  runs.waitRun(repo.id, runId, timeoutMs);

async function gc(repo: Repo, body: unknown) {
  return waitRun(repo, await startRun(repo, body));
}

/** The marked objects read back with their bytes (kept) or answer 410 (deleted). */
async function expectMarked(repo: Repo, kept: string[]) {
  for (const [label, ref, p] of MARKED) {
    expect(await read(repo, ref, p), label).toBe(kept.includes(label) ? repo.content[label] : 410);
  }
  // Never touched: what active commits reference.
  expect(await read(repo, "main", "keep")).toBe(repo.content.K0);
  expect(await read(repo, "c3", "a")).toBe(repo.content.A2);
}

/**
 * Rules of 3 days, a mark-only run (m1) that marks `marked` addresses, then a sweep of it with
 * `during` run as the sweep Lambda starts: main's p must then be `back` (the object the change
 * brought back) and read "v1", the sweep must have stopped, and the same mark swept again must
 * keep it too. Answers both sweeps.
 */
async function sweepStoppedByChange(
  id: string,
  marked: number,
  back: string,
  during: () => Promise<unknown>,
) {
  const put = await env.api.put(`/repositories/${id}/settings/gc_rules`, {
    default_retention_days: 3,
    branches: [],
  });
  expect(put.status).toBe(204);
  const repo = { id, commits: {}, content: {} };
  const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
  expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: marked } });
  env.deployment.runtime.beforeInvocation({
    function: /GcSweepFunction/,
    invocation: "next",
    run: async () => {
      await during();
    },
  });
  const stopped = await gc(repo, { do_mark: false, mark_id: "m1" });
  expect((await env.lakefs.statObject(id, "main", "p")).physical_address).toBe(back);
  expect(await read(repo, "main", "p")).toBe("v1");
  expect(stopped.status).toBe("failed");
  const again = await gc(repo, { do_mark: false, mark_id: "m1" });
  expect(again.status, JSON.stringify(again)).toBe("succeeded");
  expect(await read(repo, "main", "p")).toBe("v1");
  return { stopped, again };
}

describe("revivals between mark only and sweep only", () => {
  it.each<[string, (repo: Repo) => Promise<unknown>, string[], [string, string, string][]]>([
    [
      "a branch created from an expired commit",
      (r) => env.lakefs.createBranch(r.id, "back", r.commits.c1!),
      ["A1", "O0"],
      [
        ["A1", "back", "a"],
        ["O0", "back", "old"],
      ],
    ],
    [
      "a new commit that links an old physical address",
      async (r) => {
        const old = await env.lakefs.statObject(r.id, r.commits.c0!, "old");
        await env.lakefs.linkPhysicalAddress(r.id, "main", "old-again", {
          physicalAddress: old.physical_address,
          checksum: old.checksum,
          sizeBytes: old.size_bytes ?? 0,
        });
        await env.lakefs.commit(r.id, "main", { message: "link old" });
      },
      ["O0"],
      [["O0", "main", "old-again"]],
    ],
    [
      "a revert of the commit that deleted an object",
      (r) => env.lakefs.revertBranch(r.id, "main", { ref: r.commits.c2! }),
      ["O0"],
      [["O0", "main", "old"]],
    ],
    [
      "a hidden branch created from an expired commit (left out of lakeFS's default branch listing)",
      async (r) => {
        await env.lakefs.createBranch(r.id, "hidden-back", r.commits.c1!, { hidden: true });
        const listed = [];
        for await (const page of env.lakefs.listBranches(r.id)) listed.push(...page.results);
        expect(listed.map((b) => b.id)).not.toContain("hidden-back");
      },
      ["A1", "O0"],
      [
        ["A1", "hidden-back", "a"],
        ["O0", "hidden-back", "old"],
      ],
    ],
    [
      "a tag on an expired commit",
      (r) => env.lakefs.createTag(r.id, "v0", r.commits.c0!),
      ["A0", "O0"],
      [
        ["A0", "v0", "a"],
        ["O0", "v0", "old"],
      ],
    ],
    [
      "an object staged with an old address",
      async (r) => {
        const a1 = await env.lakefs.statObject(r.id, r.commits.c1!, "a");
        await env.lakefs.linkPhysicalAddress(r.id, "main", "staged-a1", {
          physicalAddress: a1.physical_address,
          checksum: a1.checksum,
          sizeBytes: a1.size_bytes ?? 0,
        });
      },
      ["A1"],
      [["A1", "main", "staged-a1"]],
    ],
  ])(
    "%s: the revived objects read back, the rest of the mark is deleted",
    async (_name, revive, kept, revivedAt) => {
      const repo = await datedRepository();
      const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
      expect(mark).toMatchObject({ status: "succeeded", counts: { markedAddresses: 3 } });
      await revive(repo);
      const sweep = await gc(repo, { do_mark: false, mark_id: "m1" });
      expect(sweep, JSON.stringify(sweep)).toMatchObject({
        status: "succeeded",
        counts: { deletedObjects: 3 - kept.length, sparedObjects: kept.length },
      });
      await expectMarked(repo, kept);
      for (const [label, ref, p] of revivedAt) {
        expect(await read(repo, ref, p), `${label} at ${ref}:${p}`).toBe(repo.content[label]);
      }
    },
    120_000,
  );
});

describe("revivals inside one run", () => {
  it("mark and sweep keeps what is revived between its mark and sweep phases", async () => {
    const repo = await datedRepository();
    env.deployment.runtime.beforeInvocation({
      function: /GcRevalidateFunction/,
      invocation: "next",
      run: async () => {
        await env.lakefs.createBranch(repo.id, "late", repo.commits.c1!);
      },
    });
    const run = await gc(repo, {});
    expect(run).toMatchObject({ status: "succeeded", mode: "mark-and-sweep" });
    expect(run.counts).toMatchObject({ markedAddresses: 3, deletedObjects: 1, sparedObjects: 2 });
    await expectMarked(repo, ["A1", "O0"]);
    expect(await read(repo, "late", "a")).toBe(repo.content.A1);
  }, 120_000);

  it("an expired commit revived after revalidation, right before the deletes, stops the sweep; the mark's next sweep keeps its objects", async () => {
    const repo = await datedRepository();
    const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
    expect(mark.status).toBe("succeeded");
    env.deployment.runtime.beforeInvocation({
      function: /GcSweepFunction/,
      invocation: "next",
      run: async () => {
        await env.lakefs.createTag(repo.id, "late", repo.commits.c0!);
      },
    });
    const stopped = await gc(repo, { do_mark: false, mark_id: "m1" });
    expect(stopped.status).toBe("failed");
    expect(stopped.error_message).toContain(
      `commit ${repo.commits.c0} became active again during the sweep`,
    );
    await expectMarked(repo, ["A0", "O0", "A1"]);
    const again = await gc(repo, { do_mark: false, mark_id: "m1" });
    expect(again).toMatchObject({ status: "succeeded", counts: { sparedObjects: 2 } });
    await expectMarked(repo, ["A0", "O0"]);
  }, 120_000);

  it("a reset to an expired commit during the deletes, at a path rewritten with the same bytes, loses nothing", async () => {
    // lakeFS's diffs compare size and ETag, not addresses: from main's head to c0, p shows no
    // change, yet once main is reset to c0 it serves c0's own copy of p, which the mark holds.
    // The same bytes come back at p after a commit deleting it: lakeFS's commit keeps the
    // committed entry for a staged one with the same identity, so an upload straight over p
    // would change nothing (committed/commit.go).
    const { id } = await createLakeFsRepository(env, { webhook: false });
    const now = Math.floor(Date.now() / 1000);
    await env.lakefs.uploadObject(id, "main", "p", { content: "v1" });
    const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY })).id;
    const first = (await env.lakefs.statObject(id, c0, "p")).physical_address;
    await env.lakefs.deleteObject(id, "main", "p");
    await env.lakefs.commit(id, "main", { message: "p deleted", date: now - 15 * DAY });
    await env.lakefs.uploadObject(id, "main", "p", { content: "v1" });
    await env.lakefs.commit(id, "main", { message: "same bytes again", date: now - 10 * DAY });
    await env.lakefs.uploadObject(id, "main", "q", { content: "q" });
    await env.lakefs.commit(id, "main", { message: "c2", date: now - DAY });
    expect((await env.lakefs.statObject(id, "main", "p")).physical_address).not.toBe(first);
    const { again } = await sweepStoppedByChange(id, 1, first, () =>
      env.lakefs.hardResetBranch(id, "main", c0),
    );
    expect(again.counts).toMatchObject({ deletedObjects: 0 });
  }, 120_000);

  const cherryPick = async (repo: string, commit: string) => {
    const { accessKeyId, secretAccessKey } = env.lakefsKeys;
    const res = await fetch(
      `${env.lakefsServer.endpoint}/api/v1/repositories/${repo}/branches/main/cherry-pick`,
      {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ ref: commit }),
      },
    );
    expect(res.status, await res.text()).toBe(201);
  };
  it.each([
    // c1 replaced v1 at p, c2 wrote v1 again (a new object, the same ETag). Reverting c1 merges
    // c0 into main with c1 as the base: both sides hold v1 at p, lakeFS takes c0's object.
    [
      "a revert",
      "a revert",
      ["v1", "v2", "v1"],
      0,
      2,
      (id: string, c: string[]) => env.lakefs.revertBranch(id, "main", { ref: c[1]! }),
    ],
    // As the revert, then a commit dated a month back (lakeFS's commit `date`) on it: the new
    // head is kept, the revert (its parent) is not, and the head's diff shows nothing at p.
    [
      "a revert with a backdated commit made on it",
      "a revert",
      ["v1", "v2", "v1"],
      0,
      2,
      async (id: string, c: string[]) => {
        await env.lakefs.revertBranch(id, "main", { ref: c[1]! });
        await env.lakefs.uploadObject(id, "main", "r", { content: "r" });
        const month = Math.floor(Date.now() / 1000) - 30 * DAY;
        await env.lakefs.commit(id, "main", { message: "backdated", date: month });
      },
    ],
    // c1 wrote v1 over v2, c2 and c3 wrote v2 and v1 again. Cherry-picking c1 merges c1 into
    // main with c0 as the base: both sides hold v1 at p, lakeFS takes c1's object.
    [
      "a cherry-pick",
      "a cherry-pick",
      ["v2", "v1", "v2", "v1"],
      1,
      3,
      (id: string, c: string[]) => cherryPick(id, c[1]!),
    ],
  ] as const)(
    "%s during the deletes that brings back an expired commit's object at a path rewritten with the same bytes stops the sweep; its next sweep keeps the object",
    async (_name, what, contents, revived, marked, during) => {
      // The new commit's diff from main's previous head shows nothing at p.
      const { id } = await createLakeFsRepository(env, { webhook: false });
      const now = Math.floor(Date.now() / 1000);
      const commits: string[] = [];
      for (const [i, content] of contents.entries()) {
        await env.lakefs.uploadObject(id, "main", "p", { content });
        const age = [20, 15, 12, 10].slice(-contents.length)[i]!;
        commits.push(
          (await env.lakefs.commit(id, "main", { message: content, date: now - age * DAY })).id,
        );
      }
      const back = (await env.lakefs.statObject(id, commits[revived]!, "p")).physical_address;
      await env.lakefs.uploadObject(id, "main", "q", { content: "q" });
      await env.lakefs.commit(id, "main", { message: "q", date: now - DAY });
      const { stopped, again } = await sweepStoppedByChange(id, marked, back, () =>
        during(id, commits),
      );
      expect(stopped.error_message).toContain(
        `(${what} of ${commits[1]}) was made during the sweep`,
      );
      expect(again.counts).toMatchObject({ deletedObjects: marked - 1, sparedObjects: 1 });
    },
    120_000,
  );
});

describe("a squash merge during the deletes", () => {
  it("of an expired commit, at a path main rewrote with the same bytes, stops the sweep; its next sweep keeps the object", async () => {
    // feature wrote v1 at p (f, expired: feature's head h rewrote p since), main wrote v1 too.
    // Squash-merging f into main (lakeFS merges a commit id, and keeps only main's head as the
    // parent): both sides changed p to the same identity, so the merge takes f's object, and
    // no parent leads to f.
    const { id } = await createLakeFsRepository(env, { webhook: false });
    const now = Math.floor(Date.now() / 1000);
    const commit = async (branch: string, message: string, days: number) =>
      (await env.lakefs.commit(id, branch, { message, date: now - days * DAY })).id;
    await env.lakefs.uploadObject(id, "main", "p", { content: "v0" });
    const c0 = await commit("main", "c0", 20);
    await env.lakefs.createBranch(id, "feature", c0);
    await env.lakefs.uploadObject(id, "feature", "p", { content: "v1" });
    const f = await commit("feature", "f", 19);
    await env.lakefs.uploadObject(id, "feature", "p", { content: "v2" });
    await commit("feature", "h", 18);
    await env.lakefs.uploadObject(id, "main", "p", { content: "v1" });
    await commit("main", "m1", 10);
    await env.lakefs.uploadObject(id, "main", "q", { content: "q" });
    await commit("main", "q", 1);
    const back = (await env.lakefs.statObject(id, f, "p")).physical_address;
    let merge = "";
    // The mark: c0's v0 and f's v1.
    const { stopped, again } = await sweepStoppedByChange(id, 2, back, async () => {
      merge = await env.lakefs.merge(id, f, "main", { squashMerge: true });
    });
    expect(stopped.error_message).toContain(
      `commit ${merge} (a squash merge of ${f}) was made during the sweep`,
    );
    expect(again.counts).toMatchObject({ deletedObjects: 1, sparedObjects: 1 });
  }, 120_000);
});

describe("revivals while the sweep's revalidation lists", () => {
  it("are listed by a catch-up round before the sweep, on the deployed state machine", async () => {
    const repo = await datedRepository();
    const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
    expect(mark.status).toBe("succeeded");
    const revalidate = env.deployment.resources.find(
      (r) => r.type === "AWS::Lambda::Function" && /GcRevalidateFunction/.test(r.logicalId),
    )!;
    const before = env.deployment.runtime.stats(revalidate.physicalId).invocations;
    // The revalidation map's first batch: Revalidate has read the refs already.
    env.deployment.runtime.beforeInvocation({
      function: /GcAddressesFunction/,
      invocation: "next",
      run: async () => {
        await env.lakefs.createTag(repo.id, "late", repo.commits.c0!);
      },
    });
    const sweep = await gc(repo, { do_mark: false, mark_id: "m1" });
    expect(sweep).toMatchObject({ status: "succeeded", counts: { sparedObjects: 2 } });
    await expectMarked(repo, ["A0", "O0"]);
    // Revalidate, a catch-up round that listed c0, and a settled one.
    expect(env.deployment.runtime.stats(revalidate.physicalId).invocations - before).toBe(3);
  }, 120_000);
});

describe("one GC run per repository", () => {
  it("concurrent starts: one runs, the others get 409 naming it; a new run starts after it", async () => {
    const repo = await datedRepository();
    const mark = await gc(repo, { do_sweep: false, mark_id: "m1" });
    expect(mark.status).toBe("succeeded");
    // The started run is held in its first lakeFS read (the commits step) while the starts are answered: on a
    // loaded machine a run of this small repository could otherwise end (and release the
    // repository) before the last start is served, which would rightly be accepted.
    env.lakefsServer.faults.add({ operation: "listBranches", latencyMs: 4000, count: 1 });
    const answers = await Promise.all(
      [{}, {}, {}, { do_mark: false, mark_id: "m1" }].map((b) =>
        env.api.post(`/repositories/${repo.id}/gc/runs`, b),
      ),
    );
    const started = answers.filter((a) => a.status === 202);
    expect(started).toHaveLength(1);
    const runId = started[0]!.body.run_id;
    for (const a of answers.filter((x) => x.status !== 202)) {
      expect(a.status).toBe(409);
      expect(a.body.message).toBe(
        `GC run ${runId} is running on repository "${repo.id}": one GC run per repository at a time`,
      );
    }
    expect((await waitRun(repo, runId)).status).toBe("succeeded");
    expect(env.lakefsServer.faults.list().map((f) => f.fired)).toEqual([1]);
    env.lakefsServer.faults.clear();
    const next = await gc(repo, { do_sweep: false });
    expect(next.status).toBe("succeeded");
  }, 180_000);

  it("a run whose Lambdas crashed gives the repository back when its lease expires", async () => {
    const repo = await datedRepository();
    const runtime = env.deployment.runtime;
    const apiGc = env.deployment.resources.find((r) =>
      r.logicalId.startsWith("LakeportApiGcFunction"),
    )!;
    // A short lease for starts; the crashed run never renews it.
    runtime.updateFunctionEnvironment(apiGc.physicalId, { GC_LEASE_SECONDS: "6" });
    try {
      for (let i = 1; i <= 8; i++) {
        runtime.injectFault({ function: /GcCommitsFunction/, invocation: "next", kind: "crash" });
        runtime.injectFault({ function: /GcSummaryFunction/, invocation: "next", kind: "crash" });
      }
      const crashed = await startRun(repo, {});
      // The lease was taken before the start answered: it has run out 7.5 s after this.
      const leaseOverAt = Date.now() + 7500;
      const refused = await env.api.post(`/repositories/${repo.id}/gc/runs`, {});
      expect(refused.status).toBe(409);
      expect(refused.body.message).toContain(crashed);
      // The execution ends failed; its run record is never ended and the lease never released.
      await waitForExecutionEnd(repo, crashed);
      expect((await env.api.get(`/repositories/${repo.id}/gc/runs/${crashed}`)).body.status).toBe(
        "running",
      );
      runtime.clearFaults();
      expect((await env.api.post(`/repositories/${repo.id}/gc/runs`, {})).status).toBe(409);
      // The lease counts whole seconds: past 6 s after the start, whatever the rounding.
      await new Promise((r) => setTimeout(r, Math.max(0, leaseOverAt - Date.now())));
      const next = await startRun(repo, { do_sweep: false });
      const old = (await env.api.get(`/repositories/${repo.id}/gc/runs/${crashed}`)).body;
      expect(old).toMatchObject({
        status: "failed",
        error_message: expect.stringMatching(/stopped without ending: its lease expired/),
      });
      expect((await waitRun(repo, next)).status).toBe("succeeded");
    } finally {
      runtime.clearFaults();
      runtime.updateFunctionEnvironment(apiGc.physicalId, { GC_LEASE_SECONDS: "1800" });
    }
  }, 180_000);
});

async function waitForExecutionEnd(repo: Repo, runId: string) {
  const until = Date.now() + 90_000;
  for (;;) {
    const r = await env.api.get(`/repositories/${repo.id}/gc/runs/${runId}`);
    if (r.body.execution?.status && r.body.execution.status !== "RUNNING") return;
    if (Date.now() > until) throw new Error(`execution of ${runId} did not end`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe("lakeFS failures", () => {
  it("a lakeFS 500 mid-run is retried and the run succeeds; a persistent one fails it, saying so", async () => {
    const repo = await datedRepository();
    const faults = env.lakefsServer.faults;
    faults.add({ status: 500, count: 2, operation: "logCommits" });
    faults.add({ status: 500, count: 2, operation: "diffRefs" });
    faults.add({ status: 503, count: 1, operation: "listObjects" });
    const ok = await gc(repo, {});
    const fired = faults.list().map((f) => f.fired);
    faults.clear();
    expect(fired).toEqual([2, 2, 1]);
    expect(ok).toMatchObject({ status: "succeeded", counts: { deletedObjects: 3 } });
    await expectMarked(repo, []);

    const repo2 = await datedRepository();
    faults.add({ status: 500, operation: "listBranches", message: "lakeFS is down" });
    try {
      const failed = await gc(repo2, {});
      expect(failed.status).toBe("failed");
      expect(failed.error_message).toMatch(/lakeFS is down/);
    } finally {
      faults.clear();
    }
    await expectMarked(repo2, ["A0", "O0", "A1"]);
  }, 180_000);
});
