// ExecutionLookup over Step Functions' DescribeExecution (no map runs: the stuck check needs
// the status only).
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import type { ExecutionStatus } from "../../shared/workflow-starter";
import type { ExecutionFacts } from "../domain/stuck";
import type { ExecutionLookup } from "../ports";

export class SfnExecutionLookup implements ExecutionLookup {
  constructor(private readonly sfn: SFNClient) {}

  async lookup(executionArn: string): Promise<ExecutionFacts | undefined> {
    try {
      const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: (d.status ?? "RUNNING") as ExecutionStatus,
        ...(d.startDate ? { startDate: d.startDate } : {}),
        ...(d.stopDate ? { stopDate: d.stopDate } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      };
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist || (err as Error).name === "ExecutionDoesNotExist")
        return undefined;
      throw err;
    }
  }
}
