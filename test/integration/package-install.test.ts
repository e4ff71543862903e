// biome-ignore-all lint/suspicious/noExplicitAny: the synthesized CloudFormation JSON is untyped
// The package as a user gets it: `npm pack` (its prepack runs `npm run build`), the tarball
// installed into a fresh plain-JavaScript CDK app in a temporary directory, which imports
// `lakeport` by name, creates its own buckets, secret, KMS key and VPC, nests Lakeport two
// constructs deep and synthesizes with cdk-nag's AWS Solutions checks. The app's node_modules
// holds the unpacked package and links to exactly what its package.json declares: its
// dependencies, and its peer dependencies (aws-cdk-lib, constructs, cdk-nag), which the app
// itself depends on (from this checkout's `npm ci`, so no network). esbuild, tsx and
// TypeScript, development dependencies, are not there, so the construct and the CLI must run
// as built JavaScript.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const run = promisify(execFile);

let tmp: string;
let appDir: string;
let installed: string;
let pkg: {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
let report: {
  lakeportPath: string;
  findings: string[];
  functions: number;
  nodejsFunctions: number;
  resolvable: Record<string, boolean>;
};
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
let outdir: string;

/** The environment of the app and the CLI: nothing of this repository's test setup. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[k]) env[k] = process.env[k];
  return env;
}

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "lakeport-package-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", tmp], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf("["))) as [{ filename: string }];

  appDir = path.join(tmp, "app");
  const modules = path.join(appDir, "node_modules");
  mkdirSync(modules, { recursive: true });
  await run("tar", ["-xzf", path.join(tmp, filename), "-C", modules]);
  installed = path.join(modules, "lakeport");
  renameSync(path.join(modules, "package"), installed);
  pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
    symlinkSync(path.join(ROOT, "node_modules", dep), path.join(modules, dep), "dir");
  }
  writeFileSync(
    path.join(appDir, "package.json"),
    JSON.stringify({
      name: "my-platform",
      private: true,
      type: "module",
      dependencies: { lakeport: pkg.version, ...pkg.peerDependencies },
    }),
  );
  copyFileSync(path.join(ROOT, "test/fixtures/package-app/app.mjs"), path.join(appDir, "app.mjs"));

  outdir = path.join(tmp, "cdk.out");
  const synth = await run(process.execPath, ["app.mjs", outdir], {
    cwd: appDir,
    env: cleanEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  report = JSON.parse(synth.stdout.trim().split("\n").at(-1)!);
  resources = JSON.parse(
    readFileSync(path.join(outdir, "DataStack.template.json"), "utf8"),
  ).Resources;
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe("the installed construct in a plain JavaScript CDK app", () => {
  it("ships built JavaScript, types and prebuilt bundles, and no TypeScript sources", () => {
    expect(existsSync(path.join(installed, "dist/index.js"))).toBe(true);
    expect(existsSync(path.join(installed, "dist/types/infra/index.d.ts"))).toBe(true);
    expect(readdirSync(path.join(installed, "dist/bundles")).length).toBeGreaterThanOrEqual(19);
    expect(existsSync(path.join(installed, "infra"))).toBe(false);
    expect(existsSync(path.join(installed, "lambdas"))).toBe(false);
  });

  it("synthesizes nested two constructs deep with no unaccepted cdk-nag finding", () => {
    expect(report.lakeportPath).toBe("DataStack/Data/Export/Lakeport");
    expect(report.findings).toEqual([]);
  });

  it("deploys the prebuilt bundles: no esbuild, tsx or TypeScript, no function bundled at synthesis", () => {
    expect(report.resolvable).toEqual({ esbuild: false, tsx: false, typescript: false });
    expect(report.functions).toBeGreaterThanOrEqual(19);
    expect(report.nodejsFunctions).toBe(0);
    const bundles = new Set(
      readdirSync(path.join(installed, "dist/bundles")).map((b) =>
        sha(path.join(installed, "dist/bundles", b, "index.mjs")),
      ),
    );
    const assets = readdirSync(outdir)
      .map((d) => path.join(outdir, d, "index.mjs"))
      .filter((f) => existsSync(f));
    expect(assets.length).toBe(bundles.size);
    for (const a of assets) expect(bundles.has(sha(a)), a).toBe(true);
  });

  it("runs the functions that call lakeFS in the app's VPC, and only those", () => {
    const fns = ofType("AWS::Lambda::Function");
    const callers = fns.filter(([, f]) => f.Properties.Environment?.Variables?.LAKEFS_ENDPOINT);
    expect(callers.length).toBeGreaterThanOrEqual(8);
    for (const [id, f] of callers) {
      expect(f.Properties.VpcConfig?.SubnetIds?.length, id).toBeGreaterThan(0);
      expect(f.Properties.VpcConfig?.SecurityGroupIds?.length, id).toBeGreaterThan(0);
    }
    for (const [id, f] of fns.filter(([, x]) => !callers.some(([, c]) => c === x))) {
      expect(f.Properties.VpcConfig, id).toBeUndefined();
    }
  });

  it("encrypts Lakeport's data with the app's key and lets the workflows use the lake bucket's key", () => {
    const keyId = ofType("AWS::KMS::Key")[0]![0];
    const table = ofType("AWS::DynamoDB::Table")[0]![1];
    expect(JSON.stringify(table.Properties.SSESpecification)).toContain(keyId);
    const copyPolicy = ofType("AWS::IAM::Policy").find(([id]) =>
      /ExportLakeportExportCopyFunction/.test(id),
    )![1];
    const kmsStatements = copyPolicy.Properties.PolicyDocument.Statement.filter((st: any) =>
      [st.Action].flat().includes("kms:Decrypt"),
    );
    expect(JSON.stringify(kmsStatements)).toContain(keyId);
  });
});

describe("the installed lakeport command", () => {
  const lakeport = (...args: string[]) =>
    run(process.execPath, [path.join(installed, pkg.bin.lakeport!), ...args], {
      cwd: appDir,
      env: cleanEnv(),
    });

  it("prints the package version", async () => {
    const { stdout } = await lakeport("--version");
    expect(stdout.trim()).toBe(pkg.version);
  });

  it("shows a command's help", async () => {
    const { stdout } = await lakeport("export", "status", "--help");
    expect(stdout).toContain("Usage: lakeport export status");
  });

  it("fails cleanly without an endpoint: usage exit code, a message, no stack trace", async () => {
    const err = await lakeport("export", "status", "lakefs://repo@main").then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/^lakeport: no API endpoint/);
    expect(err?.stderr).not.toMatch(/\n\s+at /);
  });
});
