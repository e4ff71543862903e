// Model-based sequences through the real app (test/support/lakeport-env.ts): seeded random
// sequences of commits, merges, reverts, emptied directories, bursts of commits, failed
// exports (S3 writes or reads denied under the export or status path, lakeFS answering 500,
// an export function failing or crashing), repairs, damage from outside then `repair --full`,
// and configuration changes (export path, marker expressions, status path, continuous on/off,
// delete and create again, a change while the export runs) on one branch, and any of these
// done while an export runs, right before one of its functions (a commit, a configuration
// change, a repair, a run, a delete, a fault of a later function). After every settled
// step README's "Continuous export" promise is checked against lakeFS: when the branch says
// exported-successfully or export-repaired, its export path holds exactly the objects of the
// last exported commit (key, ETag, size) and a `_lakefs_success` marker in exactly the
// selected directories holding one of them, nothing else (no `_lakefs_actions/`); a
// continuous branch has its head exported with its current configuration; a status line
// saying so is written only for that commit, and the manifests beside a new one (JSON Lines
// and Batch Operations CSV) list exactly that commit's objects; a branch that failed on a
// commit has no success line for it, and no marker over a directory holding a mix of the
// failed commit and the last exported one.
// A failure prints the seed and the steps; `MODEL_SEEDS=7,8 MODEL_STEPS=30 MODEL_LOG=1` runs
// other sequences and prints them.

import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { createStateStores } from "../../lambdas/api/state-stores";
import { parseBatchOperationsCsvLine } from "../../lambdas/export/domain/batch-operations-manifest";
import { compareKeys } from "../../lambdas/export/domain/keys";
import { parseStatusLine } from "../../lambdas/export/domain/status";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { executionArnOf } from "../../lambdas/shared/workflow-starter";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  type TestRepository,
  useLakeportEnvironment,
} from "../support/lakeport-env";
import { prng } from "../support/prng";

