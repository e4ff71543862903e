// EventBridge event patterns: exact values, prefix, suffix, anything-but, numeric, exists,
// equals-ignore-case, wildcard, cidr-less subset; $or; nested fields; array values match
// when any element matches.

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEventPatternException";
  }
}

type Pattern = Record<string, unknown>;

export function validatePattern(p: unknown, where = "EventPattern"): void {
  if (p === null || typeof p !== "object" || Array.isArray(p))
    throw new PatternError(`${where} must be an object`);
  for (const [k, v] of Object.entries(p)) {
    if (k === "$or") {
      if (!Array.isArray(v) || v.length < 2)
        throw new PatternError(`${where}.$or must be an array of 2+ patterns`);
      v.forEach((x, i) => {
        validatePattern(x, `${where}.$or[${i}]`);
      });
    } else if (Array.isArray(v)) {
      for (const m of v) validateMatcher(m, `${where}.${k}`);
    } else if (v !== null && typeof v === "object") validatePattern(v, `${where}.${k}`);
    else throw new PatternError(`${where}.${k} must be an array or an object`);
  }
}

const MATCHERS = new Set([
  "prefix",
  "suffix",
  "anything-but",
  "numeric",
  "exists",
  "equals-ignore-case",
  "wildcard",
  "cidr",
]);

function validateMatcher(m: unknown, where: string): void {
  if (m === null || typeof m !== "object") return;
  const keys = Object.keys(m);
  if (keys.length !== 1 || !MATCHERS.has(keys[0]!))
    throw new PatternError(`${where}: unsupported matcher ${JSON.stringify(m)}`);
  if (keys[0] === "cidr")
    throw new PatternError(`${where}: cidr matching is not supported locally`);
}

function valuesAt(event: unknown, key: string): { present: boolean; values: unknown[] } {
  if (event === null || typeof event !== "object" || Array.isArray(event))
    return { present: false, values: [] };
  if (!(key in (event as object))) return { present: false, values: [] };
  const v = (event as Record<string, unknown>)[key];
  return { present: true, values: Array.isArray(v) ? v : [v] };
}

function wildcard(value: string, pattern: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length)
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (c === "*") re += "[\\s\\S]*";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(value);
}

function numeric(v: unknown, spec: unknown[]): boolean {
  if (typeof v !== "number") return false;
  for (let i = 0; i < spec.length; i += 2) {
    const op = spec[i] as string;
    const n = spec[i + 1] as number;
    const ok =
      op === "="
        ? v === n
        : op === "<"
          ? v < n
          : op === "<="
            ? v <= n
            : op === ">"
              ? v > n
              : op === ">="
                ? v >= n
                : false;
    if (!ok) return false;
  }
  return true;
}

function matchOne(v: unknown, m: unknown): boolean {
  if (m === null || typeof m !== "object") return v === m;
  const [k, arg] = Object.entries(m as object)[0]!;
  switch (k) {
    case "prefix":
      if (typeof arg === "object" && arg && "equals-ignore-case" in arg) {
        return (
          typeof v === "string" &&
          v
            .toLowerCase()
            .startsWith(
              String((arg as Record<string, unknown>)["equals-ignore-case"]).toLowerCase(),
            )
        );
      }
      return typeof v === "string" && v.startsWith(String(arg));
    case "suffix":
      if (typeof arg === "object" && arg && "equals-ignore-case" in arg) {
        return (
          typeof v === "string" &&
          v
            .toLowerCase()
            .endsWith(String((arg as Record<string, unknown>)["equals-ignore-case"]).toLowerCase())
        );
      }
      return typeof v === "string" && v.endsWith(String(arg));
    case "equals-ignore-case":
      return typeof v === "string" && v.toLowerCase() === String(arg).toLowerCase();
    case "wildcard":
      return typeof v === "string" && wildcard(v, String(arg));
    case "numeric":
      return numeric(v, arg as unknown[]);
    case "anything-but": {
      if (Array.isArray(arg)) return !arg.some((a) => a === v);
      if (arg !== null && typeof arg === "object") return !matchOne(v, arg);
      return v !== arg;
    }
  }
  return false;
}

/** True when `event` matches `pattern`. */
export function matchesPattern(pattern: Pattern, event: unknown): boolean {
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === "$or") {
      if (!(spec as Pattern[]).some((p) => matchesPattern(p, event))) return false;
      continue;
    }
    const { present, values } = valuesAt(event, key);
    if (Array.isArray(spec)) {
      const existsRule = spec.find(
        (m) => m !== null && typeof m === "object" && "exists" in (m as object),
      ) as { exists: boolean } | undefined;
      if (existsRule) {
        const exists = present && values.some((v) => v === null || typeof v !== "object");
        if (exists !== existsRule.exists) return false;
        continue;
      }
      if (!present) {
        // anything-but never matches a missing field either, as in EventBridge
        return false;
      }
      if (!values.some((v) => spec.some((m) => matchOne(v, m)))) return false;
    } else {
      if (!present) return false;
      const obj = (event as Record<string, unknown>)[key];
      if (!matchesPattern(spec as Pattern, obj)) return false;
    }
  }
  return true;
}
