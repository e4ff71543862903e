// Numbers in a request body that JSON.parse cannot carry as written: `1e-400` reads as 0 (a
// retention of `1e-400` days would become 0 and GC would expire every commit but the heads),
// `9007199254740993` and `2.0000000000000001` as their neighbours. The body is refused instead,
// naming the field. A double holds every decimal of up to 15 significant digits exactly enough
// to give it back; longer ones are refused whatever they round to.

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

/** The first number of `text` (valid JSON) that does not stand for itself; undefined if none. */
export function firstInexactNumber(text: string): InexactNumber | undefined {
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
  const value = (path: string): InexactNumber | undefined => {
    skipSpace();
    const c = text[at];
    if (c === "{" || c === "[") {
      const object = c === "{";
      at++;
      for (let i = 0; ; i++) {
        skipSpace();
        if (text[at] === (object ? "}" : "]")) break;
        let inner = `${path}[${i}]`;
        if (object) {
          const key = JSON.parse(match(STRING)) as string;
          inner = path === "" ? key : `${path}.${key}`;
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
