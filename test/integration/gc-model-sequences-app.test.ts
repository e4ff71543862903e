// Model-based GC sequences through the real app (test/support/lakeport-env.ts: the synthesized
// app on the local cloud, the lakeFS development server, GC runs started through the API):
// per seed one repository and seeded random steps: commits back-dated so that retention
// expires some (writing, overwriting and deleting a few paths, committing whatever links are
// staged), branches and tags on random commits (expired ones, ones of deleted branches),
// branch and tag deletes, hard resets, reverts, merges and cherry-picks (refused ones are
// logged), uncommitted links of an old commit's physical address, rule changes, mark-only
// runs, sweep-only runs of any earlier mark (after other steps, a second time, after a newer
// mark, a retired one), mark-and-sweep runs and a restore's retire of a mark; a third of the
// runs have a change step made while they run (before their commits, addresses or
// revalidation step, never during the deletes: README's window of seconds). After every GC
// run README's "What GC guarantees" is checked against lakeFS and S3
// (test/support/gc-model-check.ts, which does not use Lakeport's GC code): every physical
// address referenced by a commit reachable from a branch or tag, or by a branch's uncommitted
// entry, holds its bytes; and every address gone from S3 was listed by a mark of the repository.
// A failure prints the seed and the steps; `MODEL_SEEDS=7,8 MODEL_STEPS=30 MODEL_LOG=1` runs
// other sequences and prints them (`MODEL_COUNTS=1`: each run's whole record). With the sweep
// not told what revalidation revived (lambdas/gc/app/sweep.ts), three of the default seeds
// fail, naming objects a branch or a kept commit references.
import { describe, expect, it } from "vitest";
import {
  checkGcPromise,
  commitObjects,
  type GcModelWorld,
  type GcRules,
} from "../support/gc-model-check";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";
import { prng } from "../support/prng";

const DAY = 86_400;
const env = useLakeportEnvironment();

const PATHS = ["a", "b", "c", "d/e", "d/f"] as const;
/** A few contents: rewrites with the same bytes (same ETag, another address) are common. */
const CONTENTS = ["alpha", "beta", "gamma"];
/** Commit ages in days: with retention of 0 to 7 days, some expire. */
const AGES = [40, 30, 25, 20, 15, 9, 5, 3, 2, 1, 0];

interface Ctx extends GcModelWorld {
  rnd: ReturnType<typeof prng>;
  log: string[];
  now: number;
  /** Every commit made, in order (branches deleted since keep theirs here). */
  commits: string[];
  branches: string[];
  tags: string[];
  /** Mark ids of mark-only runs that succeeded. */
  marks: string[];
  retired: Set<string>;
  rules: GcRules;
  n: number;
}

const statusOf = (err: unknown) => (err as { status?: number }).status;

/** A lakeFS refusal (conflict, nothing to do, uncommitted changes) is a logged outcome. */
async function refusedOk(what: Promise<unknown>): Promise<string> {
  try {
    await what;
    return "done";
  } catch (err) {
    const s = statusOf(err);
    if (s !== undefined && s >= 400 && s < 500) return `refused ${s}`;
    throw err;
  }
}

async function upload(ctx: Ctx, branch: string, p: string, content: string) {
  const o = await env.lakefs.uploadObject(ctx.repo.id, branch, p, { content });
  ctx.bytes.set(o.physical_address, content);
}

async function commitOn(ctx: Ctx, branch: string, message: string, age: number) {
  const c = await env.lakefs.commit(ctx.repo.id, branch, {
    message,
    date: ctx.now - age * DAY,
  });
  ctx.commits.push(c.id);
  return c.id;
}

const short = (c: string) => c.slice(0, 8);

