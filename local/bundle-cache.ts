// A cache of the Lambda bundles CDK builds at synthesis, for local syntheses of the same
// functions in several assemblies (the tests' app, the app with other `cdk deploy` settings,
// the tests' own stacks): esbuild is deterministic, so a bundle built from the same sources
// with the same bundling options, into a directory at the same depth (the source maps' paths
// are relative to it), is the bundle CDK would build again. The key holds all of that:
// lambdas/**, the lock file, package.json, tsconfig.json, the bundling options CDK passes
// (entry, runtime, esbuild settings) and the path from the bundle to the project root. Only
// handlers under lambdas/ are cached: other entries' sources are not in the key.
// CDK offers no hook for this, so AssetStaging's (private) bundle step is wrapped; when a
// CDK version no longer has it, nothing is cached and synthesis bundles as before.
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import path from "node:path";

type BundleStep = (this: { node: { path: string } }, options: unknown, bundleDir: string) => void;

/** Hash of every file a Lambda bundle is built from (besides the options CDK passes). */
function bundleSourcesHash(projectRoot: string): string {
  const h = createHash("sha256");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && !e.name.startsWith(".")) walk(p);
      } else if (e.isFile()) files.push(p);
    }
  };
  walk(path.join(projectRoot, "lambdas"));
  files.sort();
  for (const f of ["package-lock.json", "package.json", "tsconfig.json"]) {
    files.push(path.join(projectRoot, f));
  }
  for (const f of files) {
    h.update(path.relative(projectRoot, f));
    h.update("\0");
    h.update(existsSync(f) ? readFileSync(f) : Buffer.from("<missing>"));
    h.update("\0");
  }
  return h.digest("hex");
}

/**
 * From now on in this process, CDK takes each Lambda bundle from `cacheDir` when the same
 * bundle was built before, and keeps each bundle it builds there. Returns false (and changes
 * nothing) when this CDK version's asset staging has no bundle step to wrap.
 */
export async function useBundleCache(
  cacheDir: string,
  projectRoot: string,
  log: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): Promise<boolean> {
  const { AssetStaging } = await import("aws-cdk-lib");
  const proto = AssetStaging.prototype as unknown as {
    bundle?: BundleStep;
    __lakeportBundleCache?: CacheSettings;
  };
  if (typeof proto.bundle !== "function") return false;
  const sources = bundleSourcesHash(projectRoot);
  // One directory per version of the sources; the others go once no synthesis can be using
  // them any more (an hour), so the cache holds about one set of bundles.
  const dir = path.join(cacheDir, sources.slice(0, 16));
  for (const other of existsSync(cacheDir) ? readdirSync(cacheDir) : []) {
    const p = path.join(cacheDir, other);
    try {
      if (p !== dir && Date.now() - statSync(p).mtimeMs > 3_600_000) {
        rmSync(p, { recursive: true, force: true });
      }
    } catch {
      // Removed by another synthesis meanwhile.
    }
  }
  mkdirSync(dir, { recursive: true });
  utimesSync(dir, new Date(), new Date());
  // A later call (another cache, another project) takes over the step wrapped once: the
  // settings live on the prototype, which every copy of this module in the process shares.
  const wrapped = proto.__lakeportBundleCache !== undefined;
  proto.__lakeportBundleCache = { cacheDir, projectRoot, sources, dir, log };
  if (wrapped) return true;
  const original = proto.bundle;
  proto.bundle = function (options, bundleDir) {
    const { cacheDir, projectRoot, sources, dir, log } = proto.__lakeportBundleCache!;
    // Only bundles of Lakeport's handlers (lambdas/, whose sources the key holds); CDK
    // bundles into `${bundleDir}-building`, then renames it: the same depth.
    const o = options as { relativeEntryPath?: unknown; projectRoot?: unknown };
    const handler =
      typeof o.projectRoot === "string" &&
      path.resolve(o.projectRoot) === path.resolve(projectRoot) &&
      typeof o.relativeEntryPath === "string" &&
      o.relativeEntryPath.startsWith("lambdas/");
    if (!handler || existsSync(bundleDir)) return original.call(this, options, bundleDir);
    const key = createHash("sha256")
      .update(sources)
      .update("\0")
      .update(JSON.stringify(options))
      .update("\0")
      .update(path.relative(bundleDir, projectRoot))
      .digest("hex");
    const cached = path.join(dir, key);
    if (existsSync(cached) && statSync(cached).isDirectory()) {
      log(`Bundling asset ${this.node.path}... the same bundle as before (${cacheDir})`);
      cpSync(cached, bundleDir, { recursive: true });
      return;
    }
    original.call(this, options, bundleDir);
    // Kept whole or not at all: copied next to its place, then renamed into it.
    const tmp = `${cached}.tmp-${process.pid}-${Date.now()}`;
    try {
      cpSync(bundleDir, tmp, { recursive: true });
      if (!existsSync(cached)) renameSync(tmp, cached);
    } catch {
      // Another process kept the same bundle meanwhile, or the cache is not writable.
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
  return true;
}

interface CacheSettings {
  cacheDir: string;
  projectRoot: string;
  sources: string;
  dir: string;
  log: (message: string) => void;
}
