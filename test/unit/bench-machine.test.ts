import { describe, expect, it } from "vitest";
import { machineInfo, nodeFlagsOf } from "../../bench/machine";

describe("the node flags a bench run records", () => {
  it("keeps the flags that change how node runs, from the command line and NODE_OPTIONS", () => {
    expect(
      nodeFlagsOf(["--single-threaded-gc", "--import", "tsx"], "--v8-pool-size=1 --trace-gc"),
    ).toEqual({ nodeFlags: ["--single-threaded-gc", "--v8-pool-size=1", "--trace-gc"] });
  });

  it("leaves out tsx's loader, and records nothing without flags", () => {
    const tsx = [
      "--require",
      "/x/node_modules/tsx/dist/preflight.cjs",
      "--import",
      "file:///x/node_modules/tsx/dist/loader.mjs",
    ];
    expect(nodeFlagsOf(tsx, undefined)).toEqual({});
    expect(nodeFlagsOf(tsx, "")).toEqual({});
    expect(nodeFlagsOf(["--import=tsx"], undefined)).toEqual({});
    // Another module's loader is a flag worth recording.
    expect(nodeFlagsOf(["--import", "./other.mjs"], undefined)).toEqual({
      nodeFlags: ["--import", "./other.mjs"],
    });
  });

  it("is part of the machine's record", () => {
    const m = machineInfo();
    expect(m.cpus).toBeGreaterThan(0);
    expect(m.nodeFlags ?? []).toEqual(
      nodeFlagsOf(process.execArgv, process.env.NODE_OPTIONS).nodeFlags ?? [],
    );
  });
});
