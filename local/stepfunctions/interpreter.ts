// The interpreter of the JSONPath dialect of the Amazon States Language: runs the states of a
// machine (or of a Parallel branch or Map iteration) from StartAt to an end, with data flow,
// Retry and Catch, task timeouts and the 256 KB limits. Distributed maps are handed to the
// function given at construction.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { abortError, childController, sleep, unlessAborted } from "./cancellation";
import { evaluateChoiceRule } from "./choice";
import type { DistributedMapRequest, ItemProcessor } from "./distributed-map";
import { errorMatches, runtimeError, StatesError, toStatesError } from "./errors";
import { type IntegrationDeps, runTask } from "./integrations";
import { type ReaderConfig, readItems } from "./item-source";
import { mapLimit } from "./map-limit";
import { type Json, queryPath, setAtPath } from "./paths";
import { applyTemplate } from "./payload";
import { checkSize } from "./payload-limit";
import { addEvent, type ExecutionEnv } from "./records";
import { inputPath, outputPath, resolveNumber, stringFrom } from "./state-fields";
import type { MachineDef, StateDef } from "./validate";

export interface InterpreterOptions {
  /** Multiplies every Retry delay (0.001 makes a 1 s retry take 1 ms). Default 1. */
  retryDelayScale?: number;
  /** Multiplies every Wait state duration. Default 1. */
  waitScale?: number;
  /** Concurrency used when a Map says MaxConcurrency 0 (unbounded). Default 40. */
  unboundedConcurrency?: number;
}

type StateResult = { output: Json; next?: string };
type ContextOf = (retryCount: number, extra?: Record<string, Json>) => Json;

export class StateInterpreter {
  constructor(
    private readonly opts: InterpreterOptions,
    private readonly deps: IntegrationDeps,
    private readonly region: string,
    private readonly runDistributedMap: (request: DistributedMapRequest) => Promise<Json>,
  ) {}

  async runStates(
    def: { StartAt: string; States: Record<string, StateDef> },
    input: Json,
    env: ExecutionEnv,
    mapItem: { Index: number; Value: Json } | undefined,
  ): Promise<Json> {
    let name = def.StartAt;
    let data = input;
    for (;;) {
      if (env.signal.aborted) throw abortError();
      const state = def.States[name]!;
      const enteredTime = new Date().toISOString();
      checkSize(data, "input");
      addEvent(env.exec, `${state.Type}StateEntered`, "stateEnteredEventDetails", {
        name,
        input: JSON.stringify(data),
      });
      const ctx = (retryCount: number, extra: Record<string, Json> = {}): Json => ({
        ...env.context,
        State: { Name: name, EnteredTime: enteredTime, RetryCount: retryCount },
        ...(mapItem ? { Map: { Item: mapItem } } : {}),
        ...extra,
      });
      const step = await this.runState(name, state, data, env, ctx);
      checkSize(step.output, "output");
      addEvent(env.exec, `${state.Type}StateExited`, "stateExitedEventDetails", {
        name,
        output: JSON.stringify(step.output),
      });
      if (step.next === undefined) return step.output;
      name = step.next;
      data = step.output;
    }
  }

