// ASL intrinsic functions (States.Format, States.Array, ...). Arguments are string literals
// in single quotes, numbers, booleans, null, paths ($ / $$) or nested intrinsic calls.
import { createHash, randomUUID } from "node:crypto";
import { DefinitionError, StatesError } from "./errors";
import { type Json, queryPath } from "./paths";

type Arg =
  | { kind: "literal"; value: Json }
  | { kind: "path"; path: string }
  | { kind: "call"; name: string; args: Arg[] };

const FUNCTIONS = new Set([
  "States.Format",
  "States.StringToJson",
  "States.JsonToString",
  "States.Array",
  "States.ArrayPartition",
  "States.ArrayContains",
  "States.ArrayRange",
  "States.ArrayGetItem",
  "States.ArrayLength",
  "States.ArrayUnique",
  "States.Base64Encode",
  "States.Base64Decode",
  "States.Hash",
  "States.JsonMerge",
  "States.MathRandom",
  "States.MathAdd",
  "States.StringSplit",
  "States.UUID",
]);

export function isIntrinsic(s: string): boolean {
  return /^States\.[A-Za-z0-9]+\(/.test(s.trim());
}

export function parseIntrinsic(src: string): Arg {
  let i = 0;
  const s = src.trim();
  const ws = () => {
    while (s[i] === " ") i++;
  };
  const parseCall = (): Arg => {
    const m = /^States\.[A-Za-z0-9]+/.exec(s.slice(i));
    if (!m) throw new DefinitionError(`Invalid intrinsic function call '${src}'`);
    const name = m[0];
    if (!FUNCTIONS.has(name)) throw new DefinitionError(`Unsupported intrinsic function ${name}`);
    i += name.length;
    if (s[i] !== "(") throw new DefinitionError(`Invalid intrinsic function call '${src}'`);
    i++;
    const args: Arg[] = [];
    ws();
    if (s[i] === ")") {
      i++;
      return { kind: "call", name, args };
    }
    for (;;) {
      ws();
      args.push(parseArg());
      ws();
      if (s[i] === ",") {
        i++;
        continue;
      }
      if (s[i] === ")") {
        i++;
        break;
      }
      throw new DefinitionError(`Invalid intrinsic function call '${src}' at ${i}`);
    }
    return { kind: "call", name, args };
  };
  const parseArg = (): Arg => {
    const c = s[i];
    if (c === "'") {
      i++;
      let out = "";
      while (i < s.length && s[i] !== "'") {
        if (s[i] === "\\" && i + 1 < s.length) {
          // \{ and \} stay escaped for States.Format; \' and \\ become the character.
          const nextChar = s[i + 1]!;
          out += nextChar === "{" || nextChar === "}" ? `\\${nextChar}` : nextChar;
          i += 2;
        } else out += s[i++];
      }
      if (s[i] !== "'") throw new DefinitionError(`Unterminated string in '${src}'`);
      i++;
      return { kind: "literal", value: out };
    }
    if (c === "$") {
      let depth = 0;
      const start = i;
      while (i < s.length) {
        const ch = s[i]!;
        if (ch === "[" || ch === "(") depth++;
        else if (ch === "]" || ch === ")") {
          if (depth === 0) break;
          depth--;
        } else if (ch === "," && depth === 0) break;
        i++;
      }
      return { kind: "path", path: s.slice(start, i).trim() };
    }
    if (s.startsWith("States.", i)) return parseCall();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i));
    if (!m) throw new DefinitionError(`Invalid intrinsic argument in '${src}' at ${i}`);
    i += m[0].length;
    return { kind: "literal", value: JSON.parse(m[0]) as Json };
  };
  const call = parseCall();
  if (i !== s.length) throw new DefinitionError(`Unexpected text after intrinsic in '${src}'`);
  return call;
}

const fail = (msg: string) => new StatesError("States.IntrinsicFailure", msg);

function evalArg(arg: Arg, input: Json, ctx: Json): Json {
  if (arg.kind === "literal") return arg.value;
  if (arg.kind === "path") return queryPath(arg.path, input, ctx);
  return call(
    arg.name,
    arg.args.map((a) => evalArg(a, input, ctx)),
  );
}

export function evaluateIntrinsic(src: string, input: Json, ctx: Json): Json {
  return evalArg(parseIntrinsic(src), input, ctx);
}

function str(v: Json, fn: string): string {
  if (typeof v !== "string") throw fail(`${fn}: expected a string argument`);
  return v;
}
function num(v: Json, fn: string): number {
  if (typeof v !== "number") throw fail(`${fn}: expected a number argument`);
  return v;
}
function int(v: Json, fn: string): number {
  const n = num(v, fn);
  if (!Number.isInteger(n)) throw fail(`${fn}: expected an integer argument`);
  return n;
}
function arr(v: Json, fn: string): Json[] {
  if (!Array.isArray(v)) throw fail(`${fn}: expected an array argument`);
  return v;
}
function arity(args: Json[], n: number, fn: string) {
  if (args.length !== n) throw fail(`${fn} takes ${n} arguments, got ${args.length}`);
}
function canonical(v: Json): string {
  return JSON.stringify(v);
}

