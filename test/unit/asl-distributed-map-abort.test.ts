// A distributed Map whose failure threshold is exceeded fails at once, as in AWS: the children
// still running are aborted (the map run counts them `aborted`) and the state's Catch runs
// while their Lambda invocations may still be going on; nothing waits for those invocations.
import { describe, expect, it } from "vitest";
import { type LambdaInvoker, StepFunctionsRunner } from "../../local/stepfunctions";

const FN = "arn:aws:lambda:us-east-1:000000000000:function:";

const definition = {
  StartAt: "Fan",
  States: {
    Fan: {
      Type: "Map",
      ItemsPath: "$.items",
      MaxConcurrency: 2,
      ItemProcessor: {
        ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
        StartAt: "Work",
        States: { Work: { Type: "Task", Resource: `${FN}work`, End: true } },
      },
      ResultPath: null,
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "AfterFailure" }],
      Next: "Done",
    },
    AfterFailure: { Type: "Task", Resource: `${FN}after`, ResultPath: "$.after", End: true },
    Done: { Type: "Succeed" },
  },
};

describe("distributed Map: a failed map run", () => {
  it("goes to its Catch without waiting for the Lambda invocations of aborted children", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let slowFinished = false;
    let slowFinishedBeforeCatch: boolean | undefined;
    const lambda: LambdaInvoker = {
      async invoke(fn, payload) {
        const name = fn.slice(FN.length);
        const ok = (out: unknown) => ({
          payload: JSON.stringify(out),
          executedVersion: "$LATEST",
          requestId: "r",
        });
        if (name === "after") {
          slowFinishedBeforeCatch = slowFinished;
          return ok({ ran: true });
        }
        const item = JSON.parse(payload) as { fail?: boolean };
        if (item.fail) {
          return {
            ...ok({ errorType: "Boom", errorMessage: "item failed", trace: [] }),
            functionError: "Unhandled",
          };
        }
        await gate;
        slowFinished = true;
        return ok({ slow: true });
      },
    };
    const r = new StepFunctionsRunner({ lambda, emitStatusEvents: false });
    try {
      const sm = r.createStateMachine({ name: "abort", definition: JSON.stringify(definition) });
      const { executionArn } = await r.startExecution({
        stateMachineArn: sm.stateMachineArn,
        input: JSON.stringify({ items: [{ slow: true }, { fail: true }] }),
      });
      const ended = await Promise.race([
        r.waitForExecution(executionArn),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
      ]);
      expect(ended?.status).toBe("SUCCEEDED");
      expect(slowFinishedBeforeCatch).toBe(false);
      const out = JSON.parse(ended!.output!);
      expect(out.error.Error).toBe("States.ExceedToleratedFailureThreshold");
      const run = r.listMapRuns(executionArn)[0]!;
      expect(run.status).toBe("FAILED");
      expect(run.executionCounts).toMatchObject({ failed: 1, aborted: 1, running: 0 });
    } finally {
      release();
    }
  });
});
