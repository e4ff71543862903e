// Choice rules: comparison operators (with their *Path variants), type tests, And/Or/Not.
// A type mismatch makes a comparison false, as in AWS.
import { DefinitionError, StatesError } from "./errors";
import { type Json, queryPath } from "./paths";

const BASE_OPS = [
  "StringEquals",
  "StringLessThan",
  "StringGreaterThan",
  "StringLessThanEquals",
  "StringGreaterThanEquals",
  "NumericEquals",
  "NumericLessThan",
  "NumericGreaterThan",
  "NumericLessThanEquals",
  "NumericGreaterThanEquals",
  "BooleanEquals",
  "TimestampEquals",
  "TimestampLessThan",
  "TimestampGreaterThan",
  "TimestampLessThanEquals",
  "TimestampGreaterThanEquals",
];
const TYPE_OPS = ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"];
export const COMPARISON_OPS = new Set([
  ...BASE_OPS,
  ...BASE_OPS.map((o) => `${o}Path`),
  ...TYPE_OPS,
  "StringMatches",
]);

export type ChoiceRule = Record<string, unknown>;

const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
export const isTimestamp = (v: unknown): v is string =>
  typeof v === "string" && TS_RE.test(v) && !Number.isNaN(Date.parse(v));

export function validateChoiceRule(rule: ChoiceRule, where: string, top: boolean): void {
  const allowed = new Set(["Variable", "And", "Or", "Not", "Comment", ...COMPARISON_OPS]);
  if (top) allowed.add("Next");
  for (const k of Object.keys(rule)) {
    if (!allowed.has(k)) throw new DefinitionError(`${where}: unsupported field '${k}'`);
  }
  if (top && typeof rule.Next !== "string") {
    throw new DefinitionError(`${where}: a top-level choice rule needs Next`);
  }
  if (Array.isArray(rule.And) || Array.isArray(rule.Or)) {
    const list = (rule.And ?? rule.Or) as ChoiceRule[];
    list.forEach((r, i) => {
      validateChoiceRule(r, `${where}.${rule.And ? "And" : "Or"}[${i}]`, false);
    });
    return;
  }
  if (rule.Not) {
    validateChoiceRule(rule.Not as ChoiceRule, `${where}.Not`, false);
    return;
  }
  const ops = Object.keys(rule).filter((k) => COMPARISON_OPS.has(k));
  if (ops.length !== 1)
    throw new DefinitionError(`${where}: exactly one comparison operator is required`);
  if (typeof rule.Variable !== "string" || !rule.Variable.startsWith("$")) {
    throw new DefinitionError(`${where}: Variable must be a path`);
  }
}

function lookup(path: string, input: Json, ctx: Json): { present: boolean; value?: Json } {
  try {
    return { present: true, value: queryPath(path, input, ctx) };
  } catch (e) {
    if (e instanceof StatesError) return { present: false };
    throw e;
  }
}

/** StringMatches: `*` is a wildcard, `\*` and `\\` are escapes. */
function wildcardMatch(value: string, pattern: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (c === "*") re += "[\\s\\S]*";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(value);
}

export function evaluateChoiceRule(rule: ChoiceRule, input: Json, ctx: Json): boolean {
  if (Array.isArray(rule.And))
    return (rule.And as ChoiceRule[]).every((r) => evaluateChoiceRule(r, input, ctx));
  if (Array.isArray(rule.Or))
    return (rule.Or as ChoiceRule[]).some((r) => evaluateChoiceRule(r, input, ctx));
  if (rule.Not) return !evaluateChoiceRule(rule.Not as ChoiceRule, input, ctx);
  const op = Object.keys(rule).find((k) => COMPARISON_OPS.has(k))!;
  const variable = lookup(rule.Variable as string, input, ctx);
  let expected = rule[op] as Json;
  if (op === "IsPresent") return variable.present === expected;
  if (!variable.present) {
    throw new StatesError(
      "States.Runtime",
      `Invalid path '${String(rule.Variable)}': The choice state's condition path references an invalid value.`,
    );
  }
  const v = variable.value as Json;
  switch (op) {
    case "IsNull":
      return (v === null) === expected;
    case "IsNumeric":
      return (typeof v === "number") === expected;
    case "IsString":
      return (typeof v === "string") === expected;
    case "IsBoolean":
      return (typeof v === "boolean") === expected;
    case "IsTimestamp":
      return isTimestamp(v) === expected;
    case "StringMatches":
      return typeof v === "string" && wildcardMatch(v, expected as string);
  }
  let base = op;
  if (op.endsWith("Path")) {
    base = op.slice(0, -4);
    expected = queryPath(expected as string, input, ctx);
  }
  if (base.startsWith("String")) {
    if (typeof v !== "string" || typeof expected !== "string") return false;
    return compare(base.slice(6), v < expected ? -1 : v > expected ? 1 : 0);
  }
  if (base.startsWith("Numeric")) {
    if (typeof v !== "number" || typeof expected !== "number") return false;
    return compare(base.slice(7), Math.sign(v - expected));
  }
  if (base === "BooleanEquals") return typeof v === "boolean" && v === expected;
  if (base.startsWith("Timestamp")) {
    if (!isTimestamp(v) || !isTimestamp(expected)) return false;
    return compare(base.slice(9), Math.sign(Date.parse(v) - Date.parse(expected)));
  }
  throw new StatesError("States.Runtime", `Unknown comparison ${op}`);
}

function compare(kind: string, c: number): boolean {
  switch (kind) {
    case "Equals":
      return c === 0;
    case "LessThan":
      return c < 0;
    case "GreaterThan":
      return c > 0;
    case "LessThanEquals":
      return c <= 0;
    case "GreaterThanEquals":
      return c >= 0;
  }
  return false;
}
