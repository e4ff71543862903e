// WorkflowStarter over the Step Functions API.
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import {
  type ExecutionDescription,
  type ExecutionStatus,
  executionArnOf,
  type MapRunProgress,
  WorkflowStartError,
  type WorkflowStarter,
} from "../workflow-starter";

const MAX_MAP_RUNS = 10;

export class SfnWorkflowStarter implements WorkflowStarter {
  constructor(private readonly sfn: SFNClient) {}

  async start(stateMachineArn: string, name: string, input: unknown): Promise<string> {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      if (!out.executionArn)
        throw new WorkflowStartError("StartExecution returned no executionArn");
      return out.executionArn;
    } catch (err) {
      if (err instanceof WorkflowStartError) throw err;
      // Same name already started (a retried start): the execution exists, use it.
      if (err instanceof ExecutionAlreadyExists) return executionArnOf(stateMachineArn, name);
      throw new WorkflowStartError((err as Error).message || String(err));
    }
  }

  async describe(executionArn: string): Promise<ExecutionDescription> {
    const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      executionArn,
      status: (d.status ?? "RUNNING") as ExecutionStatus,
      ...(d.startDate ? { startDate: d.startDate.toISOString() } : {}),
      ...(d.stopDate ? { stopDate: d.stopDate.toISOString() } : {}),
      ...(d.error ? { error: d.error } : {}),
      ...(d.cause ? { cause: d.cause } : {}),
      mapRuns: await this.mapRuns(executionArn),
    };
  }

  private async mapRuns(executionArn: string): Promise<MapRunProgress[]> {
    try {
      const list = await this.sfn.send(
        new ListMapRunsCommand({ executionArn, maxResults: MAX_MAP_RUNS }),
      );
      const runs: MapRunProgress[] = [];
      for (const m of list.mapRuns ?? []) {
        if (!m.mapRunArn) continue;
        const d = await this.sfn.send(new DescribeMapRunCommand({ mapRunArn: m.mapRunArn }));
        const c = d.itemCounts;
        runs.push({
          mapRunArn: m.mapRunArn,
          status: d.status ?? "UNKNOWN",
          total: c?.total ?? 0,
          succeeded: c?.succeeded ?? 0,
          failed: c?.failed ?? 0,
          running: c?.running ?? 0,
          pending: c?.pending ?? 0,
        });
      }
      return runs;
    } catch {
      // Progress is best effort: an endpoint without map runs still describes the execution.
      return [];
    }
  }
}
