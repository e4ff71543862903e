// The lakeport CLI run as a child process against the local API server.
import { execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { type FakeApi, startApiWithFakes } from "../support/api-harness";
import { testS3Client, uniqueName } from "../support/clients";

let fake: FakeApi;
let dir: string;
const repo = "repo-cli";
const bin = path.resolve(__dirname, "../../cli/bin.mjs");

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, {
    main: "c1",
    dev: "d1",
    gone: "g1",
  });
  dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-cli-"));
});
afterAll(() => fake.stop());

function lakeport(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          LAKEPORT_ENDPOINT: fake.api.endpoint,
          // The default AWS credential chain signs: the local API Gateway's credentials.
          AWS_ACCESS_KEY_ID: fake.api.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: fake.api.credentials.secretAccessKey,
          AWS_REGION: fake.api.region,
          LAKEPORT_POLL_MS: "50",
          ...env,
        },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

test("export set/get/status/run/repair", async () => {
  const set = await lakeport([
    "export",
    "set",
    `lakefs://${repo}@main`,
    "--path",
    "s3://export-bucket/out",
    "--status-path",
    "s3://export-bucket/status",
    "--prefix-regex",
    "a/",
    "--prefix-regex",
    ".*/2021-\\d\\d/",
    "--continuous",
  ]);
  expect(set).toMatchObject({ code: 0 });
  expect(set.stdout).toMatch(
    /^configuration stored \(version 1, continuous\)\nexport .* started: \(first export\) -> c1, full export$/m,
  );

  // lakectl's branch URI (lakefs://REPO/BRANCH) and the @ form name the same branch.
  for (const uri of [`lakefs://${repo}@main`, `lakefs://${repo}/main`]) {
    const get = await lakeport(["--json", "export", "get", uri]);
    expect(JSON.parse(get.stdout), uri).toEqual({
      exportPath: "s3://export-bucket/out",
      exportStatusPath: "s3://export-bucket/status",
      lastKeysInPrefixRegexp: ["a/", ".*/2021-\\d\\d/"],
      isContinuous: true,
    });
  }

  const status = await lakeport(["export", "status", `lakefs://${repo}/main`]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/state: +in-progress\ncurrent ref: +c1/);
  expect(status.stdout).toMatch(/progress: +RUNNING, 4\/10 items/);

  const busy = await lakeport(["export", "run", `lakefs://${repo}@main`]);
  expect(busy.code).toBe(3);
  expect(busy.stderr).toMatch(/409 export in progress/);

  const s = await fake.deps.stores.exports.getState(repo, "main");
  // The execution ended failed (an outcome is recorded once its execution has ended).
  fake.workflows.status.set(s!.executionArn!, "FAILED");
  await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: s!.exportId,
      commitId: "c1",
      outcome: { status: "failed", errorMessage: "AccessDenied" },
    },
    new Date().toISOString(),
  );
  const failed = await lakeport(["export", "status", `lakefs://${repo}@main`, "--json"]);
  expect(JSON.parse(failed.stdout)).toMatchObject({
    state: "export-failed",
    errorMessage: "AccessDenied",
  });
  const refused = await lakeport(["export", "run", `lakefs://${repo}@main`]);
  expect(refused).toMatchObject({ code: 3 });
  expect(refused.stderr).toContain("export-failed: repair first");
  // Storing a configuration is reported apart from the export it then starts (or cannot).
  const setArgs = ["export", "set", `lakefs://${repo}@main`, "--path", "s3://export-bucket/out2"];
  const stored = await lakeport([...setArgs, "--continuous=true"]);
  expect(stored.code, stored.stderr).toBe(0);
  expect(stored.stdout.split("\n")).toEqual([
    "configuration stored (version 2, continuous)",
    "the export path changed: the next export copies the whole branch to s3://export-bucket/out2; s3://export-bucket/out is left as it is (delete it yourself when it is no longer needed)",
    "export not started: the last export failed (AccessDenied); run lakeport export repair first",
    "",
  ]);
  const once = await lakeport([...setArgs, "--continuous=false"]);
  expect(once.code).toBe(3);
  expect(once.stdout).toBe("configuration stored (version 2)\n");
  expect(once.stderr).toBe(
    "lakeport: 409 export not started: export-failed: repair first (last error: AccessDenied)\n",
  );
  // Exit 3, and the configuration stays stored (README: CLI exit codes).
  expect(await fake.deps.stores.exports.getConfig(repo, "main")).toMatchObject({
    exportPath: "s3://export-bucket/out2",
    isContinuous: false,
  });
  // Back to the first path (the configuration later tests read).
  const back = await lakeport([
    "export",
    "set",
    `lakefs://${repo}@main`,
    "--path",
    "s3://export-bucket/out",
    "--status-path",
    "s3://export-bucket/status",
    "--prefix-regex",
    "a/",
    "--prefix-regex",
    ".*/2021-\\d\\d/",
    "--continuous",
  ]);
  expect(back.stdout).toMatch(/^configuration stored \(version 3, continuous\)\n/);
  const repair = await lakeport(["export", "repair", `lakefs://${repo}@main`]);
  expect(repair.code).toBe(0);
  expect(repair.stdout).toMatch(/started: \(first export\) -> c1 \(repair\)/);
});

