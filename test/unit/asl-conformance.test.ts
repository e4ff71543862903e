// Conformance of the local ASL runner against hand-written definitions (test/fixtures/asl).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  type LambdaInvoker,
  StepFunctionsRunner,
} from "../../local/stepfunctions";
import { errorMatches, StatesError } from "../../local/stepfunctions/errors";

const fixture = (name: string) =>
  readFileSync(path.join(__dirname, "../fixtures/asl", `${name}.json`), "utf8");

type Fn = (event: unknown) => unknown;

function fakeLambda(fns: Record<string, Fn>): LambdaInvoker & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  return {
    calls,
    async invoke(nameOrArn, payload) {
      const name = nameOrArn.replace(/^arn:aws:lambda:[^:]+:\d+:function:/, "");
      const fn = fns[name];
      if (!fn) {
        const e = new Error(`Function not found: ${name}`);
        e.name = "Lambda.ResourceNotFoundException";
        throw e;
      }
      calls[name] = (calls[name] ?? 0) + 1;
      try {
        const out = await fn(JSON.parse(payload));
        return { payload: JSON.stringify(out ?? null), executedVersion: "$LATEST", requestId: "r" };
      } catch (e) {
        const err = e as Error;
        return {
          payload: JSON.stringify({ errorType: err.name, errorMessage: err.message, trace: [] }),
          functionError: "Unhandled",
          executedVersion: "$LATEST",
          requestId: "r",
        };
      }
    },
  };
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

function runner(fns: Record<string, Fn> = {}) {
  const lambda = fakeLambda(fns);
  const r = new StepFunctionsRunner({
    lambda,
    retryDelayScale: 0.001,
    waitScale: 0.001,
    emitStatusEvents: false,
  });
  return { r, lambda };
}

async function run(r: StepFunctionsRunner, def: string, input: unknown, name = "sm") {
  const sm = r.createStateMachine({ name, definition: def });
  const { executionArn } = await r.startExecution({
    stateMachineArn: sm.stateMachineArn,
    input: JSON.stringify(input),
  });
  return r.waitForExecution(executionArn);
}

describe("data flow", () => {
  it("applies InputPath, Parameters, intrinsics, context, lambda:invoke wrapping, ResultSelector, ResultPath and OutputPath", async () => {
    const { r } = runner({ echo: (e) => e });
    const exec = await run(
      r,
      fixture("data-flow"),
      { order: { id: 7, customer: { name: "ann" } } },
      "flow",
    );
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out).toEqual([
      {
        id: 7,
        label: "order-7-ann",
        execName: exec.name,
        state: "Shape",
        machine: "flow",
        static: { nested: [1, 2] },
      },
      { echoed: 7, status: 200 },
      { direct: true },
    ]);
  });

  it("wraps lambda:invoke results the way Step Functions does", async () => {
    const { r } = runner({ echo: (e) => e });
    const def = {
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: {
            FunctionName: "arn:aws:lambda:us-east-1:000000000000:function:echo",
            Payload: { a: 1 },
          },
          End: true,
        },
      },
    };
    const exec = await run(r, JSON.stringify(def), {});
    const out = JSON.parse(exec.output!);
    expect(Object.keys(out)).toEqual([
      "ExecutedVersion",
      "Payload",
      "SdkHttpMetadata",
      "SdkResponseMetadata",
      "StatusCode",
    ]);
    expect(out.Payload).toEqual({ a: 1 });
    expect(out.StatusCode).toBe(200);
    expect(out.ExecutedVersion).toBe("$LATEST");
  });

  it("evaluates every intrinsic function", async () => {
    const { r } = runner();
    const exec = await run(r, fixture("intrinsics"), {
      s: "hello",
      n: 3,
      obj: { a: 1, b: { c: 2 } },
      obj2: { b: 3 },
      list: [1, 2, 3, 4, 5],
      dups: [1, 1, "a", "a", { x: 1 }, { x: 1 }],
    });
    expect(exec.status).toBe("SUCCEEDED");
    const o = JSON.parse(exec.output!);
    expect(o.format).toBe("hello and 3 {}");
    expect(o.toJson).toEqual({ a: 1 });
    expect(o.toString).toBe('{"a":1,"b":{"c":2}}');
    expect(o.array).toEqual(["a", 1, 3]);
    expect(o.partition).toEqual([[1, 2], [3, 4], [5]]);
    expect(o.contains).toBe(true);
    expect(o.range).toEqual([1, 3, 5, 7, 9]);
    expect(o.item).toBe(2);
    expect(o.length).toBe(5);
    expect(o.unique).toEqual([1, "a", { x: 1 }]);
    expect(o.b64).toBe("aGVsbG8=");
    expect(o.unb64).toBe("hello");
    expect(o.hash).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(o.merge).toEqual({ a: 1, b: 3 });
    expect(o.random).toBe(5);
    expect(o.add).toBe(1);
    expect(o.split).toEqual(["a", "b", "c"]);
    expect(o.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(o.nested).toBe(3);
  });
});