const outBucket = uniqueName("exp-model-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

type Rnd = ReturnType<typeof prng>;

/** Nested directories, a key with a space, one at the root. */
const PATHS = [
  "top.txt",
  "a/1.txt",
  "a/2.txt",
  "a/b/3.txt",
  "a/b/4.txt",
  "a/b/c/5.txt",
  "a/b/c/6.txt",
  "a/bb/7.txt",
  "d/8.txt",
  "d/e/9.txt",
  "d/e/f/10.txt",
  "d/e/f/g h.txt",
  "g/h/i/j/11.txt",
  "g/12.txt",
  "k/13.txt",
  // Sorts before `_lakefs_actions/` / beside it, but is data.
  "0/14.txt",
  "_lakefs_actionsx/15.txt",
] as const;
/** A few contents only: equal ETags at several paths, rewrites with the same bytes. */
const CONTENTS = ["alpha", "beta", "gamma", "delta"];
const REGEX_SETS: string[][] = [[], ["^a/"], ["b/$"], ["/$"], ["^$"], ["^d/e/", "^g/"], [".*"]];
const DENY_DIRS = ["", "a/", "a/b/", "d/e/", "g/"];

interface Config {
  exportPath: string;
  exportStatusPath?: string;
  lastKeysInPrefixRegexp: string[];
  isContinuous: boolean;
}

interface Ctx {
  rnd: Rnd;
  repo: TestRepository;
  log: string[];
  /** The stored configuration (undefined once deleted) and its version. */
  config?: Config;
  configVersion?: number;
  /** What each configuration version exports to. */
  versions: Map<number, { exportPath: string; regexes: string[] }>;
  statusPaths: Set<string>;
  /** Status line key -> its text, as last seen. */
  lines: Map<string, string>;
  branches: number;
  uploads: number;
  /** Versions the branch recorded as exported. */
  exportedVersions: Set<number>;
  /** Commits made by the running step (a burst may export some of them on the way). */
  stepCommits: Set<string>;
  /** The step changed the status path while an export ran. */
  statusPathMoved?: boolean;
  /** Trigger invocations that have ended once lakeFS's events so far are handled. */
  triggers: number;
  /** exportId of the export the last check saw. */
  lastExportId?: string;
}

const api = (ctx: Ctx) => `/repositories/${ctx.repo.id}/branches/main`;
const s3Path = (ctx: Ctx, p: string) => `s3://${outBucket}/${ctx.repo.id}/${p}`;
const keyPrefixOf = (s3uri: string) => s3uri.replace(`s3://${outBucket}/`, "");

/** Objects of a ref, `_lakefs_actions/` (never exported) left out. */
async function objectsOf(ctx: Ctx, ref: string) {
  const out = new Map<string, { checksum: string; size: number }>();
  for await (const page of env.lakefs.listObjects(ctx.repo.id, ref)) {
    for (const o of page.results) {
      if (o.path.startsWith("_lakefs_actions/")) continue;
      out.set(o.path, { checksum: o.checksum, size: o.size_bytes ?? 0 });
    }
  }
  return out;
}

async function listKeys(prefix: string) {
  const out = new Map<string, { etag: string; size: number }>();
  let token: string | undefined;
  do {
    const r = await env.s3.send(
      new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const c of r.Contents ?? []) {
      out.set(c.Key!, { etag: (c.ETag ?? "").replaceAll('"', ""), size: c.Size ?? 0 });
    }
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

/** Uploads and deletes on `branch`, at least one change, then commits. */
async function changeAndCommit(ctx: Ctx, branch: string, listed?: string[], under = "") {
  const present = listed ?? [...(await objectsOf(ctx, branch)).keys()];
  const n = 1 + ctx.rnd.int(4);
  const ops: string[] = [];
  for (let i = 0; i < n; i++) {
    if (present.length > 0 && ctx.rnd.next() < 0.35) {
      const p = ctx.rnd.pick(present);
      present.splice(present.indexOf(p), 1);
      await env.lakefs.deleteObject(ctx.repo.id, branch, p);
      ops.push(`-${p}`);
    } else {
      const p = ctx.rnd.pick(PATHS);
      const content = ctx.rnd.pick(CONTENTS);
      await env.lakefs.uploadObject(ctx.repo.id, branch, p, { content });
      ops.push(`+${p}=${content}`);
    }
  }
  // A change lakeFS surely sees (under `under`), so that the commit is never empty.
  const p = ctx.rnd.pick(PATHS.filter((x) => x.startsWith(under)));
  const content = `v${ctx.uploads++}`;
  await env.lakefs.uploadObject(ctx.repo.id, branch, p, { content });
  ops.push(`+${p}=${content}`);
  const c = await env.lakefs.commit(ctx.repo.id, branch, { message: ops.join(" ") });
  ctx.stepCommits.add(c.id);
  ctx.triggers++;
  return ops.join(" ");
}

async function putConfig(ctx: Ctx, next: Config) {
  const r = await env.api.put(`${api(ctx)}/continuous-export`, next);
  expect(r.status, r.text).toBe(200);
  recordConfig(ctx, next, r.body.configVersion);
  const started = r.body.export ? ` ${r.body.export.status ?? r.body.export.message}` : "";
  return `${describeConfig(ctx, next)}: v${r.body.configVersion}${started}`;
}

function recordConfig(ctx: Ctx, next: Config, v: number) {
  const mine = { exportPath: next.exportPath, regexes: next.lastKeysInPrefixRegexp };
  const known = ctx.versions.get(v);
  // A version an export wrote names one configuration (one never exported may be reused).
  if (known && ctx.exportedVersions.has(v)) expect(known, `version ${v} reused`).toEqual(mine);
  ctx.versions.set(v, mine);
  ctx.configVersion = v;
  if (next.exportStatusPath) ctx.statusPaths.add(next.exportStatusPath);
  ctx.config = next;
}

const describeConfig = (ctx: Ctx, c: Config) =>
  JSON.stringify(c).replaceAll(`s3://${outBucket}/${ctx.repo.id}`, "");

function randomConfig(ctx: Ctx, from?: Config): Config {
  const { rnd } = ctx;
  const base: Config = from ?? {
    exportPath: s3Path(ctx, "p0"),
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
  };
  const next = { ...base };
  switch (rnd.int(4)) {
    case 0:
      next.exportPath = s3Path(ctx, rnd.pick(["p0", "p1", "p2"]));
      break;
    case 1:
      next.lastKeysInPrefixRegexp = rnd.pick(REGEX_SETS);
      break;
    case 2: {
      const s = rnd.pick(["s0", "s1", undefined]);
      if (s) next.exportStatusPath = `s3://${outBucket}/${ctx.repo.id}-status/${s}`;
      else delete next.exportStatusPath;
      break;
    }
    default:
      next.isContinuous = !next.isContinuous;
  }
  return next;
}

type Step = (ctx: Ctx) => Promise<string>;

/** Settles the step: lakeFS's hooks delivered, trigger and watchdog idle, no export running. */
/** Invocations of a function of the stack that have ended, and whether one is running. */
function invocations(logical: string) {
  const s = env.deployment.runtime.stats(env.deployment.physicalId(logical));
  return { ended: s.records.length, busy: s.invocations !== s.records.length };
}

/**
 * Settles the step: lakeFS's hooks delivered, the trigger ran for each lakeFS event (one per
 * commit, merge and revert), trigger and watchdog idle, no export running or queued.
 */
async function settle(ctx: Ctx) {
  const s = await settleOnce(ctx);
  if (s.state !== "export-failed" || !s.settlesAt || Date.parse(s.settlesAt) <= Date.now()) {
    return s;
  }
  // A failed export whose functions may still run keeps its repair waiting for their timeout
  // (settling.ts). The model's faults end their invocations, so the wait is skipped: the
  // settling time is moved into the past, as 16 minutes would.
  const { exports } = stateStores();
  const stored = await exports.getState(ctx.repo.id, "main");
  const moved = await exports.compareAndSetState(ctx.repo.id, "main", stored!.version, {
    ...stored!,
    settlesAt: new Date(Date.now() - 1_000).toISOString(),
    version: stored!.version + 1,
  });
  expect(moved).toBe(true);
  return settleOnce(ctx);
}

let stores: ReturnType<typeof createStateStores> | undefined;
function stateStores() {
  stores ??= createStateStores(
    createDynamoDbClient({
      endpoint: env.dynamoDbEndpoint,
      region: env.region,
      credentials: LOCAL_S3_CREDENTIALS,
    }),
    env.resources.tableName,
  );
  return stores;
}

async function settleOnce(ctx: Ctx) {
  await env.lakefsServer.hooksSettled();
  let previous = "";
  return eventually(
    "the export to settle",
    async () => {
      const trigger = invocations("LakeportExportTriggerFunction");
      const watchdog = invocations("LakeportExportWatchdogFunction");
      if (trigger.ended < ctx.triggers || trigger.busy || watchdog.busy) {
        previous = "";
        return undefined;
      }
      const s = (await env.api.get(`${api(ctx)}/export-status`)).body;
      if (s.state === "in-progress" || s.pendingHead) return undefined;
      // The same answer twice in a row: nothing was on its way.
      const seen = JSON.stringify([s.exportId, s.state, s.updatedAt]);
      if (seen !== previous) {
        previous = seen;
        return undefined;
      }
      return s;
    },
    120_000,
  );
}

const steps: Record<string, { weight: (ctx: Ctx, failed: boolean) => number; run: Step }> = {
  commit: {
    weight: () => 4,
    run: (ctx) => changeAndCommit(ctx, "main"),
  },
  merge: {
    weight: () => 2,
    run: async (ctx) => {
      const branch = `f${ctx.branches++}`;
      await env.lakefs.createBranch(ctx.repo.id, branch, "main");
      const ops = await changeAndCommit(ctx, branch);
      await env.lakefs.merge(ctx.repo.id, branch, "main", { message: `merge ${branch}` });
      ctx.triggers++;
      return `${branch}: ${ops}`;
    },
  },
  revert: {
    weight: () => 1.5,
    run: async (ctx) => {
      const head = (await env.lakefs.getBranch(ctx.repo.id, "main")).commit_id;
      // Never the commit adding the webhook action: its revert would stop the webhooks.
      if (head === ctx.repo.actionsCommit) return changeAndCommit(ctx, "main");
      const commit = await env.lakefs.getCommit(ctx.repo.id, head);
      const merge = commit.parents.length > 1;
      await env.lakefs.revertBranch(ctx.repo.id, "main", {
        ref: head,
        ...(merge ? { parentNumber: 1 } : {}),
      });
      ctx.triggers++;
      return `revert ${head.slice(0, 8)}`;
    },
  },
  denyWrites: {
    weight: () => 2,
    run: async (ctx) => {
      const { rnd } = ctx;
      const dir = rnd.pick(DENY_DIRS);
      const sp = ctx.config?.exportStatusPath;
      const onStatus = sp !== undefined && rnd.next() < 0.2;
      const target = onStatus ? sp : (ctx.config?.exportPath ?? s3Path(ctx, "p0"));
      const access = rnd.next() < 0.25 ? "all" : "write";
      const rule = await env.s3Admin.deny({
        bucket: outBucket,
        prefix: `${keyPrefixOf(target)}/${onStatus ? "" : dir}`,
        access,
      });
      const where = `${onStatus ? "status" : "export"}/${dir} (${access})`;
      try {
        let what = await exportSomething(ctx, undefined, dir);
        const s = await settle(ctx);
        // Sometimes a repair fails under the same fault: two failed exports to reconcile.
        if (s.state === "export-failed" && rnd.next() < 0.4) {
          const r = await env.api.post(`${api(ctx)}/repair-export`);
          await settle(ctx);
          what += `; repair under the fault: ${r.status}`;
        }
        return `deny ${where}: ${what}`;
      } finally {
        await env.s3Admin.removeDenyRule(rule.id);
      }
    },
  },
  lambdaFault: {
    weight: () => 1,
    run: async (ctx) => {
      const fn = ctx.rnd.pick(["Plan", "Copy", "Markers", "Status", "Finish"]);
      const kind = ctx.rnd.pick(["error", "crash"] as const);
      env.deployment.runtime.injectFault({
        function: env.deployment.physicalId(`LakeportExport${fn}Function`),
        invocation: "next",
        kind,
      });
      return `${fn} ${kind}: ${await exportSomething(ctx)}`;
    },
  },
  wipe: {
    weight: () => 1,
    run: async (ctx) => {
      // Empties a directory (or the whole branch): its markers must go.
      const dir = ctx.rnd.pick(DENY_DIRS);
      const present = [...(await objectsOf(ctx, "main")).keys()].filter((p) => p.startsWith(dir));
      for (const p of present) await env.lakefs.deleteObject(ctx.repo.id, "main", p);
      if (present.length === 0) return changeAndCommit(ctx, "main");
      const c = await env.lakefs.commit(ctx.repo.id, "main", { message: `wipe ${dir}` });
      ctx.stepCommits.add(c.id);
      ctx.triggers++;
      return `wipe ${dir || "/"} (${present.length})`;
    },
  },
  damage: {
    weight: (ctx) => (ctx.config ? 1 : 0),
    run: async (ctx) => {
      // Changed from outside, then `repair --full` brings the export path back.
      const prefix = `${keyPrefixOf(ctx.config!.exportPath)}/`;
      const keys = [...(await listKeys(prefix)).keys()];
      const done: string[] = [];
      for (let i = 0; i < 3 && keys.length > 0; i++) {
        const key = ctx.rnd.pick(keys);
        const rel = key.slice(prefix.length);
        if (ctx.rnd.next() < 0.5) {
          await env.s3.send(new DeleteObjectCommand({ Bucket: outBucket, Key: key }));
          done.push(`-${rel}`);
        } else {
          const body = ctx.rnd.pick(CONTENTS);
          await env.s3.send(new PutObjectCommand({ Bucket: outBucket, Key: key, Body: body }));
          done.push(`~${rel}=${body}`);
        }
      }
      const extra = `${ctx.rnd.pick(["", "a/", "zz/", "d/e/"])}${ctx.rnd.pick(["_lakefs_success", "stray.txt"])}`;
      await env.s3.send(
        new PutObjectCommand({ Bucket: outBucket, Key: prefix + extra, Body: "x" }),
      );
      done.push(`+${extra}`);
      const r = await env.lakeport(["export", "repair", `lakefs://${ctx.repo.id}@main`, "--full"]);
      return `${done.join(" ")}; repair --full: ${r.code} ${(r.stdout || r.stderr).trim().slice(0, 60)}`;
    },
  },
  burst: {
    weight: () => 1,
    run: async (ctx) => {
      const n = 2 + ctx.rnd.int(2);
      const ops: string[] = [];
      for (let i = 0; i < n; i++) ops.push(await changeAndCommit(ctx, "main"));
      return ops.join(" | ");
    },
  },
  race: {
    weight: (ctx) => (ctx.config ? 1 : 0),
    run: async (ctx) => {
      // A configuration change while the commit's export may run: moving paths answers 409.
      const ops = await changeAndCommit(ctx, "main");
      await env.lakefsServer.hooksSettled();
      const next = randomConfig(ctx, ctx.config);
      const r = await env.api.put(`${api(ctx)}/continuous-export`, next);
      if (r.status === 409) return `${ops}; set while exporting: 409`;
      expect(r.status, r.text).toBe(200);
      // The running export writes the status path it started with.
      if (next.exportStatusPath !== ctx.config?.exportStatusPath) ctx.statusPathMoved = true;
      recordConfig(ctx, next, r.body.configVersion);
      return `${ops}; set ${describeConfig(ctx, next)} while exporting: v${r.body.configVersion}`;
    },
  },
  lakeFsFault: {
    weight: () => 1,
    run: async (ctx) => {
      const operation = ctx.rnd.pick(["listObjects", "diffRefs", "statObject"]);
      const count = 3 + ctx.rnd.int(10);
      const faults = env.lakefsServer.faults;
      // Before the fault: the commit step lists the branch itself.
      const present = [...(await objectsOf(ctx, "main")).keys()];
      faults.add({ operation, status: 500, count, message: "model: lakeFS down" });
      try {
        const what = await exportSomething(ctx, present);
        await settle(ctx);
        return `lakeFS ${operation} 500 x${count}: ${what}`;
      } finally {
        faults.clear();
      }
    },
  },
  repair: {
    weight: (_ctx, failed) => (failed ? 12 : 0),
    run: async (ctx) => {
      const r = await env.lakeport(["export", "repair", `lakefs://${ctx.repo.id}@main`]);
      return `repair: ${r.code} ${(r.stdout || r.stderr).trim().slice(0, 80)}`;
    },
  },
  repairFull: {
    weight: (_ctx, failed) => (failed ? 5 : 0.7),
    run: async (ctx) => {
      const r = await env.lakeport(["export", "repair", `lakefs://${ctx.repo.id}@main`, "--full"]);
      return `repair --full: ${r.code} ${(r.stdout || r.stderr).trim().slice(0, 80)}`;
    },
  },
  configure: {
    weight: () => 2.5,
    run: async (ctx) => {
      const next = randomConfig(ctx, ctx.config);
      return `set ${await putConfig(ctx, next)}`;
    },
  },
  recreate: {
    weight: (ctx) => (ctx.config ? 0.7 : 0),
    run: async (ctx) => {
      const d = await env.api.delete(`${api(ctx)}/continuous-export`);
      expect(d.status, d.text).toBe(204);
      const previous = ctx.config;
      ctx.config = undefined;
      // The same configuration or another one.
      const next = ctx.rnd.next() < 0.5 ? { ...previous! } : randomConfig(ctx, previous);
      return `delete, set ${await putConfig(ctx, next)}`;
    },
  },
  during: {
    weight: () => 2,
    run: async (ctx) => {
      // Something done while an export runs, right before one of its functions: a commit, a
      // configuration change, a repair, a run, a delete, or a fault of a later function.
      const { rnd } = ctx;
      const fn = rnd.pick(["Plan", "Copy", "Markers", "Status"]);
      const alsoFault = rnd.next() < 0.4;
      const action = rnd.pick([
        "commit",
        "commit",
        "configure",
        "configure",
        "repair",
        "repairFull",
        "run",
        "delete",
        "fault",
        "continuousOff",
      ]);
      const faultFn = rnd.pick(["Copy", "Markers", "Status", "Finish"]);
      const faultKind = rnd.pick(["error", "crash"] as const);
      const done: string[] = [];
      env.deployment.runtime.beforeInvocation({
        function: env.deployment.physicalId(`LakeportExport${fn}Function`),
        invocation: "next",
        run: async () => {
          try {
            switch (action) {
              case "commit": {
                // No await of the hooks: the webhook runs beside the export.
                done.push(await changeAndCommit(ctx, "main"));
                break;
              }
              case "configure": {
                if (!ctx.config) break;
                const next = randomConfig(ctx, ctx.config);
                const r = await env.api.put(`${api(ctx)}/continuous-export`, next);
                if (r.status === 200) {
                  if (next.exportStatusPath !== ctx.config?.exportStatusPath)
                    ctx.statusPathMoved = true;
                  recordConfig(ctx, next, r.body.configVersion);
                }
                done.push(
                  `set ${describeConfig(ctx, next)}: ${r.status} ${r.body?.configVersion ?? r.body?.message ?? ""}`,
                );
                break;
              }
              case "repair":
              case "repairFull": {
                const r = await env.api.post(
                  `${api(ctx)}/repair-export`,
                  action === "repairFull" ? { full: true } : {},
                );
                done.push(`${action}: ${r.status} ${r.body?.status ?? r.body?.message ?? ""}`);
                break;
              }
              case "run": {
                const r = await env.api.post(`${api(ctx)}/export-hook`);
                done.push(`run: ${r.status} ${r.body?.status ?? r.body?.message ?? ""}`);
                break;
              }
              case "delete": {
                const r = await env.api.delete(`${api(ctx)}/continuous-export`);
                if (r.status === 204) ctx.config = undefined;
                done.push(`delete: ${r.status}`);
                break;
              }
              case "continuousOff": {
                if (!ctx.config) break;
                const next = { ...ctx.config, isContinuous: !ctx.config.isContinuous };
                const r = await env.api.put(`${api(ctx)}/continuous-export`, next);
                if (r.status === 200) recordConfig(ctx, next, r.body.configVersion);
                done.push(`continuous=${next.isContinuous}: ${r.status}`);
                break;
              }
              case "fault": {
                env.deployment.runtime.injectFault({
                  function: env.deployment.physicalId(`LakeportExport${faultFn}Function`),
                  invocation: "next",
                  kind: faultKind,
                });
                done.push(`fault ${faultFn} ${faultKind}`);
                break;
              }
            }
            if (alsoFault && action !== "fault") {
              env.deployment.runtime.injectFault({
                function: env.deployment.physicalId(`LakeportExport${faultFn}Function`),
                invocation: "next",
                kind: faultKind,
              });
              done.push(`fault ${faultFn} ${faultKind}`);
            }
          } catch (err) {
            done.push(`hook error: ${(err as Error).message}`);
          }
        },
      });
      const what = await exportSomething(ctx);
      await settle(ctx);
      // A hook no export met must not fire in a later step.
      env.deployment.runtime.clearFaults();
      return `${what}; before ${fn}: ${action} -> ${done.join(", ") || "(not reached)"}`;
    },
  },
  run: {
    weight: (ctx) => (ctx.config && !ctx.config.isContinuous ? 1.5 : 0),
    run: async (ctx) => {
      const r = await env.api.post(`${api(ctx)}/export-hook`);
      return `run: ${r.status} ${r.body?.status ?? r.body?.message ?? ""}`;
    },
  },
};

/** A commit (continuous) or an export run, for the fault steps. */
async function exportSomething(ctx: Ctx, present?: string[], under = ""): Promise<string> {
  if (ctx.config && !ctx.config.isContinuous && ctx.rnd.next() < 0.7) {
    const r = await env.api.post(`${api(ctx)}/export-hook`);
    return `run ${r.status}`;
  }
  return changeAndCommit(ctx, "main", present, under);
}

function pickStep(ctx: Ctx, failed: boolean): string {
  const entries = Object.entries(steps).map(([name, s]) => [name, s.weight(ctx, failed)] as const);
  const total = entries.reduce((a, [, w]) => a + w, 0);
  let x = ctx.rnd.next() * total;
  for (const [name, w] of entries) {
    x -= w;
    if (x < 0) return name;
  }
  return entries[0]![0];
}

/** Selected directories as lakeFS's export promises them (RE2 unanchored search). */
function expectedMarkers(paths: Iterable<string>, regexes: string[]): Set<string> {
  const res = regexes.map((r) => new RegExp(r));
  const selected = (d: string) => res.some((re) => re.test(d));
  const out = new Set<string>();
  for (const p of paths) {
    if (selected("")) out.add("");
    for (let i = p.indexOf("/"); i !== -1; i = p.indexOf("/", i + 1)) {
      const d = p.slice(0, i + 1);
      if (selected(d)) out.add(d);
    }
  }
  return out;
}

/** The export path against the exported commit; returns the violations. */
async function checkExportPath(ctx: Ctx, commit: string, version: number): Promise<string[]> {
  const cfg = ctx.versions.get(version);
  if (!cfg) return [`exported configuration version ${version} was never stored`];
  const prefix = `${keyPrefixOf(cfg.exportPath)}/`;
  const objects = await objectsOf(ctx, commit);
  const expected = new Map<string, { etag: string; size: number }>();
  for (const [p, o] of objects) expected.set(prefix + p, { etag: o.checksum, size: o.size });
  for (const d of expectedMarkers(objects.keys(), cfg.regexes)) {
    expected.set(`${prefix}${d}_lakefs_success`, {
      etag: "d41d8cd98f00b204e9800998ecf8427e",
      size: 0,
    });
  }
  const actual = await listKeys(prefix);
  const bad: string[] = [];
  for (const [k, e] of expected) {
    const a = actual.get(k);
    if (!a) bad.push(`missing ${k}`);
    else if (a.etag !== e.etag || a.size !== e.size) bad.push(`different ${k}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) bad.push(`extra ${k}`);
  return bad;
}

/** Status lines written since the last check: a success line only for the exported commit. */
async function checkStatusLines(ctx: Ctx, s: ExportStatusBody): Promise<string[]> {
  const bad: string[] = [];
  const lineKey = new RegExp(`/${ctx.repo.id}-main-([0-9a-z]+)$`);
  for (const sp of ctx.statusPaths) {
    for (const key of (await listKeys(`${keyPrefixOf(sp)}/`)).keys()) {
      const m = lineKey.exec(key);
      if (!m) continue;
      const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
      const text = await o.Body!.transformToString();
      if (ctx.lines.get(key) === text) continue;
      ctx.lines.set(key, text);
      const line = parseStatusLine(text);
      if (line.status === "export-failed") continue;
      // An intermediate commit of the step may have been exported on the way.
      const onTheWay = m[1] !== s.lastExportedCommit && ctx.stepCommits.has(m[1]!);
      // Historical: the success of a commit before the branch's latest export (which may
      // have failed since, in the same step).
      const historical =
        m[1] !== s.currentRef && (m[1] === s.lastExportedCommit || ctx.stepCommits.has(m[1]!));
      const ok =
        historical ||
        ((s.state === "exported-successfully" || s.state === "export-repaired") &&
          (m[1] === s.lastExportedCommit || onTheWay) &&
          line.status === s.state &&
          line.signalledErrors === 0);
      if (!ok)
        bad.push(
          `status line ${key} says ${text.trim()} (branch: ${s.state} ${s.lastExportedCommit}${s.errorMessage ? `: ${s.errorMessage}` : ""})`,
        );
    }
  }
  return bad;
}

async function textOf(key: string): Promise<string | undefined> {
  try {
    const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
    return await o.Body!.transformToString();
  } catch {
    return undefined;
  }
}

/**
 * The manifests beside a success line (`base`) against the exported commit: the JSON Lines
 * parts list exactly its objects in path order (key, ETag, size), and the Batch Operations
 * manifest's CSV files (each matching its size and MD5) list the same keys.
 */
async function checkManifests(
  ctx: Ctx,
  base: string,
  commit: string,
  version: number,
): Promise<string[]> {
  const cfg = ctx.versions.get(version);
  const indexText = await textOf(`${base}.manifest.json`);
  if (!cfg || indexText === undefined) return [`no manifest index at ${base}.manifest.json`];
  const prefix = `${keyPrefixOf(cfg.exportPath)}/`;
  const expected = [...(await objectsOf(ctx, commit)).entries()]
    .sort(([a], [b]) => compareKeys(a, b))
    .map(([p, o]) => JSON.stringify({ path: p, key: prefix + p, etag: o.checksum, size: o.size }));
  const index = JSON.parse(indexText) as { entries: number; parts: { key: string }[] };
  const lines: string[] = [];
  for (const part of index.parts) {
    const body = await textOf(part.key);
    if (body === undefined) return [`manifest part ${part.key} is missing`];
    for (const l of body.split("\n").filter(Boolean)) {
      const e = JSON.parse(l) as { path: string; key: string; etag: string; size: number };
      lines.push(JSON.stringify({ path: e.path, key: e.key, etag: e.etag, size: e.size }));
    }
  }
  const bad: string[] = [];
  if (JSON.stringify(lines) !== JSON.stringify(expected) || index.entries !== expected.length)
    bad.push(
      `manifest ${base}.manifest.json lists ${lines.length} objects, not the commit's ${expected.length}: ${lines
        .filter((l) => !expected.includes(l))
        .slice(0, 3)
        .join(" ")} / missing ${expected
        .filter((l) => !lines.includes(l))
        .slice(0, 3)
        .join(" ")}`,
    );
  const batchText = await textOf(`${base}.manifest.batch-operations.json`);
  if (batchText === undefined) return [...bad, `no Batch Operations manifest at ${base}`];
  const batch = JSON.parse(batchText) as {
    files: { key: string; size: number; MD5checksum: string }[];
  };
  const csvKeys: string[] = [];
  for (const f of batch.files) {
    const o = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: f.key }));
    const gz = Buffer.from(await o.Body!.transformToByteArray());
    if (gz.byteLength !== f.size || createHash("md5").update(gz).digest("hex") !== f.MD5checksum)
      bad.push(`CSV file ${f.key} differs from its size or MD5 in the manifest`);
    for (const l of gunzipSync(gz).toString("utf8").split("\n").filter(Boolean))
      csvKeys.push(parseBatchOperationsCsvLine(l).key);
  }
  const keys = expected.map((l) => (JSON.parse(l) as { key: string }).key);
  if (JSON.stringify(csvKeys) !== JSON.stringify(keys))
    bad.push(
      `Batch Operations manifest of ${base} lists ${csvKeys.length} keys, not the commit's ${keys.length}`,
    );
  return bad;
}

interface ExportStatusBody {
  state: string;
  currentRef: string | null;
  lastExportedCommit: string | null;
  exportedConfigVersion: number | null;
  exportId: string | null;
  errorMessage: string | null;
}

/**
 * A branch that failed on a commit: that commit's status line, where its latest export wrote
 * (the status path of its execution's input), does not say success, whether or not the
 * failed export's status step could write (an earlier export of the same commit wrote one).
 */
async function checkFailedLine(ctx: Ctx, s: ExportStatusBody): Promise<string[]> {
  if (!s.exportId || !s.currentRef) return [];
  const arn = executionArnOf(env.resources.exportStateMachineArn, s.exportId);
  let input: { exportStatusPath?: string };
  try {
    const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    input = JSON.parse(d.input ?? "{}");
  } catch {
    return []; // never started (a start that failed)
  }
  if (!input.exportStatusPath) return [];
  const key = `${keyPrefixOf(input.exportStatusPath)}/${ctx.repo.id}-main-${s.currentRef}`;
  const text = await textOf(key);
  if (text === undefined || parseStatusLine(text).status === "export-failed") return [];
  return [`branch export-failed on ${s.currentRef}, but ${key} says ${text.trim()}`];
}

/** Objects of each commit seen by the marker check (commits never change). */
const commitObjects = new Map<string, Map<string, { checksum: string; size: number }>>();

/** The objects of every commit of main's history, the last exported and failed ones first. */
async function* historyObjects(ctx: Ctx, first: string[]) {
  const ids = [...first];
  for await (const page of env.lakefs.logCommits(ctx.repo.id, "main")) {
    for (const c of page.results) if (!ids.includes(c.id)) ids.push(c.id);
  }
  for (const id of ids) {
    const key = `${ctx.repo.id}@${id}`;
    if (!commitObjects.has(key)) commitObjects.set(key, await objectsOf(ctx, id));
    yield commitObjects.get(key)!;
  }
}

/**
 * A branch that failed on a commit, exported with the configuration of its last success: every
 * marker of a selected directory stands over that directory as a commit of the branch has it
 * (the last exported, the failed one, or one an export in between wrote completely before a
 * later step failed), never over a mix of commits.
 */
async function checkMarkersAfterFailure(ctx: Ctx, s: ExportStatusBody): Promise<string[]> {
  const version = s.exportedConfigVersion;
  if (!s.lastExportedCommit || !s.currentRef || version === null) return [];
  if (version !== ctx.configVersion) return [];
  const cfg = ctx.versions.get(version);
  if (!cfg || cfg.regexes.length === 0) return [];
  const prefix = `${keyPrefixOf(cfg.exportPath)}/`;
  const res = cfg.regexes.map((r) => new RegExp(r));
  const selected = (d: string) => res.some((re) => re.test(d));
  const marker = "_lakefs_success";
  const isMarkerKey = (p: string) =>
    (p === marker || p.endsWith(`/${marker}`)) && selected(p.slice(0, -marker.length));
  const actual = new Map<string, string>();
  for (const [k, o] of await listKeys(prefix)) actual.set(k.slice(prefix.length), o.etag);
  const under = (entries: Iterable<[string, string]>, dir: string) =>
    JSON.stringify([...entries].filter(([p]) => p.startsWith(dir) && !isMarkerKey(p)).sort());
  const open = new Map<string, string>(); // marker key -> what is under its directory
  for (const key of actual.keys()) {
    if (isMarkerKey(key)) open.set(key, under(actual, key.slice(0, -marker.length)));
  }
  for await (const objects of historyObjects(ctx, [s.lastExportedCommit, s.currentRef])) {
    if (open.size === 0) break;
    const entries = [...objects].map(([p, o]) => [p, o.checksum] as [string, string]);
    for (const [key, there] of open) {
      if (under(entries, key.slice(0, -marker.length)) === there) open.delete(key);
    }
  }
  return [...open.keys()].map((key) => `marker ${prefix}${key} over a mix of commits`);
}

/** Every promise the settled branch makes; returns the violations. */
async function checkInvariant(ctx: Ctx, s: ExportStatusBody): Promise<string[]> {
  const bad = await checkStatusLines(ctx, s);
  const succeeded = s.state === "exported-successfully" || s.state === "export-repaired";
  if (s.exportedConfigVersion !== null) ctx.exportedVersions.add(s.exportedConfigVersion);
  if (s.state === "export-failed") {
    bad.push(...(await checkFailedLine(ctx, s)));
    bad.push(...(await checkMarkersAfterFailure(ctx, s)));
  }
  if (!succeeded || !s.lastExportedCommit || s.exportedConfigVersion === null) return bad;
  if (s.currentRef !== s.lastExportedCommit)
    bad.push(`succeeded on ${s.currentRef}, exported ${s.lastExportedCommit}`);
  bad.push(...(await checkExportPath(ctx, s.lastExportedCommit, s.exportedConfigVersion)));
  if (ctx.config?.isContinuous) {
    const head = (await env.lakefs.getBranch(ctx.repo.id, "main")).commit_id;
    if (head !== s.lastExportedCommit) bad.push(`continuous, but head ${head} not exported`);
    if (s.exportedConfigVersion !== ctx.configVersion)
      bad.push(`continuous, but configuration v${ctx.configVersion} not exported`);
  }
  // A new successful export with a status path wrote its line.
  const sp = ctx.config?.exportStatusPath;
  if (sp && s.exportId !== ctx.lastExportId && !ctx.statusPathMoved) {
    const key = `${keyPrefixOf(sp)}/${ctx.repo.id}-main-${s.lastExportedCommit}`;
    const text = ctx.lines.get(key);
    if (!text || parseStatusLine(text).status !== s.state) bad.push(`no ${s.state} line at ${key}`);
    bad.push(...(await checkManifests(ctx, key, s.lastExportedCommit, s.exportedConfigVersion)));
  }
  ctx.lastExportId = s.exportId ?? undefined;
  return bad;
}

/** One sequence on a new repository; throws with the seed and the steps on a violation. */
async function runSequence(seed: number, length: number, forced?: string[]) {
  const rnd = prng(seed);
  // A fault an earlier sequence injected but never met (its step started no export) would
  // hit this one's first export: each sequence starts without any, so a seed replays alone.
  env.deployment.runtime.clearFaults();
  // The commit adding the webhook action fires an event too.
  const triggers = invocations("LakeportExportTriggerFunction").ended + 1;
  const repo = await createLakeFsRepository(env);
  const ctx: Ctx = {
    rnd,
    repo,
    log: [],
    versions: new Map(),
    exportedVersions: new Set(),
    stepCommits: new Set(),
    statusPaths: new Set(),
    lines: new Map(),
    branches: 0,
    uploads: 0,
    triggers,
  };
  await changeAndCommit(ctx, "main");
  await env.lakefsServer.hooksSettled();
  const first = randomConfig(ctx);
  first.isContinuous = true;
  // With a status path from the start, most successes write manifests to check.
  first.exportStatusPath = `s3://${outBucket}/${repo.id}-status/s0`;
  ctx.log.push(`set ${await putConfig(ctx, first)}`);
  let s = await settle(ctx);
  const initial = await checkInvariant(ctx, s);
  if (initial.length > 0) throw new Error(`seed ${seed}, first export:\n  ${initial.join("\n  ")}`);
  for (let i = 0; i < length; i++) {
    const failed = s.state === "export-failed";
    const name = forced?.[i] ?? pickStep(ctx, failed);
    ctx.stepCommits.clear();
    ctx.statusPathMoved = false;
    let what: string;
    try {
      what = await steps[name]!.run(ctx);
      s = await settle(ctx);
    } catch (err) {
      throw new Error(
        `seed ${seed}, repository ${repo.id}, step ${i + 1} ${name}: ${(err as Error).message}\nsteps:\n  ${ctx.log.join("\n  ")}`,
      );
    }
    ctx.log.push(
      `${i + 1}. ${name}: ${what} -> ${s.state}${s.errorMessage ? ` (${String(s.errorMessage).slice(0, 100)})` : ""}`,
    );
    const bad = await checkInvariant(ctx, s);
    if (bad.length > 0) {
      throw new Error(
        `seed ${seed}, repository ${repo.id}, after step ${i + 1}:\n  ${bad.slice(0, 20).join("\n  ")}\nsteps:\n  ${ctx.log.join("\n  ")}`,
      );
    }
  }
  return ctx.log;
}

// Fixed seeds: together they take every kind of step (about 50 s on the embedded app). The
// outcome of a fault (which call meets it) depends on timing, so a run may branch differently
// after one; the checks hold either way.
const SEEDS = (process.env.MODEL_SEEDS ?? "1,2,3,4,5").split(",").map(Number);
const STEPS = Number(process.env.MODEL_STEPS ?? 15);

describe("continuous export: random sequences against the model", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${STEPS} steps keep the export path equal to the last exported commit`, async () => {
      const log = await runSequence(seed, STEPS);
      if (process.env.MODEL_LOG) console.log(`seed ${seed}:\n  ${log.join("\n  ")}`);
      expect(log.length).toBe(STEPS + 1);
    }, 600_000);
  }
});