  private async runState(
    name: string,
    s: StateDef,
    input: Json,
    env: ExecutionEnv,
    ctx: ContextOf,
  ): Promise<StateResult> {
    const next = s.End === true ? undefined : (s.Next as string | undefined);
    const effective = (): Json => inputPath(s.InputPath, input, ctx(0));
    const finish = (result: Json): StateResult => {
      const withResult =
        s.ResultPath === null ? input : setAtPath(input, (s.ResultPath as string) ?? "$", result);
      return { output: outputPath(s.OutputPath, withResult, ctx(0)), next };
    };
    switch (s.Type) {
      case "Pass": {
        const eff = effective();
        const result =
          s.Parameters !== undefined
            ? applyTemplate(s.Parameters as Json, eff, ctx(0))
            : s.Result !== undefined
              ? (s.Result as Json)
              : eff;
        return finish(result);
      }
      case "Succeed":
        return { output: outputPath(s.OutputPath, effective(), ctx(0)) };
      case "Fail":
        throw failError(s, input, ctx(0));
      case "Choice":
        return choose(name, s, effective(), ctx(0));
      case "Wait": {
        const eff = effective();
        const ms = waitMilliseconds(s, eff, ctx(0));
        await sleep(ms * (this.opts.waitScale ?? 1), env.signal);
        return { output: outputPath(s.OutputPath, eff, ctx(0)), next };
      }
      case "Task":
      case "Parallel":
      case "Map":
        return this.runWithErrorHandling(name, s, input, env, ctx, finish);
    }
    throw runtimeError(`Unsupported state type ${String(s.Type)}`);
  }

  private async runWithErrorHandling(
    name: string,
    s: StateDef,
    input: Json,
    env: ExecutionEnv,
    ctx: ContextOf,
    finish: (result: Json) => StateResult,
  ): Promise<StateResult> {
    const retriers = (s.Retry ?? []) as Record<string, unknown>[];
    const attempts = retriers.map(() => 0);
    let retryCount = 0;
    for (;;) {
      try {
        const c = ctx(retryCount, s.Type === "Task" ? { Task: { Token: randomUUID() } } : {});
        const eff = inputPath(s.InputPath, input, c);
        let result: Json;
        if (s.Type === "Task") result = await this.runTaskState(name, s, eff, env, c);
        else if (s.Type === "Parallel") result = await this.runParallel(s, eff, env, c);
        else result = await this.runMap(name, s, eff, env, c);
        // The state's own result counts against 256 KB before ResultSelector/ResultPath keep
        // any of it (AWS: a connector's or a Map's output over the quota), even with
        // ResultPath null.
        checkResultSize(name, result);
        if (s.ResultSelector !== undefined)
          result = applyTemplate(s.ResultSelector as Json, result, c);
        return finish(result);
      } catch (e) {
        if (env.signal.aborted) throw abortError();
        const err = toStatesError(e);
        const idx = retriers.findIndex((r) => errorMatches(r.ErrorEquals as string[], err));
        const r = retriers[idx];
        if (r && attempts[idx]! < ((r.MaxAttempts as number | undefined) ?? 3)) {
          const delay = retryDelaySeconds(r, attempts[idx]!);
          attempts[idx]!++;
          retryCount++;
          await sleep(delay * 1000 * (this.opts.retryDelayScale ?? 1), env.signal);
          continue;
        }
        const catcher = ((s.Catch ?? []) as Record<string, unknown>[]).find((c) =>
          errorMatches(c.ErrorEquals as string[], err),
        );
        if (!catcher) throw err;
        const errorOutput: Json = { Error: err.error, Cause: err.cause ?? "" };
        const rp = catcher.ResultPath === undefined ? "$" : (catcher.ResultPath as string | null);
        const output = rp === null ? input : setAtPath(input, rp, errorOutput);
        return { output, next: catcher.Next as string };
      }
    }
  }

