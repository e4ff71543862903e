// How deep a parsed JSON value nests arrays and objects, counted without recursion: a request
// body nested thousands deep would overflow the stack of whatever walks it recursively later
// (JSON.stringify, for one).

/** The deepest nesting of arrays and objects in `value` (0 for a scalar); stops past `limit`. */
export function jsonNestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.value === null || typeof next.value !== "object") continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}