describe("Choice", () => {
  const base = {
    n: 12,
    limit: 20,
    name: "alice",
    alias: "alice",
    flag: true,
    when: "2024-05-01T10:00:00Z",
    nothing: null,
  };
  it("matches And/Or/Not with every operator family", async () => {
    const { r } = runner();
    expect(JSON.parse((await run(r, fixture("choice"), base)).output!)).toBe("matched");
  });
  it("falls through to Default when one condition is false", async () => {
    const { r } = runner();
    expect(JSON.parse((await run(r, fixture("choice"), { ...base, n: 25 })).output!)).toBe(
      "default",
    );
    expect(JSON.parse((await run(r, fixture("choice"), { ...base, n: "12" }, "sm2")).output!)).toBe(
      "default",
    );
  });
  it("fails with States.NoChoiceMatched without a Default", async () => {
    const { r } = runner();
    const def = {
      StartAt: "C",
      States: {
        C: { Type: "Choice", Choices: [{ Variable: "$.a", NumericEquals: 1, Next: "E" }] },
        E: { Type: "Succeed" },
      },
    };
    const exec = await run(r, JSON.stringify(def), { a: 2 });
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("States.NoChoiceMatched");
  });
});

describe("Retry and Catch", () => {
  it("retries a custom error with backoff until it succeeds", async () => {
    let n = 0;
    const { r, lambda } = runner({
      flaky: (e) => {
        n++;
        if (n < 3) throw named("TransientError", "try again");
        return { ok: true, e };
      },
    });
    const exec = await run(r, fixture("retry-catch"), { v: 1 });
    expect(exec.status).toBe("SUCCEEDED");
    expect(JSON.parse(exec.output!)).toEqual({ ok: true, e: { v: 1 } });
    expect(lambda.calls.flaky).toBe(3);
  });

  it("catches an error once its retries are exhausted, with the Lambda error document as Cause", async () => {
    const { r, lambda } = runner({
      flaky: () => {
        throw named("TransientError", "still broken");
      },
    });
    const exec = await run(r, fixture("retry-catch"), {});
    expect(exec.status).toBe("SUCCEEDED");
    const out = JSON.parse(exec.output!);
    expect(out.caught).toBe("TransientError");
    expect(out.cause).toMatchObject({ errorType: "TransientError", errorMessage: "still broken" });
    expect(lambda.calls.flaky).toBe(4);
  });

  it("fails the execution when retries are exhausted and nothing catches", async () => {
    const { r, lambda } = runner({
      flaky: () => {
        throw named("DbError", "down");
      },
    });
    const exec = await run(r, fixture("retry-exhausted"), {});
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("DbError");
    expect(JSON.parse(exec.cause!)).toMatchObject({ errorType: "DbError", errorMessage: "down" });
    expect(lambda.calls.flaky).toBe(3);
    const types = exec.history.map((h) => h.type);
    expect(types.filter((t) => t === "TaskFailed")).toHaveLength(3);
    expect(types.at(-1)).toBe("ExecutionFailed");
  });

  it("States.ALL does not match States.Runtime; States.TaskFailed does not match States.Timeout", () => {
    expect(errorMatches(["States.ALL"], new StatesError("States.Runtime", ""))).toBe(false);
    expect(errorMatches(["States.ALL"], new StatesError("States.DataLimitExceeded", ""))).toBe(
      false,
    );
    expect(
      errorMatches(["States.DataLimitExceeded"], new StatesError("States.DataLimitExceeded", "")),
    ).toBe(true);
    expect(errorMatches(["States.TaskFailed"], new StatesError("States.Timeout", ""))).toBe(false);
    expect(errorMatches(["States.TaskFailed"], new StatesError("Custom", ""))).toBe(true);
    expect(errorMatches(["States.ALL"], new StatesError("States.Timeout", ""))).toBe(true);
  });

  it("a missing path is a States.Runtime error that fails the execution", async () => {
    const { r } = runner();
    const exec = await run(r, fixture("runtime-error"), {});
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("States.Runtime");
  });

  it("a Lambda that does not exist fails with Lambda.ResourceNotFoundException", async () => {
    const { r } = runner();
    const def = {
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:lambda:us-east-1:000000000000:function:nope",
          End: true,
        },
      },
    };
    const exec = await run(r, JSON.stringify(def), {});
    expect(exec.error).toBe("Lambda.ResourceNotFoundException");
  });
});

