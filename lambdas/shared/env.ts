// A function's settings from its environment (set by the CDK constructs). A missing or
// malformed one fails at once, naming the variable.

export type Env = Record<string, string | undefined>;

export function required(name: string, env: Env = process.env): string {
  const v = env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

/** A whole number of at least `min` (1 unless given); undefined when unset or empty. */
export function optionalInteger(
  name: string,
  opts: { min?: number; unit?: string } = {},
  env: Env = process.env,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const min = opts.min ?? 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    const what = opts.unit
      ? `a whole number of ${opts.unit} >= ${min}`
      : min === 1
        ? "a positive integer"
        : `an integer >= ${min}`;
    throw new Error(`environment variable ${name}: expected ${what}, got ${raw}`);
  }
  return n;
}

/** A whole number of seconds, 0 or more, else `fallback` when unset or empty. */
export function secondsOr(name: string, fallback: number, env: Env = process.env): number {
  return optionalInteger(name, { min: 0, unit: "seconds" }, env) ?? fallback;
}
