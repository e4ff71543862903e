// JSONPath as ASL uses it: `$`-rooted paths against the state input, `$$`-rooted paths
// against the context object, and "reference paths" (ResultPath) that address one node.
import { JSONPath } from "jsonpath-plus";
import { runtimeError } from "./errors";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A path is indefinite when it can select several nodes; its result is then an array. */
function isDefinite(path: string): boolean {
  return !/\[\s*\*\s*\]|\.\*|\.\.|\[\s*\?|\[[^\]]*[,:][^\]]*\]/.test(path);
}

export function isPath(s: unknown): s is string {
  return typeof s === "string" && s.startsWith("$");
}

/** Evaluates `$...` against `data` or `$$...` against `context`. Missing -> States.Runtime. */
export function queryPath(path: string, data: Json, context: Json): Json {
  if (path.startsWith("$$")) return queryJson(path.slice(1), context, path);
  return queryJson(path, data, path);
}

/** jsonpath-plus reads `[a,b]` but not the quoted union `['a','b']` that ASL allows. */
function normalizeUnion(path: string): string {
  return path.replace(
    /\[\s*('[^',]*'(?:\s*,\s*'[^',]*')+)\s*\]/g,
    (_m, list: string) =>
      `[${list
        .split(",")
        .map((k) => k.trim().slice(1, -1))
        .join(",")}]`,
  );
}

function queryJson(path: string, json: Json, original: string): Json {
  if (path === "$") return json;
  const results = JSONPath({
    path: normalizeUnion(path),
    json: json as object,
    wrap: true,
    eval: "safe",
  }) as Json[];
  if (isDefinite(path)) {
    if (results.length === 0) {
      throw runtimeError(`The JSONPath '${original}' could not be found in the input`);
    }
    return results[0] as Json;
  }
  return results;
}

type Segment = string | number;

/** Parses a reference path ($, $.a.b, $['a'], $.a[0]) into segments. */
export function parseReferencePath(path: string): Segment[] {
  if (!path.startsWith("$")) throw runtimeError(`Invalid reference path '${path}'`);
  const segs: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === ".") {
      const m = /^[^.[\]]+/.exec(path.slice(i + 1));
      if (!m) throw runtimeError(`Invalid reference path '${path}'`);
      segs.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === "[") {
      const rest = path.slice(i);
      const q =
        /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest) ?? /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest);
      const n = /^\[\s*(\d+)\s*\]/.exec(rest);
      if (q) {
        segs.push(q[1]!);
        i += q[0].length;
      } else if (n) {
        segs.push(Number(n[1]));
        i += n[0].length;
      } else throw runtimeError(`Invalid reference path '${path}'`);
    } else throw runtimeError(`Invalid reference path '${path}'`);
  }
  return segs;
}

export function validateReferencePath(path: string): void {
  parseReferencePath(path);
}

/** ResultPath semantics: put `result` into a copy of `input` at `path`. */
export function setAtPath(input: Json, path: string, result: Json): Json {
  const segs = parseReferencePath(path);
  if (segs.length === 0) return result;
  const root = structuredClone(input ?? {}) as Json;
  if (root === null || typeof root !== "object") {
    throw runtimeError(`Unable to apply ResultPath '${path}' to a non-object input`);
  }
  let node = root as Record<string | number, Json>;
  for (let k = 0; k < segs.length - 1; k++) {
    const seg = segs[k]!;
    let next = node[seg];
    if (next === undefined || next === null || typeof next !== "object") {
      if (next !== undefined && next !== null) {
        throw runtimeError(`Unable to apply ResultPath '${path}': '${seg}' is not an object`);
      }
      next = {};
      node[seg] = next;
    }
    node = next as Record<string | number, Json>;
  }
  node[segs[segs.length - 1]!] = result;
  return root;
}
