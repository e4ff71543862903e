// Port for starting and following Step Functions executions (export and GC workflows).

/** Step Functions execution names (an export id is one): 1 to 80 of [A-Za-z0-9_-]. */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** arn:aws:states:R:A:stateMachine:NAME -> arn:aws:states:R:A:execution:NAME:EXEC */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName}`;
}

export type ExecutionStatus =
  | "RUNNING"
  | "SUCCEEDED"
  | "FAILED"
  | "TIMED_OUT"
  | "ABORTED"
  | "PENDING_REDRIVE";

export interface MapRunProgress {
  mapRunArn: string;
  status: string;
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  pending: number;
}

export interface ExecutionDescription {
  executionArn: string;
  status: ExecutionStatus;
  startDate?: string;
  stopDate?: string;
  error?: string;
  cause?: string;
  /** Distributed Map runs of the execution, if any. */
  mapRuns: MapRunProgress[];
}

export interface WorkflowStarter {
  /** Starts an execution named `name`; an existing one with the same name and input is reused. */
  start(stateMachineArn: string, name: string, input: unknown): Promise<string>;
  describe(executionArn: string): Promise<ExecutionDescription>;
}

/** StartExecution failed; the message says why. */
export class WorkflowStartError extends Error {
  override readonly name = "WorkflowStartError";
}