  private async runTaskState(
    name: string,
    s: StateDef,
    eff: Json,
    env: ExecutionEnv,
    c: Json,
  ): Promise<Json> {
    const params = s.Parameters !== undefined ? applyTemplate(s.Parameters as Json, eff, c) : eff;
    checkSize(params, "parameters");
    let timeoutSeconds = s.TimeoutSeconds as number | undefined;
    if (s.TimeoutSecondsPath !== undefined) {
      const v = queryPath(s.TimeoutSecondsPath as string, eff, c);
      if (typeof v !== "number" || v <= 0)
        throw runtimeError(`TimeoutSecondsPath of '${name}' must point to a positive integer`);
      timeoutSeconds = v;
    }
    addEvent(env.exec, "TaskScheduled", "taskScheduledEventDetails", {
      resource: s.Resource,
      parameters: JSON.stringify(params),
      region: this.region,
    });
    const call = unlessAborted(runTask(s.Resource as string, params, this.deps), env.signal);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = timeoutSeconds
        ? await Promise.race([
            call,
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    new StatesError(
                      "States.Timeout",
                      `Task '${name}' timed out after ${timeoutSeconds} seconds`,
                    ),
                  ),
                timeoutSeconds! * 1000,
              );
            }),
          ])
        : await call;
      addEvent(env.exec, "TaskSucceeded", "taskSucceededEventDetails", {
        resource: s.Resource,
        output: JSON.stringify(result),
      });
      return result;
    } catch (e) {
      // An aborted task records no failure of its own: the execution or child ends ABORTED.
      if (env.signal.aborted) throw abortError();
      const err = toStatesError(e);
      addEvent(
        env.exec,
        err.error === "States.Timeout" ? "TaskTimedOut" : "TaskFailed",
        "taskFailedEventDetails",
        { resource: s.Resource, error: err.error, cause: err.cause },
      );
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async runParallel(s: StateDef, eff: Json, env: ExecutionEnv, c: Json): Promise<Json> {
    const branchInput =
      s.Parameters !== undefined ? applyTemplate(s.Parameters as Json, eff, c) : eff;
    const ctl = childController(env.signal);
    const branchEnv = { ...env, signal: ctl.signal };
    // Every branch running watches ctl's signal (a sleep, a task).
    setMaxListeners(Math.max(10, (s.Branches as MachineDef[]).length + 1), ctl.signal);
    // Promise.all rejects with the first failing branch's own error, not the aborts it
    // then causes in its siblings.
    try {
      return await Promise.all(
        (s.Branches as MachineDef[]).map((b) =>
          this.runStates(b, branchInput, branchEnv, undefined).catch((e) => {
            ctl.abort();
            throw e;
          }),
        ),
      );
    } finally {
      ctl.release();
    }
  }

  private async runMap(
    name: string,
    s: StateDef,
    eff: Json,
    env: ExecutionEnv,
    c: Json,
  ): Promise<Json> {
    const proc = (s.ItemProcessor ?? s.Iterator) as ItemProcessor;
    const distributed = proc.ProcessorConfig?.Mode === "DISTRIBUTED";
    const items = await this.mapItems(name, s, eff, c);
    const selector = (s.ItemSelector ?? s.Parameters) as Json | undefined;
    const inputs = items.map((value, index) =>
      selector !== undefined
        ? applyTemplate(selector, eff, {
            ...(c as object),
            Map: { Item: { Index: index, Value: value } },
          } as Json)
        : value,
    );
    const maxConcurrency = resolveNumber(s, "MaxConcurrency", eff, c, 0);
    const limit = maxConcurrency === 0 ? (this.opts.unboundedConcurrency ?? 40) : maxConcurrency;
    if (!distributed) {
      const ctl = childController(env.signal);
      const iterEnv = { ...env, signal: ctl.signal };
      // Up to `limit` iterations at once each watch ctl's signal (a sleep, a task).
      setMaxListeners(Math.max(10, limit + 1), ctl.signal);
      try {
        return await mapLimit(inputs, limit, (item, index) =>
          this.runStates(proc, item, iterEnv, { Index: index, Value: items[index]! }).catch((e) => {
            ctl.abort();
            throw e;
          }),
        );
      } finally {
        ctl.release();
      }
    }
    return this.runDistributedMap({
      name,
      state: s,
      processor: proc,
      input: eff,
      context: c,
      env,
      items,
      inputs,
      maxConcurrency,
      limit,
    });
  }

  /** The Map state's items: read by its ItemReader, or selected by ItemsPath. */
  private async mapItems(name: string, s: StateDef, eff: Json, c: Json): Promise<Json[]> {
    if (s.ItemReader !== undefined) {
      const reader = s.ItemReader as {
        Resource: string;
        Parameters?: Json;
        ReaderConfig?: Record<string, Json>;
      };
      const params = applyTemplate(reader.Parameters ?? {}, eff, c) as Record<string, Json>;
      const cfg = { ...(reader.ReaderConfig ?? {}) } as Record<string, Json>;
      if (cfg.MaxItemsPath !== undefined)
        cfg.MaxItems = queryPath(cfg.MaxItemsPath as string, eff, c);
      return await readItems(this.deps.s3, reader.Resource, params, cfg as ReaderConfig);
    }
    const v = queryPath((s.ItemsPath as string) ?? "$", eff, c);
    if (!Array.isArray(v))
      throw runtimeError(
        `Map state '${name}': ItemsPath '${String(s.ItemsPath ?? "$")}' did not select an array`,
      );
    return v;
  }
}

