// `npm run demo`: the whole Lakeport story on the embedded environment, start to finish.
// Starts everything fresh in .local-demo/ (LAKEPORT_DEMO_DIR moves it; the synthesized app is
// cached in <dir>/cdk.out, or LAKEPORT_LOCAL_ASSEMBLY names a prebuilt one), creates a lakeFS
// repository with the Lakeport webhook action (the token is a lakeFS secret reference, set in
// the lakeFS server's environment, never in the repository), configures continuous export
// with the real CLI, makes commits (add, change, delete) and a merge, waits for the exports and
// shows what landed, checking that no `_lakefs_actions/` object and no copy of the token left
// lakeFS; then GC: rules, dated commits, `gc run --wait`, the reports. Stops everything at the
// end (--keep leaves it running). Where a workflow is still a skeleton, or a step does not
// finish, it says so plainly; the exit code is 1 when a part failed.
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { DescribeStateMachineCommand, ListStateMachinesCommand } from "@aws-sdk/client-sfn";
import { createS3Client, createSfnClient } from "../lambdas/shared/aws/clients";
import { LakeFsClient } from "../lambdas/shared/lakefs/client";
import type { LocalDeployment } from "./cloud/deploy";
import { COMPONENT_NAMES } from "./component";
import { lakeportComponents } from "./components";
import { type Endpoints, endpointsToEnv } from "./endpoints";
import { type RunningEnvironment, startEnvironment } from "./environment";
import { lakeportActionYaml, WEBHOOK_TOKEN_ACTION_VARIABLE } from "./lakeport-action";

// This machine's Node 20 is known; the SDK's notice about Node 22 would drown the story.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "cli/bin.mjs");
const DAY = 86_400;
const EXPORT_TIMEOUT_MS = Number(process.env.LAKEPORT_DEMO_TIMEOUT_MS ?? 120_000);

const say = (m = "") => console.log(m);
const step = (m: string) => console.log(`\n== ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A block of free ports, one a component, from 17070 up (npm run local keeps 7070-7076). */
async function freePortBase(): Promise<number> {
  const offsets = COMPONENT_NAMES.map((_, i) => i);
  for (let base = 17070; base < 60000; base += 10) {
    const free = await Promise.all(offsets.map((i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no block of ${offsets.length} free ports`);
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(env: Record<string, string>, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Runs and echoes a CLI command like a person would type it. */
async function lakeport(env: Record<string, string>, args: string[]): Promise<CliResult> {
  say(`$ lakeport ${args.map((a) => (/[\s*?]/.test(a) ? `'${a}'` : a)).join(" ")}`);
  const r = await cli(env, args);
  const out = `${r.stdout}${r.stderr}`.trimEnd();
  if (out) say(out.replace(/^/gm, "  "));
  if (r.code !== 0) say(`  (exit code ${r.code})`);
  return r;
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return o.Body!.transformToString("utf8");
}

/** true when every state of the machine is a Pass/Succeed: a placeholder, not a workflow. */
async function isSkeleton(e: Endpoints, nameFragment: string): Promise<boolean | undefined> {
  const sfn = createSfnClient({
    endpoint: e.stepfunctions!,
    region: e.region,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
  });
  try {
    const list = await sfn.send(new ListStateMachinesCommand({}));
    const m = list.stateMachines?.find(
      (x) => x.name?.includes(nameFragment) && !x.name.includes("Copy"),
    );
    if (!m) return undefined;
    const d = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: m.stateMachineArn }),
    );
    const def = JSON.parse(d.definition ?? "{}") as { States?: Record<string, { Type: string }> };
    return Object.values(def.States ?? {}).every((s) => s.Type === "Pass" || s.Type === "Succeed");
  } finally {
    sfn.destroy();
  }
}

interface DemoContext {
  env: RunningEnvironment;
  e: Endpoints;
  cliEnv: Record<string, string>;
  s3: S3Client;
  lakefs: LakeFsClient;
  deployment: () => LocalDeployment | undefined;
}

/** Polls the export status until the branch is exported at `head` (or failed, or timeout). */
async function waitExported(
  ctx: DemoContext,
  repo: string,
  branch: string,
  head: string,
): Promise<"exported" | "failed" | "timeout"> {
  const deadline = Date.now() + EXPORT_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const r = await cli(ctx.cliEnv, ["export", "status", `lakefs://${repo}@${branch}`, "--json"]);
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as {
        state?: string;
        lastExportedCommit?: string;
        errorMessage?: string;
      };
      const line = `${s.state} (last exported ${s.lastExportedCommit?.slice(0, 12) ?? "-"})`;
      if (line !== last) say(`  export state: ${line}`);
      last = line;
      if (s.state === "export-failed") {
        say(`  error: ${s.errorMessage ?? "?"}`);
        return "failed";
      }
      if (s.state !== "in-progress" && s.lastExportedCommit === head) return "exported";
    }
    await sleep(300);
  }
  return "timeout";
}

