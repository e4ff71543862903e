// The Step Functions-compatible endpoint driven with @aws-sdk/client-sfn: errors the SDK
// maps to its exception classes, pagination, status filters and history.
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidName,
  ListExecutionsCommand,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSfnClient } from "../../lambdas/shared/aws/clients";
import { StepFunctionsRunner, startStepFunctionsServer } from "../../local/stepfunctions";

const runner = new StepFunctionsRunner({ emitStatusEvents: false });
const sm = runner.createStateMachine({
  name: "endpoint",
  definition: {
    StartAt: "Check",
    States: {
      Check: {
        Type: "Choice",
        Choices: [{ Variable: "$.ok", BooleanEquals: true, Next: "Yes" }],
        Default: "No",
      },
      Yes: { Type: "Pass", Result: { fine: true }, End: true },
      No: { Type: "Fail", Error: "NotOk", Cause: "input said no" },
    },
  },
});
let server: Awaited<ReturnType<typeof startStepFunctionsServer>>;
let sfn: ReturnType<typeof createSfnClient>;

beforeAll(async () => {
  server = await startStepFunctionsServer({ runner });
  sfn = createSfnClient({
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
});
afterAll(() => server.stop());

async function finished(executionArn: string) {
  await runner.waitForExecution(executionArn);
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

describe("Step Functions endpoint", () => {
  it("describes succeeded and failed executions with epoch-second dates", async () => {
    const ok = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn, input: '{"ok":true}' }),
    );
    const d = await finished(ok.executionArn!);
    expect(d).toMatchObject({
      status: "SUCCEEDED",
      output: '{"fine":true}',
      input: '{"ok":true}',
      stateMachineArn: sm.stateMachineArn,
    });
    expect(d.startDate).toBeInstanceOf(Date);
    const bad = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sm.stateMachineArn,
        name: "bad-1",
        input: '{"ok":false}',
      }),
    );
    expect(bad.executionArn).toBe("arn:aws:states:us-east-1:000000000000:execution:endpoint:bad-1");
    const f = await finished(bad.executionArn!);
    expect(f).toMatchObject({ status: "FAILED", error: "NotOk", cause: "input said no" });
    expect(f.output).toBeUndefined();
    const again = sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sm.stateMachineArn,
        name: "bad-1",
        input: '{"ok":false}',
      }),
    );
    await expect(again).rejects.toMatchObject({ name: "ExecutionAlreadyExists" });
    const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn: bad.executionArn }));
    expect(h.events?.map((e) => e.type)).toEqual([
      "ExecutionStarted",
      "ChoiceStateEntered",
      "ChoiceStateExited",
      "FailStateEntered",
      "ExecutionFailed",
    ]);
    expect(h.events?.at(-1)?.executionFailedEventDetails).toEqual({
      error: "NotOk",
      cause: "input said no",
    });
  });

  it("maps errors to the SDK's exception classes", async () => {
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: `${sm.stateMachineArn}-nope` })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: "arn:aws:states:us-east-1:000000000000:execution:endpoint:none",
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(
        new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn, name: "has space" }),
      ),
    ).rejects.toBeInstanceOf(InvalidName);
  });

  it("paginates ListExecutions and filters by status", async () => {
    for (let i = 0; i < 5; i++) {
      const s = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: sm.stateMachineArn,
          name: `page-${i}`,
          input: '{"ok":true}',
        }),
      );
      await runner.waitForExecution(s.executionArn!);
    }
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: sm.stateMachineArn,
          statusFilter: "SUCCEEDED",
          maxResults: 2,
          nextToken,
        }),
      );
      expect(page.executions!.length).toBeLessThanOrEqual(2);
      seen.push(...page.executions!.map((e) => e.name!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen.filter((n) => n.startsWith("page-")).sort()).toEqual([
      "page-0",
      "page-1",
      "page-2",
      "page-3",
      "page-4",
    ]);
    const failed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: sm.stateMachineArn, statusFilter: "FAILED" }),
    );
    expect(failed.executions?.map((e) => e.name)).toEqual(["bad-1"]);
    const desc = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: sm.stateMachineArn }),
    );
    expect(JSON.parse(desc.definition!).StartAt).toBe("Check");
  });
});
