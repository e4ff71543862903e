// What the runner keeps: registered state machines, executions with their event history, and
// the map runs of distributed maps, shaped as the Step Functions API returns them.
import type { Json } from "./paths";
import type { MachineDef } from "./validate";

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  definition: MachineDef;
  definitionString: string;
  roleArn: string;
  type: "STANDARD" | "EXPRESS";
  creationDate: Date;
}

export interface HistoryEvent {
  timestamp: Date;
  type: string;
  id: number;
  previousEventId: number;
  details?: Record<string, unknown>;
  detailsKey?: string;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  history: HistoryEvent[];
  mapRunArn?: string;
  done: Promise<void>;
  abort: AbortController;
}

export interface MapRunCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  aborted: number;
  total: number;
  resultsWritten: number;
}

export interface MapRunRecord {
  mapRunArn: string;
  executionArn: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";
  startDate: Date;
  stopDate?: Date;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  itemCounts: MapRunCounts;
  executionCounts: MapRunCounts;
}

/** The (child) execution an interpreter runs states for. */
export interface ExecutionEnv {
  exec: ExecutionRecord;
  /** $$.Execution and $$.StateMachine of the (child) execution being run. */
  context: { Execution: Record<string, Json>; StateMachine: Record<string, Json> };
  machine: StateMachineRecord;
  signal: AbortSignal;
}

export const emptyCounts = (): MapRunCounts => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  aborted: 0,
  total: 0,
  resultsWritten: 0,
});

export function newExecution(
  executionArn: string,
  stateMachineArn: string,
  name: string,
  input: string,
): ExecutionRecord {
  return {
    executionArn,
    stateMachineArn,
    name,
    status: "RUNNING",
    input,
    startDate: new Date(),
    history: [],
    done: Promise.resolve(),
    abort: new AbortController(),
  };
}

/** Appends one event to an execution's history (GetExecutionHistory). */
export function addEvent(
  rec: ExecutionRecord,
  type: string,
  detailsKey?: string,
  details?: Record<string, unknown>,
): void {
  const id = rec.history.length + 1;
  rec.history.push({
    timestamp: new Date(),
    type,
    id,
    previousEventId: id - 1,
    detailsKey,
    details,
  });
}

/** The detail of the "Step Functions Execution Status Change" event. */
export function executionStatusDetail(rec: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: rec.executionArn,
    stateMachineArn: rec.stateMachineArn,
    name: rec.name,
    status: rec.status,
    startDate: rec.startDate.getTime(),
    stopDate: rec.stopDate ? rec.stopDate.getTime() : null,
    input: rec.input,
    output: rec.status === "SUCCEEDED" ? (rec.output ?? null) : null,
    inputDetails: { included: true },
    outputDetails: rec.status === "SUCCEEDED" ? { included: true } : null,
    error: rec.error ?? null,
    cause: rec.cause ?? null,
  };
}