async function exportStory(ctx: DemoContext): Promise<void> {
  const repo = "demo";
  step("A lakeFS repository with the Lakeport webhook action");
  const c0 = await createDemoRepository(ctx, repo);
  if ((await isSkeleton(ctx.e, "Export")) === true) {
    say("\nNOTE: the deployed export state machine is still a skeleton (Pass states only):");
    say("exports 'succeed' without copying anything. The story below shows what exists.");
  }

  step("Continuous export of main, configured with the CLI");
  await lakeport(ctx.cliEnv, [
    "export",
    "set",
    `lakefs://${repo}@main`,
    "--path",
    "s3://demo-export/main",
    "--status-path",
    "s3://demo-export/_status",
    "--prefix-regex",
    "date=[^/]+/$",
    "--prefix-regex",
    "^tables/[^/]+/$",
    "--continuous=true",
  ]);
  let outcome = await waitExported(ctx, repo, "main", c0.id);
  say(`first export: ${outcome}`);

  step("Commits: add, change, delete; then a merge");
  const head = await commitAndMerge(ctx, repo);

  step("Waiting for the exports to catch up with main");
  outcome = await waitExported(ctx, repo, "main", head);
  if (outcome === "timeout") {
    say(
      `the export of ${head.slice(0, 12)} did not finish within ${EXPORT_TIMEOUT_MS / 1000} s (see the state above)`,
    );
  }
  await lakeport(ctx.cliEnv, ["export", "status", `lakefs://${repo}@main`]);

  step("Where to look");
  const shown = await showExport(ctx, repo, head);

  step("No secret left lakeFS");
  const clean = await checkNoSecretsExported(ctx, shown.exported, shown.status);
  if (!clean || shown.missing.length > 0 || shown.extra.length > 0) {
    throw new Error("the export does not mirror the head of main without lakeFS configuration");
  }
}

/** Buckets, the repository with the webhook action file and sample data, its first commit. */
async function createDemoRepository(ctx: DemoContext, repo: string): Promise<{ id: string }> {
  const { s3, lakefs, e } = ctx;
  for (const b of ["demo-data", "demo-export"]) {
    await s3.send(new CreateBucketCommand({ Bucket: b })).catch(() => undefined);
  }
  await lakefs.createRepository({
    name: repo,
    storage_namespace: `s3://demo-data/repos/${repo}`,
    default_branch: "main",
  });
  const webhookUrl = `${e.api}/api/v1/webhooks/lakefs`;
  await lakefs.uploadObject(repo, "main", "_lakefs_actions/lakeport.yaml", {
    content: lakeportActionYaml(webhookUrl, { timeout: "10s" }),
  });
  const files: Record<string, string> = {
    "tables/events/date=2026-11-01/part-0.csv": "id,kind\n1,click\n2,view\n",
    "tables/events/date=2026-11-02/part-0.csv": "id,kind\n3,click\n",
    "tables/users/part-0.csv": "id,name\n1,ada\n2,grace\n",
    "docs/readme.txt": "Sample data for the Lakeport demo\n",
  };
  for (const [p, content] of Object.entries(files)) {
    await lakefs.uploadObject(repo, "main", p, { content, contentType: "text/csv" });
  }
  const c0 = await lakefs.commit(repo, "main", { message: "initial data and webhook action" });
  say(`repository lakefs://${repo} (namespace s3://demo-data/repos/${repo}), main at ${c0.id}`);
  say(`webhook action: _lakefs_actions/lakeport.yaml -> ${webhookUrl}`);
  say(
    `  its ${"X-Lakeport-Token"} header is {{ ENV.${WEBHOOK_TOKEN_ACTION_VARIABLE} }}: lakeFS fills it in from its own environment`,
  );
  return c0;
}

/** Three commits on main (add, change, delete), then a merge from a branch; the new head. */
async function commitAndMerge(ctx: DemoContext, repo: string): Promise<string> {
  const { lakefs } = ctx;
  await lakefs.uploadObject(repo, "main", "tables/events/date=2026-11-03/part-0.csv", {
    content: "id,kind\n4,view\n",
    contentType: "text/csv",
  });
  let head = (await lakefs.commit(repo, "main", { message: "add 2026-11-03" })).id;
  say(`commit ${head.slice(0, 12)}: add tables/events/date=2026-11-03/part-0.csv`);
  await lakefs.uploadObject(repo, "main", "tables/users/part-0.csv", {
    content: "id,name\n1,ada\n2,grace\n3,barbara\n",
    contentType: "text/csv",
  });
  head = (await lakefs.commit(repo, "main", { message: "change users" })).id;
  say(`commit ${head.slice(0, 12)}: change tables/users/part-0.csv`);
  await lakefs.deleteObject(repo, "main", "docs/readme.txt");
  head = (await lakefs.commit(repo, "main", { message: "delete readme" })).id;
  say(`commit ${head.slice(0, 12)}: delete docs/readme.txt`);
  await lakefs.createBranch(repo, "feature", "main");
  await lakefs.uploadObject(repo, "feature", "tables/events/date=2026-11-04/part-0.csv", {
    content: "id,kind\n5,click\n",
    contentType: "text/csv",
  });
  await lakefs.commit(repo, "feature", { message: "feature: 2026-11-04" });
  head = await lakefs.merge(repo, "feature", "main", { message: "merge feature" });
  say(`merge ${head.slice(0, 12)}: feature -> main (adds date=2026-11-04)`);
  return head;
}

