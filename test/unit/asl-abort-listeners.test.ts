// Stopping executions on the local Step Functions runner: every Parallel run, inline Map run,
// distributed map run and map child follows its parent's abort signal through a listener on
// that signal. Each is unhooked when what it controls has ended, so a long execution (a loop
// around a Parallel state) or a wide map keeps at most its running children's listeners, not
// one per child ever started (Node warns past 10 on one signal: a listener leak), while a stop
// still reaches every child running.
import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LambdaInvoker, StepFunctionsRunner } from "../../local/stepfunctions";
import { childController } from "../../local/stepfunctions/cancellation";

const FN = "arn:aws:lambda:us-east-1:000000000000:function:";

describe("a child controller", () => {
  it("follows its parent until released, and only then", () => {
    const parent = new AbortController();
    const followed = childController(parent.signal);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
    const released = childController(parent.signal);
    released.release();
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
    parent.abort();
    expect(followed.signal.aborted).toBe(true);
    expect(released.signal.aborted).toBe(false);
    followed.release();
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  });

  it("of an aborted parent is aborted at once and adds no listener", () => {
    const parent = new AbortController();
    parent.abort();
    const c = childController(parent.signal);
    expect(c.signal.aborted).toBe(true);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  });
});

const gatedMap = (mode: "INLINE" | "DISTRIBUTED") => ({
  Type: "Map",
  ItemsPath: "$.items",
  MaxConcurrency: 20,
  ItemProcessor: {
    ProcessorConfig: {
      Mode: mode,
      ...(mode === "DISTRIBUTED" ? { ExecutionType: "STANDARD" } : {}),
    },
    StartAt: "Work",
    States: { Work: { Type: "Task", Resource: `${FN}gated`, End: true } },
  },
  ResultPath: null,
});

// 15 Parallel runs in a loop, then an inline and a distributed Map of 45 items each, 20 at once.
const definition = {
  StartAt: "Branches",
  States: {
    Branches: {
      Type: "Parallel",
      Branches: [
        { StartAt: "A", States: { A: { Type: "Pass", End: true } } },
        { StartAt: "B", States: { B: { Type: "Pass", End: true } } },
      ],
      ResultPath: null,
      Next: "Count",
    },
    Count: { Type: "Task", Resource: `${FN}count`, Next: "Again" },
    Again: {
      Type: "Choice",
      Choices: [{ Variable: "$.n", NumericLessThan: 15, Next: "Branches" }],
      Default: "Inline",
    },
    Inline: { ...gatedMap("INLINE"), Next: "Distributed" },
    Distributed: { ...gatedMap("DISTRIBUTED"), End: true },
  },
};

