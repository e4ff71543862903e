// Numbers in a request body that JSON.parse cannot carry as written: `1e-400` reads as 0 (a
// retention of `1e-400` days would become 0 and GC would expire every commit but the heads),
// `9007199254740993` and `2.0000000000000001` as their neighbours. The body is refused instead,
// naming the field. A double holds every decimal of up to 15 significant digits exactly enough
// to give it back; longer ones are refused whatever they round to. A field an object gives
// twice is refused too: JSON.parse keeps the last, and which one was meant is not known.

/** The largest count of significant digits taken. */
export const MAX_SIGNIFICANT_DIGITS = 15;

export interface InexactNumber {
  /** Where it is, as `a.b[2].c` (`(body)` for the body itself). */
  path: string;
  literal: string;
  reason: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;

/** A field an object of the body gives more than once. */
export interface RepeatedField {
  /** Where it is, as `a.b[2].c`. */
  path: string;
  repeated: true;
}

/** The first number of `text` (valid JSON) that does not stand for itself; undefined if none. */
export function firstInexactNumber(text: string): InexactNumber | undefined {
  return scan(text, false) as InexactNumber | undefined;
}

/**
 * What `text` (valid JSON) says that JSON.parse does not give back, as an error message naming
 * the field: the first number that does not stand for itself or field given twice.
 */
export function jsonTextProblem(text: string): string | undefined {
  const found = scan(text, true);
  if (!found) return undefined;
  if ("repeated" in found) return `${found.path}: must be given once (the body repeats it)`;
  return `${found.path}: the number ${found.literal} ${found.reason}`;
}

function scan(text: string, repeats: boolean): InexactNumber | RepeatedField | undefined {
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && " \t\n\r".includes(text[at]!)) at++;
  };
  const match = (re: RegExp): string => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new SyntaxError(`not JSON at ${at}`);
    at += m[0].length;
    return m[0];
  };
  // Depth is bounded by the caller's nesting check.
  const value = (path: string): InexactNumber | RepeatedField | undefined => {
    skipSpace();
    const c = text[at];
    if (c === "{" || c === "[") {
      const object = c === "{";
      const keys = new Set<string>();
      at++;
      for (let i = 0; ; i++) {
        skipSpace();
        if (text[at] === (object ? "}" : "]")) break;
        let inner = `${path}[${i}]`;
        if (object) {
          const key = JSON.parse(match(STRING)) as string;
          inner = path === "" ? key : `${path}.${key}`;
          if (repeats && keys.has(key)) return { path: inner, repeated: true };
          keys.add(key);
          skipSpace();
          at++; // ':'
        }
        const found = value(inner);
        if (found) return found;
        skipSpace();
        if (text[at] === ",") at++;
      }
      at++;
      return undefined;
    }
    if (c === '"') {
      match(STRING);
      return undefined;
    }
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) {
      const literal = match(NUMBER);
      const reason = inexactReason(literal);
      return reason ? { path: path === "" ? "(body)" : path, literal, reason } : undefined;
    }
    at += text.startsWith("true", at) ? 4 : text.startsWith("false", at) ? 5 : 4; // null
    return undefined;
  };
  return value("");
}

/** Why `literal` (a JSON number) does not read as itself; undefined when it does. */
export function inexactReason(literal: string): string | undefined {
  const [mantissa = ""] = literal.replace(/^-/, "").split(/[eE]/);
  const digits = mantissa.replace(".", "").replace(/^0+/, "");
  const significant = digits.replace(/0+$/, "");
  if (significant.length === 0) return undefined; // a zero
  const value = Number(literal);
  if (value === 0) return "is too small for a number and would read as 0";
  if (!Number.isFinite(value)) return "is too large for a number";
  if (significant.length > MAX_SIGNIFICANT_DIGITS) {
    return `has more than ${MAX_SIGNIFICANT_DIGITS} significant digits and would read as ${value}`;
  }
  return undefined;
}