test("export delete: refused while the export runs, then deleted; the export path is not touched", async () => {
  const uri = `lakefs://${repo}/gone`;
  const setGone = () =>
    lakeport(["export", "set", uri, "--path", "s3://export-bucket/gone", "--continuous"]);
  const set = await setGone();
  expect(set.code, set.stderr).toBe(0);
  const busy = await lakeport(["export", "delete", uri]);
  expect(busy.code).toBe(3);
  expect(busy.stderr).toMatch(/^lakeport: 409 lakefs:\/\/.*@gone: export .* is running/);
  // Set again while it runs: stored, and the head is queued behind the running export.
  const running = (await fake.deps.stores.exports.getState(repo, "gone"))!.exportId;
  const again = await setGone();
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toMatch(
    new RegExp(
      `^configuration stored \\(version \\d+, continuous\\)\nexport not started now: export ${running} is running; \\S+ will be exported when it ends\n$`,
    ),
  );
  expect((await lakeport(["export", "get", uri])).code).toBe(0);
  const s = await fake.deps.stores.exports.getState(repo, "gone");
  await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch: "gone",
      exportId: s!.exportId,
      commitId: "g1",
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  const deleted = await lakeport(["export", "delete", uri]);
  expect(deleted, deleted.stderr).toMatchObject({
    code: 0,
    stdout: "export configuration deleted; the export path is left as it is\n",
  });
  const gone = await lakeport(["export", "get", uri]);
  expect(gone.code).toBe(3);
  expect(gone.stderr).toContain("404 no export configuration");
  expect((await lakeport(["export", "delete", uri])).code).toBe(3);
});