/** Prints the export and status paths and compares the export with the head of main. */
async function showExport(ctx: DemoContext, repo: string, head: string) {
  const { s3, lakefs } = ctx;
  const exported = await listKeys(s3, "demo-export", "main/");
  say(`s3://demo-export/main/ (${exported.length} objects):`);
  for (const k of exported) say(`  ${k}`);
  const markers = exported.filter((k) => k.endsWith("_lakefs_success"));
  say(`_lakefs_success markers: ${markers.length ? markers.join(", ") : "none"}`);
  const branchKeys = new Set<string>();
  for await (const page of lakefs.listObjects(repo, "main")) {
    for (const o of page.results)
      if (!o.path.startsWith("_lakefs_actions/")) branchKeys.add(o.path);
  }
  const exportedData = exported
    .map((k) => k.slice("main/".length))
    .filter((k) => !k.endsWith("_lakefs_success"));
  const missing = [...branchKeys].filter((k) => !exportedData.includes(k));
  const extra = exportedData.filter((k) => !branchKeys.has(k));
  say(
    missing.length === 0 && extra.length === 0
      ? "the export path matches the head of main"
      : `the export path differs from main: missing [${missing.join(", ")}], extra [${extra.join(", ")}]`,
  );
  const status = await listKeys(s3, "demo-export", "_status/");
  say(`s3://demo-export/_status/ (${status.length} objects):`);
  for (const k of status) say(`  ${k}`);
  const line = status.find((k) => k.endsWith(head));
  if (line)
    say(`status line of ${head.slice(0, 12)}: ${(await readText(s3, "demo-export", line)).trim()}`);
  else say(`no status line for the head ${head.slice(0, 12)} yet`);
  return { exported, status, missing, extra };
}

/** No `_lakefs_actions/` object was exported and no object holds the webhook token. */
async function checkNoSecretsExported(
  ctx: DemoContext,
  exported: string[],
  status: string[],
): Promise<boolean> {
  const actions = exported.filter((k) => k.startsWith("main/_lakefs_actions/"));
  say(
    actions.length === 0
      ? "the export holds no _lakefs_actions/ object (lakeFS configuration is never exported)"
      : `the export holds lakeFS configuration: ${actions.join(", ")}`,
  );
  const token = ctx.e.webhookToken!;
  const leaks: string[] = [];
  for (const k of [...exported, ...status]) {
    if ((await readText(ctx.s3, "demo-export", k)).includes(token)) leaks.push(k);
  }
  say(
    leaks.length === 0
      ? `the webhook token appears in none of the ${exported.length + status.length} exported and status objects`
      : `the webhook token appears in: ${leaks.join(", ")}`,
  );
  return actions.length === 0 && leaks.length === 0;
}

