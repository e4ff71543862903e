// Each test file gets a temporary directory of its own as TMPDIR, removed when the file ends:
// CDK apps synthesized without an outdir, CLI working directories and inline function code
// land there instead of accumulating in the machine's /tmp run after run. Child processes
// started with this environment inherit it.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-vitest-"));
process.env.TMPDIR = dir;

// Registered before the file's own hooks, so it runs after its afterAll hooks (Vitest runs
// "after" hooks in reverse order): the file's servers have stopped by then.
afterAll(() => rmSync(dir, { recursive: true, force: true }));