describe("Parallel and inline Map", () => {
  it("runs branches and items, with ItemSelector and $$.Map.Item", async () => {
    let inFlight = 0;
    let peak = 0;
    const { r } = runner({
      double: async (e) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((res) => setTimeout(res, 10));
        inFlight--;
        const x = e as { index: number; value: number; x: number };
        return { i: x.index, v: x.value * 2, x: x.x };
      },
    });
    const exec = await run(r, fixture("parallel-map"), { x: "X", items: [1, 2, 3, 4] });
    expect(exec.status).toBe("SUCCEEDED");
    expect(JSON.parse(exec.output!)).toEqual({
      a: { branch: "a", in: "X" },
      mapped: [
        { i: 0, v: 2, x: "X" },
        { i: 1, v: 4, x: "X" },
        { i: 2, v: 6, x: "X" },
        { i: 3, v: 8, x: "X" },
      ],
    });
    expect(peak).toBe(2);
  });

  it("fails the Parallel state with the failing branch's error", async () => {
    const { r } = runner({
      double: () => {
        throw named("ItemBroken", "no");
      },
    });
    const exec = await run(r, fixture("parallel-map"), { x: 1, items: [1] });
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("ItemBroken");
  });
});

describe("Wait, Fail, timeouts and limits", () => {
  it("waits (scaled) then fails with ErrorPath and an intrinsic CausePath", async () => {
    const { r } = runner();
    const exec = await run(r, fixture("wait-fail"), {
      seconds: 1,
      until: new Date(Date.now() + 500).toISOString(),
      err: "Custom.Failure",
      why: "test",
    });
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("Custom.Failure");
    expect(exec.cause).toBe("because test");
  });

  it("a Fail state without Error fails the execution with no error name", async () => {
    const { r } = runner();
    const exec = await run(
      r,
      JSON.stringify({ StartAt: "F", States: { F: { Type: "Fail", Cause: "why" } } }),
      {},
    );
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBeUndefined();
    expect(exec.cause).toBe("why");
  });

  it("times out a Task with TimeoutSecondsPath and catches States.Timeout", async () => {
    const { r } = runner({ slow: () => new Promise((res) => setTimeout(() => res("late"), 3000)) });
    const exec = await run(r, fixture("timeouts"), { timeout: 1 });
    expect(exec.status).toBe("SUCCEEDED");
    expect(JSON.parse(exec.output!).timedOut.Error).toBe("States.Timeout");
  });

  it("ends an execution that exceeds the machine TimeoutSeconds as TIMED_OUT", async () => {
    const r = new StepFunctionsRunner({ waitScale: 0.05, emitStatusEvents: false });
    const exec = await run(r, fixture("machine-timeout"), {});
    expect(exec.status).toBe("TIMED_OUT");
    expect(exec.error).toBeUndefined();
    expect(exec.history.at(-1)).toMatchObject({
      type: "ExecutionTimedOut",
      details: { error: "States.Timeout" },
    });
  });

  it("a Task timeout inside a machine with TimeoutSeconds fails the execution (not TIMED_OUT)", async () => {
    // No waitScale here: it would scale the machine timeout too.
    const lambda = fakeLambda({
      slow: () => new Promise((res) => setTimeout(() => res("late"), 3000)),
    });
    const r = new StepFunctionsRunner({ lambda, emitStatusEvents: false });
    const def = {
      TimeoutSeconds: 600,
      StartAt: "T",
      States: {
        T: {
          Type: "Task",
          Resource: "arn:aws:lambda:us-east-1:000000000000:function:slow",
          TimeoutSeconds: 1,
          End: true,
        },
      },
    };
    const exec = await run(r, JSON.stringify(def), {});
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("States.Timeout");
  });

  it("fails with States.DataLimitExceeded above 256 KB, which States.ALL does not catch", async () => {
    const { r } = runner({ big: () => "x".repeat(262_144) });
    const exec = await run(r, fixture("data-limit"), {});
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("States.DataLimitExceeded");
  });

  it("checks a Task's own result against 256 KB, even when ResultSelector or ResultPath null drop it", async () => {
    // AWS: "the output of a connector is larger than payload size quota" is
    // States.DataLimitExceeded, whatever the state then keeps of it.
    const { r } = runner({ big: () => ({ blob: "x".repeat(262_144), small: 1 }) });
    const task = (extra: object) =>
      JSON.stringify({
        StartAt: "Big",
        States: {
          Big: {
            Type: "Task",
            Resource: "arn:aws:lambda:us-east-1:000000000000:function:big",
            Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }],
            End: true,
            ...extra,
          },
          Caught: { Type: "Succeed" },
        },
      });
    for (const extra of [{ ResultPath: null }, { ResultSelector: { "small.$": "$.small" } }]) {
      const exec = await run(r, task(extra), {});
      expect(exec.status).toBe("FAILED");
      expect(exec.error).toBe("States.DataLimitExceeded");
      expect(exec.cause).toContain("'Big'");
    }
  });

  it("checks a Map's collected results against 256 KB, even with ResultPath null", async () => {
    const { r } = runner({ part: () => "x".repeat(40_000) });
    const def = {
      StartAt: "Each",
      States: {
        Each: {
          Type: "Map",
          ItemsPath: "$.items",
          ResultPath: null,
          Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }],
          ItemProcessor: {
            StartAt: "Part",
            States: {
              Part: {
                Type: "Task",
                Resource: "arn:aws:lambda:us-east-1:000000000000:function:part",
                End: true,
              },
            },
          },
          End: true,
        },
        Caught: { Type: "Succeed" },
      },
    };
    const exec = await run(r, JSON.stringify(def), { items: [1, 2, 3, 4, 5, 6, 7] });
    expect(exec.status).toBe("FAILED");
    expect(exec.error).toBe("States.DataLimitExceeded");
    const small = await run(r, JSON.stringify(def), { items: [1, 2, 3] });
    expect(small.status).toBe("SUCCEEDED");
  });

  it("aborts a running execution on stopExecution", async () => {
    const { r } = runner();
    const sm = r.createStateMachine({
      name: "long",
      definition: fixture("machine-timeout").replace('"TimeoutSeconds": 1,', ""),
    });
    const { executionArn } = await r.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: "{}",
    });
    r.stopExecution({ executionArn, error: "Stop", cause: "by test" });
    const exec = await r.waitForExecution(executionArn);
    expect(exec.status).toBe("ABORTED");
    expect(exec.error).toBe("Stop");
  });
});

