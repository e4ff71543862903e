// Each test file gets a temporary directory of its own as TMPDIR, removed when the file ends:
// CDK apps synthesized without an outdir, CLI working directories and inline function code
// land there instead of accumulating in the machine's /tmp run after run. Child processes
// started with this environment inherit it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

// The machine's temporary directory, kept from the first file a worker ran (a worker that
// runs several files sees the previous file's TMPDIR, removed by now, as os.tmpdir()).
const g = globalThis as { lakeportSharedTmpDir?: string };
g.lakeportSharedTmpDir ??= os.tmpdir();
const shared = g.lakeportSharedTmpDir;
const dir = mkdtempSync(path.join(shared, "lakeport-vitest-"));
// tsx keeps its compile cache in TMPDIR/tsx-<uid>: the CLI run by tests (cli/bin.mjs) keeps
// using the machine's one, warm from earlier files, instead of compiling everything again.
const tsxCache = `tsx-${os.userInfo().uid}`;
mkdirSync(path.join(shared, tsxCache), { recursive: true });
symlinkSync(path.join(shared, tsxCache), path.join(dir, tsxCache));
process.env.TMPDIR = dir;

// Registered before the file's own hooks, so it runs after its afterAll hooks (Vitest runs
// "after" hooks in reverse order): the file's servers have stopped by then. The tsx cache's
// link goes, not the cache.
afterAll(() => rmSync(dir, { recursive: true, force: true }));
