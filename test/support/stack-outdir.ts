// Where a test synthesizes its own stack (esbuild bundles of some Lakeport functions): a new
// directory next to the run's assembly, with the bundle cache on (local/bundle-cache.ts), so
// a function this run's synthesis already bundled (or another test's stack) is not bundled
// again. Next to it, at the same depth, because the bundles' source maps name their sources
// relative to where they were built. Remove it after the tests (rmSync).
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { useBundleCache } from "../../local/bundle-cache";
import { BUNDLE_CACHE_DIR, PROJECT_ROOT } from "../../local/lakeport-assembly";

export async function stackOutdir(name: string): Promise<string> {
  await useBundleCache(BUNDLE_CACHE_DIR, PROJECT_ROOT, () => undefined);
  const parent = path.dirname(inject("lakeportAssemblyDir"));
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(path.join(parent, `${name}-`));
}
