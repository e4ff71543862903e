// Bounded fan-out for Map and Parallel iterations and distributed map children.

/** Runs `fn` over `xs` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  xs: T[],
  limit: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < xs.length && failure === undefined) {
      const i = next++;
      try {
        out[i] = await fn(xs[i]!, i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), xs.length) }, worker));
  if (failure !== undefined) throw failure;
  return out;
}
