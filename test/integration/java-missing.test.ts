// README (The embedded environment): without Java the test suite stops with one line saying so.
// The suite is run again here with a PATH holding node and nothing else.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { JAVA_MISSING } from "../support/global-setup";

const ROOT = path.resolve(import.meta.dirname, "../..");

test("without java on PATH, npm test stops at once with one line naming Java", async () => {
  const bin = await mkdtemp(path.join(os.tmpdir(), "lakeport-no-java-"));
  try {
    await symlink(process.execPath, path.join(bin, "node"));
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "test/unit/local-ports.test.ts"],
      {
        cwd: ROOT,
        env: { ...process.env, PATH: bin, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
    });
    child.stderr?.on("data", (d) => {
      out += String(d);
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    const lines = out.split("\n").filter((l) => l.trim() !== "" && !/^\s*RUN\s+v/.test(l));
    expect(lines).toEqual([JAVA_MISSING]);
    expect(out).not.toContain("passed");
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
});
