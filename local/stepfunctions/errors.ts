// Errors as Step Functions names them. A StatesError travels through Retry/Catch; a
// DefinitionError is raised at load time for anything the runner does not support.

export class StatesError extends Error {
  constructor(
    readonly error: string,
    override readonly cause: string | undefined,
  ) {
    super(cause ? `${error}: ${cause}` : error);
    this.name = "StatesError";
  }
}

export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DefinitionError";
  }
}

export function runtimeError(cause: string): StatesError {
  return new StatesError("States.Runtime", cause);
}

/** Errors that States.ALL does not match and no Retry/Catch can handle. */
export const TERMINAL_ERRORS = new Set(["States.Runtime", "States.DataLimitExceeded"]);

export function toStatesError(err: unknown): StatesError {
  if (err instanceof StatesError) return err;
  const e = err as Error;
  return new StatesError("States.TaskFailed", e?.message ?? String(err));
}

/** Whether a Retry or Catch `ErrorEquals` list matches `err`, as Step Functions decides it. */
export function errorMatches(errorEquals: string[], err: StatesError): boolean {
  if (err.error === "States.Runtime") return false;
  if (errorEquals.includes(err.error)) return true;
  if (TERMINAL_ERRORS.has(err.error)) return false;
  if (errorEquals.includes("States.ALL")) return true;
  return errorEquals.includes("States.TaskFailed") && err.error !== "States.Timeout";
}