describe("load-time validation", () => {
  const ok = { StartAt: "P", States: { P: { Type: "Pass", End: true } } };
  const bad = (mutate: (d: Record<string, unknown>) => void) => {
    const d = structuredClone(ok) as Record<string, unknown>;
    mutate(d);
    return () => new StepFunctionsRunner().createStateMachine({ name: "x", definition: d });
  };
  const state = (d: Record<string, unknown>) =>
    (d.States as Record<string, Record<string, unknown>>).P!;

  it("rejects unknown fields, state types, resources and JSONata", () => {
    expect(
      bad((d) => {
        state(d).Bogus = 1;
      }),
    ).toThrow(/unsupported field 'Bogus'/);
    expect(
      bad((d) => {
        state(d).Type = "Magic";
      }),
    ).toThrow(/unsupported state type 'Magic'/);
    expect(
      bad((d) => {
        d.QueryLanguage = "JSONata";
      }),
    ).toThrow(/JSONata/);
    expect(
      bad((d) => {
        state(d).Assign = { a: 1 };
      }),
    ).toThrow(DefinitionError);
    expect(
      bad((d) => {
        d.States = { P: { Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage", End: true } };
      }),
    ).toThrow(/not supported by the local runner/);
    expect(
      bad((d) => {
        d.States = {
          P: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
            End: true,
          },
        };
      }),
    ).toThrow(/not supported/);
  });

  it("rejects integration parameters the runner would not honour", () => {
    const task = (Parameters: Record<string, unknown>) => () =>
      new StepFunctionsRunner().createStateMachine({
        name: "t",
        definition: {
          StartAt: "T",
          States: {
            T: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Parameters, End: true },
          },
        },
      });
    expect(task({ FunctionName: "f", "Payload.$": "$" })).not.toThrow();
    expect(task({ FunctionName: "f", InvocationType: "Event" })).toThrow(/only RequestResponse/);
    expect(task({ FunctionName: "f", Bogus: 1 })).toThrow(/field 'Bogus' is not supported/);
  });

  it("rejects structural mistakes", () => {
    expect(
      bad((d) => {
        state(d).Next = "Nowhere";
      }),
    ).toThrow(DefinitionError);
    expect(
      bad((d) => {
        d.StartAt = "Q";
      }),
    ).toThrow(/StartAt/);
    expect(
      bad((d) => {
        d.States = {
          P: {
            Type: "Task",
            Resource: "arn:aws:lambda:us-east-1:000000000000:function:f",
            Retry: [{ ErrorEquals: ["States.ALL"] }, { ErrorEquals: ["X"] }],
            End: true,
          },
        };
      }),
    ).toThrow(/States.ALL must be in the last/);
    expect(
      bad((d) => {
        state(d).Parameters = { "a.$": "not-a-path" };
      }),
    ).toThrow(/not a path or intrinsic/);
    expect(
      bad((d) => {
        state(d).Parameters = { "a.$": "States.Nope(1)" };
      }),
    ).toThrow(/Unsupported intrinsic/);
  });

  it("rejects distributed-only fields on inline maps and unsupported reader/writer options", () => {
    const map =
      (extra: Record<string, unknown>, mode = "DISTRIBUTED") =>
      () =>
        new StepFunctionsRunner().createStateMachine({
          name: "m",
          definition: {
            StartAt: "M",
            States: {
              M: {
                Type: "Map",
                ItemProcessor: {
                  ProcessorConfig: {
                    Mode: mode,
                    ...(mode === "DISTRIBUTED" ? { ExecutionType: "STANDARD" } : {}),
                  },
                  StartAt: "P",
                  States: { P: { Type: "Pass", End: true } },
                },
                End: true,
                ...extra,
              },
            },
          },
        });
    expect(map({ ItemBatcher: { MaxItemsPerBatch: 2 } }, "INLINE")).toThrow(
      /needs ProcessorConfig Mode DISTRIBUTED/,
    );
    expect(
      map({
        ItemReader: {
          Resource: "arn:aws:states:::s3:getObject",
          ReaderConfig: { InputType: "MANIFEST" },
          Parameters: { Bucket: "b", Key: "k" },
        },
      }),
    ).toThrow(/MANIFEST is not supported/);
    expect(
      map({
        ResultWriter: {
          Resource: "arn:aws:states:::s3:putObject",
          Parameters: { Bucket: "b" },
          WriterConfig: { OutputType: "JSONL" },
        },
      }),
    ).toThrow(/unsupported field 'WriterConfig'/);
    expect(map({ ItemBatcher: {} })).toThrow(/MaxItemsPerBatch/);
    expect(map({ ToleratedFailurePercentage: 150 })).toThrow(/0..100/);
    expect(map({})).not.toThrow();
  });
});
