// The CLI signs its requests with AWS credentials; an endpoint written with credentials in it
// (http://user:password@host) is refused, and the password is not printed: fetch's error for
// such a URL quotes it, and the CLI printed that error on stderr.
import { execFile } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

const bin = path.resolve(__dirname, "../../cli/bin.mjs");
const PASSWORD = "pw-in-endpoint-3c7b";
const ENDPOINT = `http://lakeport:${PASSWORD}@127.0.0.1:1`;

function lakeport(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
          AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          AWS_REGION: "us-east-1",
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

it.each([
  ["--endpoint", ["--endpoint", ENDPOINT], {}],
  ["LAKEPORT_ENDPOINT", [], { LAKEPORT_ENDPOINT: ENDPOINT }],
])("refuses credentials in the endpoint (%s) without printing them", async (_, flags, env) => {
  const r = await lakeport([...flags, "export", "status", "lakefs://repo/main"], env);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/must not carry credentials/);
  expect(r.stdout + r.stderr).not.toContain(PASSWORD);
});
