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