test("export set --continuous=false starts one export; --wait follows it to the end", async () => {
  const child = lakeport([
    "export",
    "set",
    `lakefs://${repo}@dev`,
    "--path",
    "s3://export-bucket/dev",
    "--continuous=false",
    "--wait",
  ]);
  let state = await fake.deps.stores.exports.getState(repo, "dev");
  while (!state?.executionArn) {
    await new Promise((r) => setTimeout(r, 50));
    state = await fake.deps.stores.exports.getState(repo, "dev");
  }
  expect((await fake.deps.stores.exports.getConfig(repo, "dev"))?.isContinuous).toBe(false);
  await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch: "dev",
      exportId: state.exportId,
      commitId: "d1",
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  const r = await child;
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/state: +exported-successfully\n.*\nlast exported commit: d1/);

  // With --json: no progress line (not even the first one printed off a terminal), only the
  // JSON of the end state.
  fake.lakefs.setHead(repo, "dev", "d2");
  const quiet = lakeport([
    "--json",
    ...["export", "set", `lakefs://${repo}@dev`, "--path", "s3://export-bucket/dev"],
    ...["--continuous=false", "--wait"],
  ]);
  let next = await fake.deps.stores.exports.getState(repo, "dev");
  while (next?.commitId !== "d2" || next.state !== "in-progress") {
    await new Promise((res) => setTimeout(res, 50));
    next = await fake.deps.stores.exports.getState(repo, "dev");
  }
  // Long enough for a progress line to be printed, were it printed.
  await new Promise((res) => setTimeout(res, 300));
  await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch: "dev",
      exportId: next.exportId,
      commitId: "d2",
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  const q = await quiet;
  expect(q.code, q.stderr).toBe(0);
  expect(q.stderr).toBe("");
  expect(JSON.parse(q.stdout)).toMatchObject({
    state: "exported-successfully",
    lastExportedCommit: "d2",
  });
});

test("--version prints the package's version; --help shows examples and exit codes", async () => {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
  const version = await lakeport(["--version"]);
  expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  for (const args of [["--help"], ["export", "--help"], ["gc", "--help"]]) {
    const help = await lakeport(args);
    expect(help.code, args.join(" ")).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n {2}\$ lakeport /);
    expect(help.stdout).toContain("Exit codes:\n  0  ok\n  2  usage error");
    expect(help.stdout).toContain("lakefs://REPO/BRANCH");
  }
});

test("usage errors exit 2", async () => {
  const noContinuous = await lakeport([
    "export",
    "set",
    `lakefs://${repo}@main`,
    "--path",
    "s3://b1/x",
  ]);
  expect(noContinuous.code).toBe(2);
  expect(noContinuous.stderr).toContain("--continuous must be specified");
  expect((await lakeport(["export", "get", `lakefs://${repo}`])).code).toBe(2);
  const withPath = await lakeport(["export", "get", `lakefs://${repo}/main/some/path`]);
  expect(withPath).toMatchObject({ code: 2 });
  expect(withPath.stderr).toContain("a branch takes no path");
  expect((await lakeport(["gc", "run", `lakefs://${repo}`, "--sweep-only"])).code).toBe(2);
  expect((await lakeport(["export", "frobnicate"])).code).toBe(2);
  // gc backup exists now (issue 7): without its required options it is a usage error.
  const backup = await lakeport(["gc", "backup", `lakefs://${repo}`]);
  expect(backup).toMatchObject({ code: 2 });
  expect(backup.stderr).toContain("--mark-id");
  const noEndpoint = await lakeport(["export", "get", `lakefs://${repo}@main`], {
    LAKEPORT_ENDPOINT: "",
  });
  expect(noEndpoint).toMatchObject({ code: 2 });
});

test("endpoint from .local/endpoints.json", async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), "lakeport-cli-ep-"));
  await import("node:fs/promises").then((fs) => fs.mkdir(path.join(d, ".local")));
  writeFileSync(
    path.join(d, ".local", "endpoints.json"),
    JSON.stringify({
      api: fake.api.endpoint,
      region: fake.api.region,
      accessKeyId: fake.api.credentials.accessKeyId,
      secretAccessKey: fake.api.credentials.secretAccessKey,
    }),
  );
  const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(
      process.execPath,
      [bin, "--json", "export", "get", `lakefs://${repo}@main`],
      { cwd: d, env: { PATH: process.env.PATH ?? "" } },
      (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
    ),
  );
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).exportPath).toBe("s3://export-bucket/out");
});

