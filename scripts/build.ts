// `npm run build` (also run by `npm pack`/`npm publish`): the installable package in dist/.
//   dist/index.js            the construct library (infra/index.ts), dependencies left as imports
//   dist/cli.js, dist/bin.mjs the CLI and the `lakeport` command (plain JavaScript, no tsx)
//   dist/bundles/<name>/     every Lambda handler prebuilt with the settings of synthesis
//                            (LAKEPORT_BUNDLING): the construct deploys these as they are
//   dist/types/              type declarations (tsc)
// Relative imports in the sources are extensionless, which Node's ESM loader does not resolve:
// hence bundles (esbuild) for the JavaScript and tsc only for the declarations.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundleNameOf, LAKEPORT_ESBUILD_OPTIONS } from "../infra/constructs/function";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "dist");

/** Every Lambda handler module: lambdas/<capability>/handlers/<name>.ts exporting `handler`. */
export function handlerEntries(root = ROOT): string[] {
  const out: string[] = [];
  for (const capability of readdirSync(path.join(root, "lambdas"))) {
    const dir = path.join(root, "lambdas", capability, "handlers");
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files.filter((x) => x.endsWith(".ts")).sort()) {
      const source = readFileSync(path.join(dir, f), "utf8");
      if (/export const handler\b/.test(source)) out.push(`lambdas/${capability}/handlers/${f}`);
    }
  }
  return out;
}

async function buildBundles(): Promise<number> {
  const entries = handlerEntries();
  await build({
    ...LAKEPORT_ESBUILD_OPTIONS,
    mainFields: [...LAKEPORT_ESBUILD_OPTIONS.mainFields],
    entryPoints: Object.fromEntries(
      entries.map((e) => [`${bundleNameOf(e)}/index`, path.join(ROOT, e)]),
    ),
    outdir: path.join(DIST, "bundles"),
    logLevel: "warning",
  });
  return entries.length;
}

async function buildLibraryAndCli(): Promise<void> {
  await build({
    entryPoints: { index: path.join(ROOT, "infra/index.ts"), cli: path.join(ROOT, "cli/main.ts") },
    bundle: true,
    // aws-cdk-lib, constructs, cdk-nag, the SDK...: the package's dependencies, installed
    // beside it; only Lakeport's own modules go into the files.
    packages: "external",
    outdir: DIST,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
  });
  writeFileSync(
    path.join(DIST, "bin.mjs"),
    [
      "#!/usr/bin/env node",
      "// The `lakeport` command of the installed package (built by `npm run build`).",
      "// The SDK's notice about Node.js versions is not the CLI user's concern.",
      'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";',
      'const { main } = await import("./cli.js");',
      "process.exitCode = await main(process.argv.slice(2));",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}

/** Declarations only, unchecked (`npm run typecheck` checks): tsc in a child process. */
function buildTypes(): Promise<void> {
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  const child = spawn(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`tsc (declarations) failed with exit ${code}`)),
    );
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  const [bundles] = await Promise.all([buildBundles(), buildLibraryAndCli(), buildTypes()]);
  console.log(`dist/: library, CLI, ${bundles} Lambda bundles, types (${Date.now() - t0} ms)`);
}
