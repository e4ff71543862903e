import { describe, expect, it } from "vitest";
import {
  restoreWait,
  SWEEP_FUNCTION_TIMEOUT_SECONDS,
  settledBefore,
} from "../../lambdas/gc/domain/restore-after-sweep";
import { secondsOr } from "../../lambdas/shared/env";

const ended = "2026-12-06T08:00:00.000Z";
const at = (iso: string) => Date.parse(iso) / 1000;
const mark = { markId: "m1", sweepRunId: "r1", sweptAt: ended };

describe("restoreWait", () => {
  it("refuses until the settle time has passed since the sweep ended, naming run and time", () => {
    const why = restoreWait(mark, at("2026-12-06T08:14:59.000Z"), 900);
    expect(why).toContain('mark id "m1" was swept by GC run r1, which ended at ' + ended);
    expect(why).toContain("may still be deleting until 2026-12-06T08:15:00.000Z");
    expect(restoreWait(mark, at("2026-12-06T08:15:01.000Z"), 900)).toBeUndefined();
  });

  it("lets a mark never swept, or with no wait configured, be restored at once", () => {
    expect(restoreWait({ markId: "m1" }, at(ended), 900)).toBeUndefined();
    expect(restoreWait(mark, at(ended) + 1, 0)).toBeUndefined();
  });

  it("compares as the store's condition does (ISO strings)", () => {
    expect(settledBefore(at("2026-12-06T08:15:00.000Z"), 900)).toBe(ended);
  });
});

describe("GC_SWEEP_SETTLE_SECONDS", () => {
  it("defaults to the sweep function's timeout and takes whole seconds from 0", () => {
    expect(
      secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS, {
        GC_SWEEP_SETTLE_SECONDS: undefined,
      }),
    ).toBe(SWEEP_FUNCTION_TIMEOUT_SECONDS);
    expect(SWEEP_FUNCTION_TIMEOUT_SECONDS).toBe(900);
    expect(
      secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS, {
        GC_SWEEP_SETTLE_SECONDS: "0",
      }),
    ).toBe(0);
    expect(() =>
      secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS, {
        GC_SWEEP_SETTLE_SECONDS: "-1",
      }),
    ).toThrow(/GC_SWEEP_SETTLE_SECONDS/);
    expect(() =>
      secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS, {
        GC_SWEEP_SETTLE_SECONDS: "1.5",
      }),
    ).toThrow(/whole number/);
  });
});

describe("restoreWait without a wait", () => {
  it("lets a mark swept within the same second be restored (whole-second clocks)", () => {
    const sweptAt = "2026-12-06T08:14:25.136Z";
    expect(
      restoreWait({ markId: "m1", sweptAt }, Math.floor(Date.parse(sweptAt) / 1000), 0),
    ).toBeUndefined();
  });
});
