// Tracing costs nothing where it is off: no X-Ray SDK (whose async hooks run on every promise)
// is loaded by a Lambda that has no daemon to send to; where it is on, every AWS SDK client is
// traced, also one created before the tracer was loaded. Each case runs in its own process.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const PROBE = path.join(import.meta.dirname, "../support/tracing-probe.ts");

async function probe(env: Record<string, string>) {
  const clean = { ...process.env };
  delete clean.AWS_XRAY_DAEMON_ADDRESS;
  delete clean.POWERTOOLS_TRACE_ENABLED;
  const { stdout } = await run(process.execPath, ["--import", "tsx", PROBE], {
    env: { ...clean, AWS_REGION: "us-east-1", POWERTOOLS_LOG_LEVEL: "ERROR", ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("tracing", () => {
  it("loads no X-Ray SDK and leaves clients untouched without a daemon", async () => {
    expect(await probe({})).toEqual({
      result: { ok: true },
      tracerLoaded: false,
      xraySdkLoaded: false,
      clientBefore: false,
      clientAfter: false,
    });
  }, 60_000);

  it("loads none when POWERTOOLS_TRACE_ENABLED=false, even with a daemon", async () => {
    const out = await probe({
      AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:2000",
      POWERTOOLS_TRACE_ENABLED: "false",
    });
    expect(out).toMatchObject({ tracerLoaded: false, xraySdkLoaded: false, clientBefore: false });
  }, 60_000);

  it("traces every client where a daemon listens, one created before the tracer loaded too", async () => {
    const out = await probe({
      AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:2000",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs20.x",
      AWS_LAMBDA_FUNCTION_NAME: "probe",
      _X_AMZN_TRACE_ID:
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
      AWS_XRAY_CONTEXT_MISSING: "IGNORE_ERROR",
    });
    expect(out).toEqual({
      result: { ok: true },
      tracerLoaded: true,
      xraySdkLoaded: true,
      clientBefore: true,
      clientAfter: true,
    });
  }, 60_000);
});