async function gcRun(ctx: Ctx, body: Record<string, unknown>): Promise<string> {
  const r = await env.api.post(`/repositories/${ctx.repo.id}/gc/runs`, body);
  // A restore retires its mark for good.
  if (ctx.retired.has(`${body.mark_id}`)) expect(r.status, r.text).toBe(409);
  if (r.status === 409) return `409 ${String(r.body.message).slice(0, 90)}`;
  expect(r.status, r.text).toBe(202);
  const until = Date.now() + 90_000;
  for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
    const s = await env.api.get(`/repositories/${ctx.repo.id}/gc/runs/${r.body.run_id}`);
    if (s.body.status !== "running") {
      const c = s.body.counts ?? {};
      const counts = process.env.MODEL_COUNTS
        ? JSON.stringify(s.body)
        : `marked ${c.markedAddresses ?? "-"} deleted ${c.deletedObjects ?? "-"} spared ${c.sparedObjects ?? "-"}`;
      if (s.body.status === "succeeded" && body.do_sweep === false)
        ctx.marks.push(`${body.mark_id}`);
      const error = s.body.error_message ? ` (${String(s.body.error_message).slice(0, 120)})` : "";
      return `${s.body.status}: ${counts}${error}`;
    }
    if (Date.now() > until) throw new Error(`GC run ${r.body.run_id} still running`);
    await new Promise((res) => setTimeout(res, delay));
  }
}

/** Changes that may bring back what a mark holds (and a few that may not). */
const REVIVING = [
  "branch",
  "branch",
  "tag",
  "link",
  "link",
  "revert",
  "hardReset",
  "cherryPick",
  "merge",
  "commit",
  "rules",
  "deleteBranch",
];

interface Step {
  weight: number;
  /** A GC run: the promise is checked after it. */
  gc?: boolean;
  can?: (ctx: Ctx) => boolean;
  do: (ctx: Ctx) => Promise<string>;
}

