// The lakeport CLI run as a child process against the local API server.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let dir: string;
const repo = "repo-cli";
const bin = path.resolve(__dirname, "../../cli/bin.mjs");

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1", dev: "d1" });
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

  const get = await lakeport(["--json", "export", "get", `lakefs://${repo}@main`]);
  expect(JSON.parse(get.stdout)).toEqual({
    exportPath: "s3://export-bucket/out",
    exportStatusPath: "s3://export-bucket/status",
    lastKeysInPrefixRegexp: ["a/", ".*/2021-\\d\\d/"],
    isContinuous: true,
  });

  const status = await lakeport(["export", "status", `lakefs://${repo}@main`]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/state: +in-progress\ncurrent ref: +c1/);
  expect(status.stdout).toMatch(/progress: +RUNNING, 4\/10 items/);

  const busy = await lakeport(["export", "run", `lakefs://${repo}@main`]);
  expect(busy.code).toBe(3);
  expect(busy.stderr).toMatch(/409 export in progress/);

  const s = await fake.deps.stores.exports.getState(repo, "main");
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
  expect(JSON.parse((await lakeport(["gc", "get-config", `lakefs://${repo}`])).stdout)).toEqual(
    rules,
  );

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