function call(name: string, a: Json[]): Json {
  if (name.startsWith("States.Array")) return callArray(name, a);
  switch (name) {
    case "States.Format": {
      const tpl = str(a[0] ?? null, name);
      let n = 1;
      const out = tpl.replace(/\\[{}]|\{\}/g, (m) => {
        if (m.startsWith("\\")) return m.slice(1);
        const v = a[n++];
        if (v === undefined) throw fail("States.Format: not enough arguments");
        return typeof v === "string" ? v : JSON.stringify(v);
      });
      if (n !== a.length) throw fail("States.Format: argument count does not match placeholders");
      return out;
    }
    case "States.StringToJson":
      arity(a, 1, name);
      try {
        return JSON.parse(str(a[0]!, name)) as Json;
      } catch {
        throw fail("States.StringToJson: argument is not valid JSON");
      }
    case "States.JsonToString":
      arity(a, 1, name);
      return JSON.stringify(a[0]);
    case "States.Base64Encode":
      arity(a, 1, name);
      return Buffer.from(str(a[0]!, name), "utf8").toString("base64");
    case "States.Base64Decode":
      arity(a, 1, name);
      return Buffer.from(str(a[0]!, name), "base64").toString("utf8");
    case "States.Hash": {
      arity(a, 2, name);
      const algos: Record<string, string> = {
        MD5: "md5",
        "SHA-1": "sha1",
        "SHA-256": "sha256",
        "SHA-384": "sha384",
        "SHA-512": "sha512",
      };
      const algo = algos[str(a[1]!, name)];
      if (!algo) throw fail(`States.Hash: unsupported algorithm '${String(a[1])}'`);
      const data = typeof a[0] === "string" ? a[0] : JSON.stringify(a[0]);
      return createHash(algo).update(data).digest("hex");
    }
    case "States.JsonMerge": {
      arity(a, 3, name);
      if (a[2] !== false) throw fail("States.JsonMerge: only shallow merge (false) is supported");
      const [x, y] = [a[0], a[1]];
      const isObj = (v: Json | undefined) =>
        v !== null && typeof v === "object" && !Array.isArray(v);
      if (!isObj(x) || !isObj(y)) throw fail("States.JsonMerge: arguments must be objects");
      return { ...(x as object), ...(y as object) } as Json;
    }
    case "States.MathRandom": {
      if (a.length < 2 || a.length > 3) throw fail("States.MathRandom takes 2 or 3 arguments");
      const [lo, hi] = [int(a[0]!, name), int(a[1]!, name)];
      return lo + Math.floor(Math.random() * (hi - lo));
    }
    case "States.MathAdd":
      arity(a, 2, name);
      return int(a[0]!, name) + int(a[1]!, name);
    case "States.StringSplit": {
      arity(a, 2, name);
      const delims = [...str(a[1]!, name)];
      let parts = [str(a[0]!, name)];
      for (const d of delims) parts = parts.flatMap((p) => p.split(d));
      return parts.filter((p) => p !== "");
    }
    case "States.UUID":
      arity(a, 0, name);
      return randomUUID();
    default:
      throw fail(`Unknown intrinsic ${name}`);
  }
}

/** States.Array and the States.Array* functions. */
function callArray(name: string, a: Json[]): Json {
  switch (name) {
    case "States.Array":
      return a;
    case "States.ArrayPartition": {
      arity(a, 2, name);
      const xs = arr(a[0]!, name);
      const size = int(a[1]!, name);
      if (size <= 0) throw fail("States.ArrayPartition: chunk size must be positive");
      const out: Json[] = [];
      for (let k = 0; k < xs.length; k += size) out.push(xs.slice(k, k + size));
      return out;
    }
    case "States.ArrayContains":
      arity(a, 2, name);
      return arr(a[0]!, name).some((x) => canonical(x) === canonical(a[1]!));
    case "States.ArrayRange": {
      arity(a, 3, name);
      const [start, end, step] = [int(a[0]!, name), int(a[1]!, name), int(a[2]!, name)];
      if (step === 0) throw fail("States.ArrayRange: step must not be 0");
      const out: number[] = [];
      for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
        out.push(v);
        if (out.length > 1000) throw fail("States.ArrayRange: at most 1000 items");
      }
      return out;
    }
    case "States.ArrayGetItem": {
      arity(a, 2, name);
      const xs = arr(a[0]!, name);
      const idx = int(a[1]!, name);
      if (idx < 0 || idx >= xs.length) throw fail("States.ArrayGetItem: index out of bounds");
      return xs[idx]!;
    }
    case "States.ArrayLength":
      arity(a, 1, name);
      return arr(a[0]!, name).length;
    case "States.ArrayUnique": {
      arity(a, 1, name);
      const seen = new Set<string>();
      return arr(a[0]!, name).filter((x) => {
        const k = canonical(x);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
    default:
      throw fail(`Unknown intrinsic ${name}`);
  }
}

/** Parse-only check for validation at load time. */
export function validateIntrinsic(src: string): void {
  parseIntrinsic(src);
}