const steps: Record<string, Step> = {
  commit: {
    weight: 7,
    do: async (ctx) => {
      const branch = ctx.rnd.pick(ctx.branches);
      const present = [
        ...(await commitObjects(env, ctx.repo.id, await headOf(ctx, branch))).keys(),
      ];
      const ops: string[] = [];
      for (let i = ctx.rnd.int(3); i > 0; i--) {
        if (present.length > 0 && ctx.rnd.next() < 0.4) {
          const p = present.splice(ctx.rnd.int(present.length), 1)[0]!;
          await env.lakefs.deleteObject(ctx.repo.id, branch, p);
          ops.push(`-${p}`);
        } else {
          const [p, content] = [ctx.rnd.pick(PATHS), ctx.rnd.pick(CONTENTS)];
          await upload(ctx, branch, p, content);
          ops.push(`+${p}=${content}`);
        }
      }
      // New bytes at least, so that the commit is never empty (lakeFS keeps the committed
      // entry for a staged one of the same identity).
      const [p, content] = [ctx.rnd.pick(PATHS), `v${ctx.n++}`];
      await upload(ctx, branch, p, content);
      ops.push(`+${p}=${content}`);
      const age = ctx.rnd.pick(AGES);
      const c = await commitOn(ctx, branch, ops.join(" "), age);
      return `${branch} ${short(c)} (${age} days): ${ops.join(" ")}`;
    },
  },
  branch: {
    weight: 2,
    do: async (ctx) => {
      const name = `b${ctx.n++}`;
      const from = ctx.rnd.pick(ctx.commits);
      // Hidden branches (left out of lakeFS's default listing) count as well.
      const hidden = ctx.rnd.next() < 0.2;
      await env.lakefs.createBranch(ctx.repo.id, name, from, { hidden });
      ctx.branches.push(name);
      return `${name}${hidden ? " (hidden)" : ""} from ${short(from)}`;
    },
  },
  tag: {
    weight: 1,
    do: async (ctx) => {
      const name = `t${ctx.n++}`;
      const from = ctx.rnd.pick(ctx.commits);
      await env.lakefs.createTag(ctx.repo.id, name, from);
      ctx.tags.push(name);
      return `${name} on ${short(from)}`;
    },
  },
  deleteBranch: {
    weight: 1,
    can: (ctx) => ctx.branches.length > 1,
    do: async (ctx) => {
      const name = ctx.rnd.pick(ctx.branches.filter((b) => b !== "main"));
      await env.lakefs.deleteBranch(ctx.repo.id, name);
      ctx.branches.splice(ctx.branches.indexOf(name), 1);
      return name;
    },
  },
  deleteTag: {
    weight: 1,
    can: (ctx) => ctx.tags.length > 0,
    do: async (ctx) => {
      const name = ctx.rnd.pick(ctx.tags);
      await env.lakefs.deleteTag(ctx.repo.id, name);
      ctx.tags.splice(ctx.tags.indexOf(name), 1);
      return name;
    },
  },
  hardReset: {
    weight: 1,
    do: async (ctx) => {
      const [branch, to] = [ctx.rnd.pick(ctx.branches), ctx.rnd.pick(ctx.commits)];
      const r = await refusedOk(env.lakefs.hardResetBranch(ctx.repo.id, branch, to));
      return `${branch} to ${short(to)}: ${r}`;
    },
  },
  revert: {
    weight: 1,
    do: async (ctx) => {
      const [branch, ref] = [ctx.rnd.pick(ctx.branches), ctx.rnd.pick(ctx.commits)];
      const parents = (await env.lakefs.getCommit(ctx.repo.id, ref)).parents.length;
      const before = await headOf(ctx, branch);
      const r = await refusedOk(
        env.lakefs.revertBranch(ctx.repo.id, branch, { ref, parentNumber: parents > 1 ? 1 : 0 }),
      );
      const after = await headOf(ctx, branch);
      if (after !== before) ctx.commits.push(after);
      return `${short(ref)} on ${branch}: ${r}`;
    },
  },
  merge: {
    weight: 1,
    do: async (ctx) => {
      const source = ctx.rnd.next() < 0.5 ? ctx.rnd.pick(ctx.branches) : ctx.rnd.pick(ctx.commits);
      const dest = ctx.rnd.pick(ctx.branches);
      const squash = ctx.rnd.next() < 0.3;
      let r: string;
      try {
        const c = await env.lakefs.merge(ctx.repo.id, source, dest, { squashMerge: squash });
        ctx.commits.push(c);
        r = short(c);
      } catch (err) {
        const s = statusOf(err);
        if (s === undefined || s >= 500) throw err;
        r = `refused ${s}`;
      }
      return `${short(source)} into ${dest}${squash ? " (squash)" : ""}: ${r}`;
    },
  },
  cherryPick: {
    weight: 1,
    do: async (ctx) => {
      const [branch, ref] = [ctx.rnd.pick(ctx.branches), ctx.rnd.pick(ctx.commits)];
      const parents = (await env.lakefs.getCommit(ctx.repo.id, ref)).parents.length;
      const { accessKeyId, secretAccessKey } = env.lakefsKeys;
      const res = await fetch(
        `${env.lakefsServer.endpoint}/api/v1/repositories/${ctx.repo.id}/branches/${branch}/cherry-pick`,
        {
          method: "POST",
          headers: {
            authorization: `Basic ${Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString("base64")}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ ref, ...(parents > 1 ? { parent_number: 1 } : {}) }),
        },
      );
      const text = await res.text();
      expect(res.status, text).toBeLessThan(500);
      if (res.status === 201) ctx.commits.push(await headOf(ctx, branch));
      return `${short(ref)} onto ${branch}: ${res.status === 201 ? "done" : `refused ${res.status}`}`;
    },
  },
  link: {
    weight: 2,
    do: async (ctx) => {
      const from = ctx.rnd.pick(ctx.commits);
      const objects = [...(await commitObjects(env, ctx.repo.id, from))];
      if (objects.length === 0) return `nothing in ${short(from)}`;
      const [p] = ctx.rnd.pick(objects);
      const o = await env.lakefs.statObject(ctx.repo.id, from, p);
      const [branch, to] = [ctx.rnd.pick(ctx.branches), ctx.rnd.pick(PATHS)];
      const r = await refusedOk(
        env.lakefs.linkPhysicalAddress(ctx.repo.id, branch, to, {
          physicalAddress: o.physical_address,
          checksum: o.checksum,
          sizeBytes: o.size_bytes ?? 0,
        }),
      );
      return `${short(from)}:${p} staged at ${branch}:${to}: ${r}`;
    },
  },
  rules: {
    weight: 1,
    do: async (ctx) => {
      const rules: GcRules = {
        default_retention_days: ctx.rnd.pick([0, 1, 3, 7]),
        branches:
          ctx.rnd.next() < 0.5
            ? []
            : [{ branch_id: "main", retention_days: ctx.rnd.pick([0, 2, 10]) }],
      };
      // With a rule for main, one for the newest other branch too (longer than main's).
      const other = ctx.branches.filter((b) => b !== "main").at(-1);
      if (rules.branches[0] && other) {
        rules.branches.push({
          branch_id: other,
          retention_days: rules.branches[0].retention_days + 5,
        });
      }
      const r = await env.api.put(`/repositories/${ctx.repo.id}/settings/gc_rules`, rules);
      expect(r.status, r.text).toBe(204);
      ctx.rules = rules;
      return JSON.stringify(rules);
    },
  },
  markOnly: {
    weight: 2,
    gc: true,
    do: async (ctx) => {
      const id = `m${ctx.n++}`;
      const during = plantChange(ctx, ["GcCommitsFunction", "GcAddressesFunction"]);
      return `${id}: ${await gcRun(ctx, { do_sweep: false, mark_id: id })}${await during()}`;
    },
  },
  sweepOnly: {
    weight: 3,
    gc: true,
    can: (ctx) => ctx.marks.length > 0,
    do: async (ctx) => {
      // Mostly the newest marks, sometimes an older (swept, retired) one.
      const id = ctx.rnd.next() < 0.7 ? ctx.marks.at(-1)! : ctx.rnd.pick(ctx.marks);
      const during = plantChange(ctx, ["GcRevalidateFunction"]);
      return `${id}: ${await gcRun(ctx, { do_mark: false, mark_id: id })}${await during()}`;
    },
  },
  markChangeSweep: {
    weight: 3,
    gc: true,
    do: async (ctx) => {
      // A mark-only run, changes that may revive what it marked, then a sweep-only run of it.
      const id = `m${ctx.n++}`;
      const out = [`${id}: ${await gcRun(ctx, { do_sweep: false, mark_id: id })}`];
      for (let k = 1 + ctx.rnd.int(3); k > 0; k--) {
        const name = ctx.rnd.pick(REVIVING);
        if (steps[name]!.can?.(ctx) === false) continue;
        out.push(`${name}: ${await steps[name]!.do(ctx)}`);
      }
      const during = plantChange(ctx, ["GcRevalidateFunction"]);
      out.push(
        `sweep ${id}: ${await gcRun(ctx, { do_mark: false, mark_id: id })}${await during()}`,
      );
      return out.join("\n     ");
    },
  },
  markAndSweep: {
    weight: 2,
    gc: true,
    do: async (ctx) => {
      const during = plantChange(ctx, [
        "GcCommitsFunction",
        "GcAddressesFunction",
        "GcRevalidateFunction",
      ]);
      return `${await gcRun(ctx, {})}${await during()}`;
    },
  },
  retire: {
    weight: 1,
    can: (ctx) => ctx.marks.length > 0,
    do: async (ctx) => {
      const id = ctx.rnd.pick(ctx.marks);
      const r = await env.api.post(`/repositories/${ctx.repo.id}/gc/marks/${id}/retire`, {
        reason: "restored from s3://model-backup/x",
      });
      expect([200, 409], r.text).toContain(r.status);
      if (r.status === 200) ctx.retired.add(id);
      return `${id}: ${r.status}`;
    },
  },
};

async function headOf(ctx: Ctx, branch: string) {
  return (await env.lakefs.getBranch(ctx.repo.id, branch)).commit_id;
}

/**
 * Sometimes (a third of the runs) a change step made while the run works: right before the
 * first invocation of one of `functions` (the mark's commits or addresses step, the sweep's
 * revalidation), which the run's later steps must see. Not before the sweep's deletes: their
 * map children run side by side, and a change there falls in README's window of seconds.
 * Returns what to log once the run ended; throws what the change threw.
 */
function plantChange(ctx: Ctx, functions: string[]): () => Promise<string> {
  if (ctx.rnd.next() >= 1 / 3) return async () => "";
  const fn = ctx.rnd.pick(functions);
  const name = pickStep(ctx, true);
  let outcome: { what: string } | { error: unknown } | undefined;
  env.deployment.runtime.beforeInvocation({
    function: new RegExp(fn),
    invocation: "next",
    run: async () => {
      try {
        outcome = { what: await steps[name]!.do(ctx) };
      } catch (error) {
        outcome = { error };
      }
    },
  });
  return async () => {
    // A run refused (409), or one that never reached the function, leaves its hook unused.
    env.deployment.runtime.clearFaults();
    if (outcome && "error" in outcome) throw outcome.error;
    return `\n     with ${name} before ${fn}: ${outcome ? outcome.what : "(not reached)"}`;
  };
}

function pickStep(ctx: Ctx, changeOnly = false): string {
  const names = Object.keys(steps).filter(
    (n) => (steps[n]!.can?.(ctx) ?? true) && !(changeOnly && (steps[n]!.gc || n === "retire")),
  );
  const total = names.reduce((s, n) => s + steps[n]!.weight, 0);
  let r = ctx.rnd.next() * total;
  for (const n of names) {
    r -= steps[n]!.weight;
    if (r < 0) return n;
  }
  return names.at(-1)!;
}

/** One sequence on a new repository; throws with the seed and the steps on a violation. */
async function runSequence(seed: number, length: number) {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const ctx: Ctx = {
    rnd: prng(seed),
    repo,
    log: [],
    now: Math.floor(Date.now() / 1000),
    bytes: new Map(),
    gone: new Set(),
    rules: { default_retention_days: 3, branches: [] },
    commits: [],
    branches: ["main"],
    tags: [],
    marks: [],
    retired: new Set(),
    n: 0,
  };
  for (const p of PATHS) await upload(ctx, "main", p, ctx.rnd.pick(CONTENTS));
  ctx.log.push(`0. main ${short(await commitOn(ctx, "main", "initial", 50))} (50 days): all paths`);
  const put = await env.api.put(`/repositories/${repo.id}/settings/gc_rules`, ctx.rules);
  expect(put.status).toBe(204);
  let runs = 0;
  for (let i = 1; i <= length; i++) {
    const name = pickStep(ctx);
    const fail = (msg: string) =>
      new Error(
        `seed ${seed}, repository ${repo.id}, step ${i} ${name}: ${msg}\nsteps:\n  ${ctx.log.join("\n  ")}`,
      );
    let what: string;
    try {
      what = await steps[name]!.do(ctx);
    } catch (err) {
      throw fail((err as Error).message);
    }
    ctx.log.push(`${i}. ${name}: ${what}`);
    if (!steps[name]!.gc) continue;
    runs++;
    const { bad, deleted, referenced, commits, active } = await checkGcPromise(env, ctx, ctx.rules);
    ctx.log.push(
      `   ${deleted} deleted; ${referenced} addresses protected by branches and ${active} kept of ${commits} commits`,
    );
    if (bad.length > 0) throw fail(`after the run:\n  ${bad.slice(0, 20).join("\n  ")}`);
  }
  // The sequence ends with a mark and sweep and its check, so every seed sweeps once at least.
  ctx.log.push(`${length + 1}. markAndSweep: ${await gcRun(ctx, {})}`);
  const { bad } = await checkGcPromise(env, ctx, ctx.rules);
  if (bad.length > 0) {
    throw new Error(
      `seed ${seed}, repository ${repo.id}, after the last run:\n  ${bad.join("\n  ")}\nsteps:\n  ${ctx.log.join("\n  ")}`,
    );
  }
  return { log: ctx.log, runs: runs + 1 };
}

// Fixed seeds: together they take every kind of step, changes made while a run works, and
// sweeps that spare revived objects (about 20 s on the embedded app).
const SEEDS = (process.env.MODEL_SEEDS ?? "12,13,20,26").split(",").map(Number);
const STEPS = Number(process.env.MODEL_STEPS ?? 15);

describe("GC: random sequences never delete what a branch, tag or staged entry references", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${STEPS} steps, every referenced object kept after every GC run`, async () => {
      const { log, runs } = await runSequence(seed, STEPS);
      if (process.env.MODEL_LOG) console.log(`seed ${seed}:\n  ${log.join("\n  ")}`);
      expect(runs).toBeGreaterThan(0);
    }, 600_000);
  }
});