test("gc set-config/get-config/run/status/list/delete-config", async () => {
  const rulesFile = path.join(dir, "rules.json");
  const rules = {
    default_retention_days: 14,
    branches: [
      { branch_id: "main", retention_days: 21 },
      { branch_id: "dev", retention_days: 7 },
    ],
  };
  writeFileSync(rulesFile, JSON.stringify(rules));
  expect((await lakeport(["gc", "set-config", `lakefs://${repo}`, "-f", rulesFile])).code).toBe(0);
  // lakectl's get-config: readable by default, JSON with -p or --json.
  const readable = await lakeport(["gc", "get-config", `lakefs://${repo}`]);
  expect(readable.stdout).toBe(
    "Default Retention Days: 14\nBranch Rules:\n  - Branch: main\n    Retention Days: 21\n  - Branch: dev\n    Retention Days: 7\n",
  );
  for (const flag of ["-p", "--json"]) {
    const asJson = await lakeport(["gc", "get-config", `lakefs://${repo}`, flag]);
    expect(JSON.parse(asJson.stdout), flag).toEqual(rules);
  }
  // lakectl's --filename (and the earlier --file) set the same rules.
  const other = { default_retention_days: 5, branches: [] };
  const otherFile = path.join(dir, "rules-other.json");
  writeFileSync(otherFile, JSON.stringify(other));
  for (const flag of ["--filename", "--file"]) {
    const set = await lakeport(["gc", "set-config", `lakefs://${repo}`, flag, otherFile]);
    expect(set.code, set.stderr).toBe(0);
    const got = await lakeport(["gc", "get-config", `lakefs://${repo}`, "-p"]);
    expect(JSON.parse(got.stdout)).toEqual(other);
  }
  // A number JSON would read as another (1e-400 as 0 days) is refused before any request;
  // the stored rules stay.
  const underflow = path.join(dir, "rules-underflow.json");
  writeFileSync(underflow, '{"default_retention_days": 1e-400, "branches": []}');
  const refused = await lakeport(["gc", "set-config", `lakefs://${repo}`, "-f", underflow]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    "default_retention_days: the number 1e-400 is too small for a number and would read as 0",
  );
  // A field given twice (JSON.parse keeps the last, 0 days) is refused the same way.
  const repeated = path.join(dir, "rules-repeated.json");
  writeFileSync(
    repeated,
    '{"default_retention_days": 30, "branches": [], "default_retention_days": 0}',
  );
  const twice = await lakeport(["gc", "set-config", `lakefs://${repo}`, "-f", repeated]);
  expect(twice.code).toBe(2);
  expect(twice.stderr).toContain(
    `-f/--filename: ${repeated}: default_retention_days: must be given once (the body repeats it)`,
  );
  const kept = await lakeport(["gc", "get-config", `lakefs://${repo}`, "-p"]);
  expect(JSON.parse(kept.stdout)).toEqual(other);
  expect(
    (await lakeport(["gc", "set-config", `lakefs://${repo}`, "--filename", rulesFile])).code,
  ).toBe(0);

  const mark = await lakeport([
    "--json",
    "gc",
    "run",
    `lakefs://${repo}`,
    "--mark-only",
    "--mark-id",
    "cli-mark",
  ]);
  expect(mark.code).toBe(0);
  const run = JSON.parse(mark.stdout);
  expect(run).toMatchObject({ mode: "mark-only", mark_id: "cli-mark", status: "running" });
  const st = await lakeport(["gc", "status", `lakefs://${repo}`, run.run_id]);
  expect(st.stdout).toMatch(/status: +running[\s\S]*progress: RUNNING, 4\/10 items/);

  // --wait follows the run; the run fails -> exit code 4.
  const waiting = lakeport(["gc", "status", `lakefs://${repo}`, run.run_id, "--wait"]);
  await new Promise((r) => setTimeout(r, 300));
  await fake.deps.stores.gc.completeRun(
    repo,
    run.run_id,
    { status: "failed", errorMessage: "boom" },
    new Date().toISOString(),
  );
  const w = await waiting;
  expect(w.code).toBe(4);
  expect(w.stderr).toContain(`GC run ${run.run_id} failed: boom`);

  const sweep = await lakeport([
    "gc",
    "run",
    `lakefs://${repo}`,
    "--sweep-only",
    "--mark-id",
    "cli-mark",
  ]);
  expect(sweep.code).toBe(3);
  expect(sweep.stderr).toMatch(/409 mark id "cli-mark" is from a failed mark run/);

  const list = await lakeport(["--json", "gc", "list", `lakefs://${repo}`]);
  expect(JSON.parse(list.stdout).results.map((r: { run_id: string }) => r.run_id)).toEqual([
    run.run_id,
  ]);
  expect((await lakeport(["gc", "delete-config", `lakefs://${repo}`])).code).toBe(0);
  const gone = await lakeport(["gc", "get-config", `lakefs://${repo}`]);
  expect(gone.code).toBe(3);
  expect(gone.stderr).toContain(`404 no GC rules for repository "${repo}"`);
});