async function gcStory(ctx: DemoContext): Promise<void> {
  const { s3, lakefs, cliEnv } = ctx;
  const repo = "demo-gc";
  step("Garbage collection: a repository with dated commits");
  if ((await isSkeleton(ctx.e, "Gc")) === true) {
    say("NOTE: the deployed GC state machine is still a skeleton (Pass states only).");
  }
  await lakefs.createRepository({
    name: repo,
    storage_namespace: `s3://demo-data/repos/${repo}`,
    default_branch: "main",
  });
  const now = Math.floor(Date.now() / 1000);
  for (const [daysAgo, version] of [
    [30, "v1"],
    [20, "v2"],
    [10, "v3"],
    [1, "v4"],
  ] as const) {
    await lakefs.uploadObject(repo, "main", "model/weights.bin", { content: `weights ${version}` });
    const c = await lakefs.commit(repo, "main", {
      message: `weights ${version}`,
      date: now - daysAgo * DAY,
    });
    say(
      `commit ${c.id.slice(0, 12)} (${daysAgo} day${daysAgo === 1 ? "" : "s"} ago): model/weights.bin = ${version}`,
    );
  }
  const rulesFile = path.join(ctx.env.dir, "gc-rules.json");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(
    rulesFile,
    JSON.stringify({
      default_retention_days: 7,
      branches: [{ branch_id: "main", retention_days: 7 }],
    }),
  );
  await lakeport(cliEnv, ["gc", "set-config", `lakefs://${repo}`, "-f", rulesFile]);
  await lakeport(cliEnv, ["gc", "get-config", `lakefs://${repo}`]);
  say(`$ lakeport gc run lakefs://${repo} --wait --json`);
  const run = await cli(cliEnv, ["gc", "run", `lakefs://${repo}`, "--wait", "--json"]);
  if (run.code !== 0) {
    say(`${run.stdout}${run.stderr}`.trimEnd().replace(/^/gm, "  "));
    say(`  the GC run did not succeed (exit code ${run.code})`);
    return;
  }
  const result = JSON.parse(run.stdout) as {
    run_id: string;
    status: string;
    mode: string;
    counts?: Record<string, number>;
    execution?: { mapRuns?: { mapRunArn: string; total: number; succeeded: number }[] };
  };
  say(`  run ${result.run_id}: ${result.mode} ${result.status}`);
  for (const [k, v] of Object.entries(result.counts ?? {})) say(`    ${k.padEnd(18)} ${v}`);
  for (const m of result.execution?.mapRuns ?? []) {
    const name = m.mapRunArn.split("/").pop()?.split(":")[0];
    say(`    distributed map ${name}: ${m.succeeded}/${m.total} children succeeded`);
  }
  const reports = await listKeys(s3, "demo-data", `repos/${repo}/_lakefs/retention/gc/`);
  say(`reports under s3://demo-data/repos/${repo}/_lakefs/retention/gc/ (${reports.length}):`);
  for (const k of reports) say(`  ${k}`);
  for (const [ref, label] of [
    ["main~3", "v1 (30 days)"],
    ["main~2", "v2 (20 days)"],
    ["main~1", "v3 (10 days)"],
    ["main", "v4 (1 day)"],
  ] as const) {
    let state: string;
    try {
      const o = await lakefs.getObject(repo, ref, "model/weights.bin");
      state = `readable: "${new TextDecoder().decode(o.body)}"`;
    } catch (err) {
      state = `gone (${(err as { status?: number }).status ?? (err as Error).message})`;
    }
    say(`  ${ref.padEnd(7)} ${label.padEnd(13)} ${state}`);
  }
}

async function main() {
  const keep = process.argv.includes("--keep");
  const dir = path.resolve(process.env.LAKEPORT_DEMO_DIR ?? path.join(ROOT, ".local-demo"));
  const prebuilt = process.env.LAKEPORT_LOCAL_ASSEMBLY;
  const portBase = await freePortBase();
  step(`Starting the embedded environment in ${path.relative(process.cwd(), dir) || dir}`);
  let deployment: LocalDeployment | undefined;
  const t0 = Date.now();
  const env = await startEnvironment({
    dir,
    fresh: true,
    portBase,
    components: lakeportComponents({
      ...(prebuilt ? { assemblyDir: prebuilt } : {}),
      onDeployed: (d) => {
        deployment = d;
      },
    }),
    log: (m) => say(`  ${m}`),
  });
  say(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s; endpoints in ${env.endpointsFile}`);
  const e = env.endpoints;
  const ctx: DemoContext = {
    env,
    e,
    cliEnv: {
      ...endpointsToEnv(e),
      LAKEPORT_ENDPOINT: e.api!,
      LAKEPORT_POLL_MS: "300",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    s3: createS3Client({
      endpoint: e.s3,
      region: e.region,
      credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    }),
    lakefs: new LakeFsClient({
      endpoint: e.lakefs!,
      credentials: { accessKeyId: e.lakefsAccessKeyId!, secretAccessKey: e.lakefsSecretAccessKey! },
    }),
    deployment: () => deployment,
  };
  let failed = false;
  const stop = async () => {
    ctx.s3.destroy();
    await env.stop();
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  try {
    for (const story of [exportStory, gcStory]) {
      try {
        await story(ctx);
      } catch (err) {
        failed = true;
        say(`\nthis part of the demo failed: ${(err as Error).stack ?? err}`);
      }
    }
    const stats = deployment?.runtime.allStats() ?? [];
    step("Lambda invocations");
    for (const s of stats.filter((x) => x.invocations > 0)) {
      say(`  ${s.functionName.padEnd(60)} ${s.invocations} (errors ${s.errors})`);
    }
    if (keep) {
      say(`\nstill running (--keep); endpoints in ${env.endpointsFile}; Ctrl-C stops it`);
      return;
    }
  } finally {
    if (!keep) {
      step("Stopping");
      await stop();
    }
  }
  if (failed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`npm run demo: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
