// Fields of a state that take a value or a path: InputPath/OutputPath, `*Path` numbers and the
// Fail state's ErrorPath/CausePath.
import { runtimeError } from "./errors";
import { evaluateIntrinsic, isIntrinsic } from "./intrinsics";
import { type Json, queryPath } from "./paths";
import type { StateDef } from "./validate";

export function inputPath(path: unknown, input: Json, ctx: Json): Json {
  if (path === null) return {};
  if (path === undefined) return input;
  return queryPath(path as string, input, ctx);
}

export function outputPath(path: unknown, output: Json, ctx: Json): Json {
  if (path === null) return {};
  if (path === undefined) return output;
  return queryPath(path as string, output, ctx);
}

export function stringFrom(path: string, input: Json, ctx: Json): string {
  const v = isIntrinsic(path) ? evaluateIntrinsic(path, input, ctx) : queryPath(path, input, ctx);
  if (typeof v !== "string") throw runtimeError(`'${path}' must select a string`);
  return v;
}

/** `field`, or the non-negative number `${field}Path` selects, or `dflt`. */
export function resolveNumber(
  s: StateDef,
  field: string,
  eff: Json,
  c: Json,
  dflt: number,
): number {
  if (s[`${field}Path`] !== undefined) {
    const v = queryPath(s[`${field}Path`] as string, eff, c);
    if (typeof v !== "number" || v < 0)
      throw runtimeError(`${field}Path must point to a non-negative number`);
    return v;
  }
  return (s[field] as number | undefined) ?? dflt;
}