test("--wait stops with exit 4 when the execution ended without recording its end", async () => {
  const rulesFile = path.join(dir, "rules2.json");
  writeFileSync(rulesFile, JSON.stringify({ default_retention_days: 1, branches: [] }));
  expect((await lakeport(["gc", "set-config", `lakefs://${repo}`, "-f", rulesFile])).code).toBe(0);
  const started = JSON.parse((await lakeport(["--json", "gc", "run", `lakefs://${repo}`])).stdout);
  fake.workflows.finish(started.execution_arn, "ABORTED");
  const r = await lakeport(["gc", "status", `lakefs://${repo}`, started.run_id, "--wait"]);
  expect(r.code).toBe(4);
  expect(r.stderr).toContain(
    `execution ${started.execution_arn} ended ABORTED without recording its end`,
  );
});

/**
 * The CLI under a pseudo-terminal (util-linux `script`): what a person at a terminal sees.
 * `seen(re)` resolves once the output so far matches, so a test acts after the CLI has drawn.
 */
function lakeportOnTerminal(args: string[]) {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, bin, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      SHELL: "/bin/sh",
      LAKEPORT_ENDPOINT: fake.api.endpoint,
      AWS_ACCESS_KEY_ID: fake.api.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: fake.api.credentials.secretAccessKey,
      AWS_REGION: fake.api.region,
      LAKEPORT_POLL_MS: "50",
    },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => {
    output += d.toString("utf8");
  });
  const ended = new Promise<{ code: number; output: string }>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? 1, output })),
  );
  const seen = async (re: RegExp) => {
    const deadline = Date.now() + 60_000;
    while (!re.test(output)) {
      if (Date.now() > deadline) throw new Error(`not seen ${re}: ${JSON.stringify(output)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ended, seen };
}

test("--wait on a terminal redraws one progress line (objects, bytes), then prints the counts", async () => {
  const ttyRepo = "repo-cli-tty";
  fake.lakefs.addRepository(ttyRepo, `s3://lakefs-data/${ttyRepo}`, { main: "t1" });
  const uri = `lakefs://${ttyRepo}/main`;
  const started = await lakeport([
    ...["export", "set", uri, "--path", "s3://export-bucket/tty", "--continuous=false"],
  ]);
  expect(started.code, started.stderr).toBe(0);
  const { exportId } = (await fake.deps.stores.exports.getState(ttyRepo, "main"))!;
  const cli = lakeportOnTerminal(["export", "status", uri, "--wait"]);
  const progress = fake.deps.stores.exportProgress;
  const MiB = 1024 * 1024;
  const planned = { copies: 900, deletes: 100, copyBytes: 900 * MiB, shards: 2 };
  await cli.seen(/: starting/);
  await progress.recordPlan(
    exportId,
    { copies: 400, deletes: 100, copyBytes: 400 * MiB, shards: 1 },
    false,
    new Date(),
  );
  await cli.seen(/: planning 500 objects/);
  await progress.recordPlan(exportId, planned, true, new Date());
  const shard = { shards: 1, copied: 450, deleted: 50, copiedBytes: 450 * MiB, failed: 0 };
  await progress.addCopied(exportId, shard, new Date());
  await cli.seen(/: copying 500\/1,000 objects/);
  await progress.addCopied(
    exportId,
    { ...shard, failed: 1, copied: 449, copiedBytes: 449 * MiB },
    new Date(),
  );
  await cli.seen(/: writing markers and status/);
  await fake.deps.stores.exports.completeExport(
    {
      repository: ttyRepo,
      branch: "main",
      exportId,
      commitId: "t1",
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  const { code, output } = await cli.ended;
  expect(code, output).toBe(0);
  const end = output.indexOf("state:");
  const drawn = output.slice(0, end);
  // Every update redraws the same physical line: no line feed until the end state.
  expect(drawn).not.toContain("\n");
  const frames = drawn.split("\r\x1b[2K").filter(Boolean);
  expect(frames[0]).toBe(`export ${exportId}: starting`);
  expect(frames).toContain(`export ${exportId}: planning 500 objects, 400 MiB, planned so far`);
  expect(frames).toContain(`export ${exportId}: copying 500/1,000 objects, 450 MiB/900 MiB`);
  expect(frames.at(-1)).toMatch(
    new RegExp(
      `^export ${exportId}: writing markers and status 1,000/1,000 objects, 899 MiB/900 MiB, .*1 failed$`,
    ),
  );
  // The end state with its counts (the terminal turns \n into \r\n).
  expect(output.slice(end)).toMatch(/^state: +exported-successfully\r\n/);
  expect(output).toMatch(/counts: +899 copied \(899 MiB\), 100 deleted, 1 failed in \d+s\r\n/);
});

test("gc set-config -f - reads the rules from stdin", async () => {
  const rules = {
    default_retention_days: 9,
    branches: [{ branch_id: "main", retention_days: 11 }],
  };
  const set = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [bin, "gc", "set-config", `lakefs://${repo}`, "-f", "-"],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          LAKEPORT_ENDPOINT: fake.api.endpoint,
          AWS_ACCESS_KEY_ID: fake.api.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: fake.api.credentials.secretAccessKey,
          AWS_REGION: fake.api.region,
        },
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stderr }));
    child.stdin.end(JSON.stringify(rules));
  });
  expect(set.code, set.stderr).toBe(0);
  const got = await lakeport(["gc", "get-config", `lakefs://${repo}`, "--json"]);
  expect(JSON.parse(got.stdout)).toEqual(rules);
});

