// The bundle cache of local syntheses (local/bundle-cache.ts): a Lakeport function bundled
// for one assembly is taken from the cache by the next assembly at the same depth, and it is
// the bundle CDK built (same asset hash, same bytes); at another depth it is bundled again.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { afterAll, expect, it } from "vitest";
import { lakeportFunction } from "../../infra/constructs/function";
import { useBundleCache } from "../../local/bundle-cache";
import { PROJECT_ROOT } from "../../local/lakeport-assembly";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lakeport-bundle-cache-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function synth(outdir: string): string {
  const app = new App({ outdir });
  lakeportFunction(new Stack(app, "Cached"), "Finish", {
    entry: "lambdas/export/handlers/finish.ts",
  });
  app.synth();
  const assets = readdirSync(outdir).filter((f) => f.startsWith("asset."));
  expect(assets).toHaveLength(1);
  return assets[0]!;
}

it("a function bundled once is taken from the cache at the same depth, byte for byte", async () => {
  // A cache used earlier in the process (another test file's): the later call takes over.
  const earlier: string[] = [];
  await useBundleCache(path.join(tmp, "earlier-cache"), PROJECT_ROOT, (m) => earlier.push(m));
  const log: string[] = [];
  expect(await useBundleCache(path.join(tmp, "cache"), PROJECT_ROOT, (m) => log.push(m))).toBe(
    true,
  );
  const first = synth(path.join(tmp, "a"));
  expect(log).toEqual([]);
  const second = synth(path.join(tmp, "b"));
  expect(log).toEqual([expect.stringContaining("Cached/Finish")]);
  expect(second).toBe(first);
  for (const f of ["index.mjs", "index.mjs.map"]) {
    expect(readFileSync(path.join(tmp, "b", second, f))).toEqual(
      readFileSync(path.join(tmp, "a", first, f)),
    );
  }
  // Deeper: the source map's relative paths differ, so it is bundled again.
  mkdirSync(path.join(tmp, "deeper"));
  synth(path.join(tmp, "deeper", "c"));
  expect(log).toHaveLength(1);
  expect(earlier).toEqual([]);
  expect(readdirSync(path.join(tmp, "cache"))).toHaveLength(1);
}, 120_000);