/** States.DataLimitExceeded when a Task, Parallel or Map state's own result is over 256 KB. */
function checkResultSize(name: string, result: Json): void {
  try {
    checkSize(result, "result");
  } catch (e) {
    if (!(e instanceof StatesError)) throw e;
    throw new StatesError(
      e.error,
      `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit. ${e.cause ?? ""}`.trim(),
    );
  }
}

/** The error a Fail state ends its execution with. */
function failError(s: StateDef, input: Json, c: Json): StatesError {
  const error = s.ErrorPath
    ? stringFrom(s.ErrorPath as string, input, c)
    : ((s.Error as string | undefined) ?? "");
  const cause = s.CausePath
    ? stringFrom(s.CausePath as string, input, c)
    : (s.Cause as string | undefined);
  // A Fail state without Error ends the execution with no error name (as in AWS).
  return new StatesError(error ?? "", cause);
}

/** A Choice state: the Next of the first rule that matches, else Default. */
function choose(name: string, s: StateDef, eff: Json, c: Json): StateResult {
  for (const rule of s.Choices as Record<string, unknown>[]) {
    if (evaluateChoiceRule(rule, eff, c))
      return { output: outputPath(s.OutputPath, eff, c), next: rule.Next as string };
  }
  if (s.Default === undefined)
    throw new StatesError(
      "States.NoChoiceMatched",
      `No Choice Rules matched and no Default was specified in state '${name}'`,
    );
  return { output: outputPath(s.OutputPath, eff, c), next: s.Default as string };
}

/** How long a Wait state waits (before waitScale): Seconds(Path) or until Timestamp(Path). */
function waitMilliseconds(s: StateDef, eff: Json, c: Json): number {
  if (s.Seconds !== undefined) return (s.Seconds as number) * 1000;
  if (s.SecondsPath !== undefined) {
    const v = queryPath(s.SecondsPath as string, eff, c);
    if (typeof v !== "number" || v < 0 || !Number.isInteger(v))
      throw runtimeError(
        `SecondsPath '${String(s.SecondsPath)}' must point to a non-negative integer`,
      );
    return v * 1000;
  }
  const ts =
    s.Timestamp !== undefined
      ? (s.Timestamp as string)
      : queryPath(s.TimestampPath as string, eff, c);
  if (typeof ts !== "string" || Number.isNaN(Date.parse(ts)))
    throw runtimeError(`TimestampPath '${String(s.TimestampPath)}' must point to a timestamp`);
  return Date.parse(ts) - Date.now();
}

/** A retrier's delay before attempt `attempt + 1`: backoff, MaxDelaySeconds, full jitter. */
function retryDelaySeconds(r: Record<string, unknown>, attempt: number): number {
  let delay =
    ((r.IntervalSeconds as number | undefined) ?? 1) *
    ((r.BackoffRate as number | undefined) ?? 2) ** attempt;
  if (r.MaxDelaySeconds !== undefined) delay = Math.min(delay, r.MaxDelaySeconds as number);
  if (r.JitterStrategy === "FULL") delay = Math.random() * delay;
  return delay;
}