test("--endpoint wins over LAKEPORT_ENDPOINT", async () => {
  // An unconfigured branch: the API's 404 shows which endpoint answered.
  fake.lakefs.addRepository("repo-cli-ep", "s3://lakefs-data/repo-cli-ep", { main: "c1" });
  const r = await lakeport(
    ["export", "get", "lakefs://repo-cli-ep@main", "--endpoint", fake.api.endpoint],
    { LAKEPORT_ENDPOINT: "http://127.0.0.1:9" },
  );
  expect(r.code).toBe(3);
  expect(r.stderr).toBe("lakeport: 404 no export configuration for lakefs://repo-cli-ep@main\n");
});

test("bad flag values exit 2 naming the flag and change nothing", async () => {
  const r = "repo-cli-flags";
  const ns = `s3://lakefs-data/${r}`;
  fake.lakefs.addRepository(r, ns, { main: "c1" });
  // A successful mark to back up and restore.
  const now = new Date();
  const t = Math.floor(now.getTime() / 1000);
  const mark = {
    repository: r,
    runId: "m-run",
    mode: "mark-only" as const,
    markId: "m1",
    status: "running" as const,
    counts: {},
    startedAt: now.toISOString(),
  };
  await fake.deps.stores.gc.createRun(mark, {
    nowSeconds: t,
    leaseSeconds: 100,
    mark: { markNow: t, storageNamespace: ns },
  });
  await fake.deps.stores.gc.endMark(r, "m1", "m-run", {
    partitions: 1,
    markedAt: now.toISOString(),
  });
  await fake.deps.stores.gc.completeRun(r, "m-run", { status: "succeeded" }, now.toISOString());
  // With rules stored, a flag mistaken for absent would start a run: the check below sees it.
  await fake.deps.stores.gc.putRules(
    r,
    { default_retention_days: 14, branches: [] },
    now.toISOString(),
  );
  const state = async () => ({
    config: await fake.deps.stores.exports.getConfig(r, "main"),
    rules: await fake.deps.stores.gc.getRules(r),
    mark: await fake.deps.stores.gc.getMark(r, "m1"),
    runs: await fake.deps.stores.gc.listRuns(r, { limit: 100 }),
    started: fake.workflows.started.length,
  });
  const before = await state();
  const uri = `lakefs://${r}`;
  const cases: [string[], RegExp][] = [
    [["gc", "set-config", uri, "-f", "missing.json"], /^-f\/--filename: cannot read missing\.json/],
    [["gc", "restore", uri, "--mark-id", "m1", "--from", "s3://"], /^--from: "s3:\/\/" /],
    [
      ["gc", "restore", uri, "--mark-id", "m1", "--from", `${ns}/backup`],
      /^--from: .* overlaps the storage namespace/,
    ],
    [
      ["gc", "backup", uri, "--mark-id", "m1", "--to", "s3://backups/a/../b"],
      /^--to: must not contain \. or \.\. path segments/,
    ],
    [["gc", "run", uri, "--mark-only", "--mark-id", "../x"], /^--mark-id: must be 1 to 64/],
    [["gc", "list", uri, "--amount", "abc"], /^--amount: must be a whole number from 1 to 1000/],
    // An empty value is a bad value, not an absent flag (which would start a mark and sweep).
    [["gc", "run", uri, "--mark-id", ""], /^--mark-id: must be 1 to 64/],
    [["gc", "run", uri, "--mark-only", "--mark-id="], /^--mark-id: must be 1 to 64/],
    [["gc", "list", uri, "--after", "a/b"], /^--after: must be a GC run id \(got "a\/b"\)/],
    [["gc", "list", uri, "--after="], /^--after: must be a GC run id \(got ""\)/],
    [["gc", "status", uri, "a/b"], /^RUN_ID: must be a GC run id \(got "a\/b"\)/],
    // A name the API refuses: the URL would resolve `..` away and reach no route (a 403 that
    // reads like a credentials problem).
    [
      ["export", "delete", `${uri}/..`],
      /^"lakefs:\/\/.*\/\.\.": branch "\.\." is not a lakeFS branch name/,
    ],
    [
      ["gc", "delete-config", "lakefs://.."],
      /^"lakefs:\/\/\.\.": repository "\.\." is not a lakeFS/,
    ],
    // Checked before any request: the same exit code with the API out of reach.
    [
      [
        "--endpoint",
        "http://127.0.0.1:9",
        "gc",
        "backup",
        uri,
        "--mark-id",
        "m1",
        "--to",
        "s3://backups/a/../b",
      ],
      /^--to: must not contain \. or \.\. path segments/,
    ],
    [
      [
        "export",
        "set",
        `${uri}/main`,
        "--path",
        "s3://export-bucket/flags",
        "--status-path=",
        "--continuous=false",
      ],
      /^--status-path: must be s3:\/\/bucket\[\/prefix\] \(got ""\)/,
    ],
    // The export and status paths' form too (exit 3 after the API's 400 before, or "cannot
    // reach" without the API).
    [
      [
        "--endpoint",
        "http://127.0.0.1:9",
        "export",
        "set",
        `${uri}/main`,
        "--path",
        "S3://export-bucket/flags",
        "--continuous=false",
      ],
      /^--path: "S3:\/\/export-bucket\/flags" is not a valid S3 location: expected the scheme s3:\/\//,
    ],
    [
      [
        "export",
        "set",
        `${uri}/main`,
        "--path",
        "s3://export-bucket/flags",
        "--status-path",
        "s3://export-bucket/a//status",
        "--continuous",
      ],
      /^--status-path: must not contain an empty path segment/,
    ],
    // Not a URL: no stack trace; an empty one is not "no --endpoint".
    [
      ["--endpoint", "not a url", "gc", "list", uri],
      /^--endpoint: must be an http\(s\) URL \(got "not a url"\)/,
    ],
    [["--endpoint=", "gc", "list", uri], /^--endpoint: must be an http\(s\) URL \(got ""\)/],
    // A query or fragment would swallow the API path: every request would go to "/".
    [
      ["--endpoint", `${fake.api.endpoint}?stage=prod`, "gc", "delete-config", uri],
      /^--endpoint: must have no query or fragment \(got "http:.*\?stage=prod"\)/,
    ],
    [
      ["--endpoint", `${fake.api.endpoint}#x`, "gc", "delete-config", uri],
      /^--endpoint: must have no query or fragment/,
    ],
    // A flag that takes one value, given twice: which one was meant is not known (as for a
    // query parameter the API is given twice), so neither is taken. The last one was: the
    // second --path stored and exported to, the second --mark-id started a run.
    [
      [
        "export",
        "set",
        `${uri}/main`,
        "--path",
        "s3://export-bucket/twice-a",
        "--path",
        "s3://export-bucket/twice-b",
        "--continuous=false",
      ],
      /^--path: must be given once\n/,
    ],
    [
      [
        "export",
        "set",
        `${uri}/main`,
        "--path",
        "s3://export-bucket/twice",
        "--continuous",
        "--continuous=false",
      ],
      /^--continuous: must be given once\n/,
    ],
    [
      ["gc", "run", uri, "--mark-only", "--mark-id", "twice-a", "--mark-id=twice-b"],
      /^--mark-id: must be given once\n/,
    ],
    [["gc", "list", uri, "--amount", "5", "--amount", "6"], /^--amount: must be given once\n/],
    [
      ["gc", "set-config", uri, "-f", "a.json", "--filename", "b.json"],
      /^-f\/--filename: must be given once\n/,
    ],
    [
      ["--endpoint", fake.api.endpoint, "--endpoint", fake.api.endpoint, "gc", "list", uri],
      /^--endpoint: must be given once\n/,
    ],
    [
      [
        "gc",
        "backup-locations",
        uri,
        "--release",
        "s3://bk-twice/a",
        "--release",
        "s3://bk-twice/b",
      ],
      /^--release: must be given once\n/,
    ],
    // An empty --workflow would copy from this machine instead.
    [
      ["gc", "restore", uri, "--mark-id", "m1", "--from", "s3://backups/m1", "--workflow="],
      /^--workflow: must be a state machine ARN \(got ""\)/,
    ],
  ];
  // A restore from a location holding nothing (a typo) is refused before the mark is retired.
  const empty = uniqueName("cli-empty");
  await testS3Client().send(new CreateBucketCommand({ Bucket: empty }));
  cases.push([
    ["gc", "restore", uri, "--mark-id", "m1", "--from", `s3://${empty}/typo`],
    /^--from: no object under s3:\/\/.*\/typo: nothing to restore from/,
  ]);
  for (const [args, message] of cases) {
    const out = await lakeport(args, {
      AWS_ENDPOINT_URL_S3: inject("s3Endpoint"),
      LAKEPORT_S3_FORCE_PATH_STYLE: "true",
    });
    expect(out.code, `${args.join(" ")}: ${out.stderr}`).toBe(2);
    expect(out.stderr.replace(/^lakeport: /, ""), args.join(" ")).toMatch(message);
    expect(out.stderr.split("\n").length, "one line, no stack trace").toBe(2);
  }
  expect(await state()).toEqual(before);
});
