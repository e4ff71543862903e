export { DefinitionError, StatesError } from "./errors";
export type { EventEntry, EventSink, LambdaInvocationResult, LambdaInvoker } from "./integrations";
export {
  type ExecutionRecord,
  type ExecutionStatus,
  executionStatusDetail,
  type MapRunRecord,
} from "./records";
export { RunnerApiError, type RunnerOptions, StepFunctionsRunner } from "./runner";
export { type StepFunctionsServerHandle, startStepFunctionsServer } from "./server";
export { validateMachine } from "./validate";