describe("the runner", () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  beforeEach(() => {
    warnings.length = 0;
    process.on("warning", onWarning);
  });
  afterEach(() => {
    process.off("warning", onWarning);
  });

  it("leaves no listener behind: a loop of Parallel runs and two maps of 45 children, 20 at once", async () => {
    // Each child takes 20 ms: the map's first 20 children run at once (20 listeners at once).
    let inFlight = 0;
    let maxInFlight = 0;
    const lambda: LambdaInvoker = {
      async invoke(fn, payload) {
        const ok = (out: unknown) => ({
          payload: JSON.stringify(out),
          executedVersion: "$LATEST",
          requestId: "r",
        });
        const input = JSON.parse(payload) as { n?: number };
        if (fn === `${FN}count`) return ok({ ...input, n: (input.n ?? 0) + 1 });
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((t) => setTimeout(t, 20));
        inFlight--;
        return ok({});
      },
    };
    const r = new StepFunctionsRunner({ lambda, emitStatusEvents: false });
    const sm = r.createStateMachine({ name: "loops", definition: JSON.stringify(definition) });
    const items = Array.from({ length: 45 }, (_, i) => ({ i }));
    const { executionArn } = await r.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: JSON.stringify({ n: 0, items }),
    });
    const ended = await r.waitForExecution(executionArn);
    expect(ended.status).toBe("SUCCEEDED");
    expect(maxInFlight).toBe(20);
    expect(r.listMapRuns(executionArn)[0]?.executionCounts).toMatchObject({ succeeded: 45 });
    // Nothing follows the execution's signal any more (17 listeners were left before:
    // 15 Parallel runs and two map runs), and no map child's listener was left on its map.
    expect(getEventListeners(r.describeExecution(executionArn).abort.signal, "abort")).toEqual([]);
    // Node emits the warning on the next tick.
    await new Promise((t) => setImmediate(t));
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
  it("a Parallel state of 12 branches running at once: no listener warning", async () => {
    const lambda: LambdaInvoker = {
      async invoke() {
        await new Promise((t) => setTimeout(t, 20));
        return { payload: "{}", executedVersion: "$LATEST", requestId: "r" };
      },
    };
    const branch = (i: number) => ({
      StartAt: `Work${i}`,
      States: { [`Work${i}`]: { Type: "Task", Resource: `${FN}work`, End: true } },
    });
    const wide = {
      StartAt: "Wide",
      States: {
        Wide: {
          Type: "Parallel",
          Branches: Array.from({ length: 12 }, (_, i) => branch(i)),
          End: true,
        },
      },
    };
    const r = new StepFunctionsRunner({ lambda, emitStatusEvents: false });
    const sm = r.createStateMachine({ name: "wide", definition: JSON.stringify(wide) });
    const { executionArn } = await r.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: "{}",
    });
    expect((await r.waitForExecution(executionArn)).status).toBe("SUCCEEDED");
    expect(getEventListeners(r.describeExecution(executionArn).abort.signal, "abort")).toEqual([]);
    await new Promise((t) => setImmediate(t));
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
  // Unhooking an ended child must not unhook the running ones: a stop after most children
  // ended still aborts those running, in a Parallel state, an inline and a distributed Map.
  const task = { Type: "Task", Resource: `${FN}work`, End: true };
  const stopCases = {
    "a Parallel state": {
      waiting: 2,
      state: {
        Type: "Parallel",
        Branches: Array.from({ length: 12 }, (_, k) => ({
          StartAt: "T",
          States: { T: { ...task, Parameters: { i: k } } },
        })),
      },
    },
    "an inline Map": { waiting: 3, state: { ...gatedMap("INLINE"), MaxConcurrency: 5 } },
    "a distributed Map": { waiting: 3, state: { ...gatedMap("DISTRIBUTED"), MaxConcurrency: 5 } },
  };
  for (const [name, { waiting, state }] of Object.entries(stopCases)) {
    it(`a stop after most children of ${name} ended aborts the ones still running`, async () => {
      // Items (or branches) from the threshold on wait until the test ends; the others end at once.
      const threshold = name === "a Parallel state" ? 10 : 27;
      let held = 0;
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const lambda: LambdaInvoker = {
        async invoke(_fn, payload) {
          const { i } = JSON.parse(payload) as { i: number };
          if (i >= threshold) {
            held++;
            await gate;
          }
          return { payload: "{}", executedVersion: "$LATEST", requestId: "r" };
        },
      };
      const machine = { StartAt: "S", States: { S: { ...state, ResultPath: null, End: true } } };
      const r = new StepFunctionsRunner({ lambda, emitStatusEvents: false });
      const sm = r.createStateMachine({ name: "stop", definition: JSON.stringify(machine) });
      const items = Array.from({ length: 30 }, (_, i) => ({ i }));
      const { executionArn } = await r.startExecution({
        stateMachineArn: sm.stateMachineArn,
        input: JSON.stringify({ items }),
      });
      try {
        for (let t = 0; t < 600 && held < waiting; t++) await new Promise((w) => setTimeout(w, 5));
        expect(held).toBe(waiting);
        r.stopExecution({ executionArn, error: "Stop", cause: "by test" });
        const ended = await Promise.race([
          r.waitForExecution(executionArn),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
        ]);
        expect(ended?.status).toBe("ABORTED");
        if (name === "a distributed Map") {
          expect(r.listMapRuns(executionArn)[0]?.executionCounts).toMatchObject({
            succeeded: 27,
            aborted: 3,
            running: 0,
          });
        }
      } finally {
        open();
      }
    });
  }
});
