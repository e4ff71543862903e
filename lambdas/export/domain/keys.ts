// Key order of lakeFS listings and diffs: byte order of the UTF-8 encoding, which is Unicode
// code point order. JavaScript's `<` compares UTF-16 code units and disagrees for characters
// above U+FFFF, so merge-joins against lakeFS streams use this comparison.

export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF: they sort after every
    // other UTF-16 unit, whose code points are at most 0xFFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * A string that sorts just before `key` (in code point order) such that no realistic key lies
 * between the two: lakeFS's `after` is exclusive, so listing `after: keyBefore(k)` starts at
 * `k`. The last code point is decremented and followed by U+10FFFF (the largest code point,
 * and in UTF-8 the largest valid byte sequence) repeated.
 */
export function keyBefore(key: string): string {
  if (key === "") return "";
  const cps = Array.from(key);
  const last = cps.pop()!.codePointAt(0)!;
  const stem = cps.join("");
  if (last === 0) return stem;
  let prev = last - 1;
  if (prev >= 0xd800 && prev <= 0xdfff) prev = 0xd7ff; // skip the surrogate range
  return stem + String.fromCodePoint(prev) + "\u{10FFFF}".repeat(8);
}
