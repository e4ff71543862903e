// The CLI turns off the AWS SDK's Node.js version notice (cli/quiet-sdk.ts, imported first by
// cli/main.ts): an SDK client created after it prints nothing; without it, the notice shows
// on Node.js versions the SDK plans to drop (so on newer Node.js both runs are quiet).
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect, test } from "vitest";

const root = path.resolve(__dirname, "../..");
const require = createRequire(import.meta.url);

function stderrOf(script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--import", "tsx", script],
      { cwd: root, env: { PATH: process.env.PATH ?? "" } },
      (err, _stdout, stderr) => (err ? reject(err) : resolve(stderr)),
    ),
  );
}

test("no AWS SDK notice once cli/quiet-sdk has run", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "lakeport-sdk-notice-"));
  const s3 = pathToFileURL(require.resolve("@aws-sdk/client-s3")).href;
  const quiet = pathToFileURL(path.join(root, "cli/quiet-sdk.ts")).href;
  const body = `const { S3Client } = await import(${JSON.stringify(s3)});\nnew S3Client({ region: "us-east-1" });\n`;
  const loud = path.join(dir, "loud.mjs");
  const quieted = path.join(dir, "quiet.mjs");
  await writeFile(loud, body);
  await writeFile(quieted, `await import(${JSON.stringify(quiet)});\n${body}`);
  expect(await stderrOf(quieted)).toBe("");
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) expect(await stderrOf(loud)).toContain("NodeVersionSupportWarning");
});
