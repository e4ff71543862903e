// `npm run demo` as a person runs it (local/demo.ts, a child process) in a fresh directory of
// the embedded environment, then its data on disk: the embedded S3 keeps every object as a
// file (local/s3/store-layout.ts), so every exported and status object, and the repository's
// own objects, are read byte for byte. The webhook token is in none of them, and the export
// bucket holds no `_lakefs_actions/` object: lakeFS configuration never leaves lakeFS, and
// the action file in the repository holds only a reference to lakeFS's environment.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { lakeportAssemblyDir } from "../support/lakeport-env";

const ROOT = path.resolve(import.meta.dirname, "../..");
const OBJECT_SUFFIX = "._S3rver_object";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-demo-test-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(d: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

it("the demo's export bucket holds no _lakefs_actions/ object and no S3 object holds the webhook token", async () => {
  const assemblyDir = await lakeportAssemblyDir();
  const run = await new Promise<{ code: number; output: string }>((resolve) =>
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "local/demo.ts")],
      {
        cwd: ROOT,
        env: { ...process.env, LAKEPORT_DEMO_DIR: dir, LAKEPORT_LOCAL_ASSEMBLY: assemblyDir },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : 1, output: stdout + stderr });
      },
    ),
  );
  expect(run.code, run.output.slice(-4000)).toBe(0);
  // The exports happened: lakeFS called the webhook with the token from its environment.
  expect(run.output).toContain("the export path matches the head of main");
  expect(run.output).toMatch(/status line of \w+: status: exported-successfully/);
  // The functions' output lines are kept by the local Lambda runtime, not printed: no JSON
  // log line (the trigger function logs one per start) in the demo's output.
  expect(run.output.split("\n").filter((l) => l.startsWith("{"))).toEqual([]);

  const { webhookToken } = JSON.parse(await readFile(path.join(dir, "api/tokens.json"), "utf8"));
  expect(webhookToken).toMatch(/^\w{20,}$/);
  const exportObjects = (await filesUnder(path.join(dir, "s3/demo-export"))).filter((f) =>
    f.endsWith(OBJECT_SUFFIX),
  );
  const keys = exportObjects.map((f) =>
    path.relative(path.join(dir, "s3/demo-export"), f).slice(0, -OBJECT_SUFFIX.length),
  );
  expect(keys.filter((k) => k.startsWith("main/")).length).toBeGreaterThan(5);
  expect(keys.filter((k) => k.startsWith("_status/")).length).toBeGreaterThan(3);
  expect(keys.filter((k) => k.includes("_lakefs_actions"))).toEqual([]);
  // Every file of the embedded S3 (objects and their metadata, every bucket: the exports,
  // their status files, the repositories' data, the work bucket).
  const leaks: string[] = [];
  const all = await filesUnder(path.join(dir, "s3"));
  expect(all.length).toBeGreaterThan(exportObjects.length);
  for (const f of all) {
    if ((await readFile(f)).includes(webhookToken)) leaks.push(path.relative(dir, f));
  }
  expect(leaks).toEqual([]);
}, 300_000);
