// The CLI run as a user runs it (`cli/bin.mjs`), against an endpoint of the test's own (a stub
// server), with AWS's documented example keys in a clean environment.
import { execFile } from "node:child_process";
import path from "node:path";

export function cliWithExampleKeys(
  args: string[],
  endpoint: string,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.resolve(__dirname, "../../cli/bin.mjs"), ...args, "--endpoint", endpoint],
      {
        env: {
          PATH: process.env.PATH ?? "",
          AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
          AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          AWS_REGION: "eu-west-1",
          ...extraEnv,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
