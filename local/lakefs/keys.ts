// Key order of the development server, as in lakeFS: graveler keys are bytes, compared with
// bytes.Compare, so paths sort in the byte order of their UTF-8 encoding, which is Unicode code
// point order. JavaScript's `<` compares UTF-16 code units and disagrees for characters above
// U+FFFF (surrogate pairs, e.g. emoji) against characters U+E000-U+FFFF: lakeFS lists
// "a/\uFFFD" before "a/\u{1F600}", `<` the other way round.

/** Negative, zero or positive as `a` sorts before, with or after `b` (code point order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  return rank(a.charCodeAt(i)) - rank(b.charCodeAt(i));
}

/** A UTF-16 unit's place in code point order: surrogates after every other unit. */
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** `a` sorts before `b`. */
export function keyLess(a: string, b: string): boolean {
  return compareKeys(a, b) < 0;
}

/**
 * The smallest string sorting after every string that starts with `prefix` (non-empty): its
 * last code point incremented (past the surrogate range), or, for U+10FFFF, the end of the
 * prefix before it.
 */
export function prefixEnd(prefix: string): string {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join("") + String.fromCodePoint(next);
    }
  }
  // Only U+10FFFF: nothing sorts after all its extensions; a string no key reaches.
  return "\u{10FFFF}".repeat(prefix.length + 1);
}
