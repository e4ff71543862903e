// Bounded concurrency over (async) iterables. Items are pulled lazily, so a stream of any
// length is processed with at most `limit` items in memory and in flight.

export type Source<T> = Iterable<T> | AsyncIterable<T>;

function toAsyncIterator<T>(source: Source<T>): AsyncIterator<T> | Iterator<T> {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  return (source as Iterable<T>)[Symbol.iterator]();
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`concurrency limit: expected an integer >= 1, got ${limit}`);
  }
}

/**
 * Calls `fn` for every item with at most `limit` calls in flight. After the first error no
 * new item is started; the calls in flight are awaited, then that first error is thrown.
 */
export async function forEachConcurrently<T>(
  source: Source<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  checkLimit(limit);
  if (!(Symbol.asyncIterator in source)) return forEachOfIterable(source, limit, fn);
  const it = toAsyncIterator(source);
  let exhausted = false;
  let failure: { error: unknown } | undefined;
  let nextIndex = 0;
  // Pulls are serialised: an iterator's next() must not be called concurrently.
  let pullChain: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<{ item: T; index: number } | undefined> => {
    const p = pullChain.then(async () => {
      if (exhausted || failure) return undefined;
      const r = await it.next();
      if (r.done) {
        exhausted = true;
        return undefined;
      }
      return { item: r.value, index: nextIndex++ };
    });
    pullChain = p.catch(() => undefined);
    return p;
  };
  const worker = async () => {
    for (;;) {
      let next: { item: T; index: number } | undefined;
      try {
        next = await pull();
      } catch (error) {
        failure ??= { error };
        exhausted = true; // a throwing iterator is finished
        return;
      }
      if (!next) return;
      try {
        await fn(next.item, next.index);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure) {
    if (!exhausted) await it.return?.();
    throw failure.error;
  }
}

/** forEachConcurrently over an in-memory source: items are taken without a promise turn each
 * (a copy batch of small objects is CPU-bound, and every turn counts). Same contract. */
async function forEachOfIterable<T>(
  source: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const it = source[Symbol.iterator]();
  let exhausted = false;
  let failure: { error: unknown } | undefined;
  let nextIndex = 0;
  const worker = async () => {
    while (!exhausted && !failure) {
      let r: IteratorResult<T>;
      try {
        r = it.next();
      } catch (error) {
        failure ??= { error };
        exhausted = true; // a throwing iterator is finished
        return;
      }
      if (r.done) {
        exhausted = true;
        return;
      }
      try {
        await fn(r.value, nextIndex++);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure) {
    if (!exhausted) it.return?.();
    throw failure.error;
  }
}

/**
 * Maps with at most `limit` calls in flight and yields results in input order. A failed call
 * surfaces when its turn to be yielded comes; calls still in flight are then awaited.
 */
export async function* mapConcurrently<T, R>(
  source: Source<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
  checkLimit(limit);
  const it = toAsyncIterator(source);
  const window: Promise<R>[] = [];
  let exhausted = false;
  let index = 0;
  try {
    for (;;) {
      while (!exhausted && window.length < limit) {
        const r = await it.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        const p = fn(r.value, index++);
        p.catch(() => undefined); // observed when yielded
        window.push(p);
      }
      const head = window.shift();
      if (!head) return;
      yield await head;
    }
  } finally {
    await Promise.allSettled(window);
    if (!exhausted) await it.return?.();
  }
}

/** A limiter in the style of p-limit: `limit(() => task())` runs at most `n` tasks at once.
 * A finishing task hands its slot straight to the first one waiting (first come, first run). */
export function createLimiter(n: number): <R>(task: () => Promise<R>) => Promise<R> {
  checkLimit(n);
  let active = 0;
  const queue: (() => void)[] = [];
  return async <R>(task: () => Promise<R>) => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

/**
 * The items of `source`, asking for up to `ahead` more while the consumer works on the current
 * one: a paged listing fetches its next page while the last one is processed. Stopping early
 * waits for the requests already made (at most `ahead` items are fetched for nothing). The
 * source must accept next() before the previous call settles, as async generators do.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, ahead = 1): AsyncGenerator<T> {
  checkLimit(ahead);
  const it = source[Symbol.asyncIterator]();
  const pending: Promise<IteratorResult<T>>[] = [];
  let finished = false;
  try {
    for (;;) {
      // An async generator queues next() calls, so the requests run one after another, in order.
      while (pending.length <= ahead) {
        const p = it.next();
        p.catch(() => undefined); // observed when its turn comes
        pending.push(p);
      }
      const r = await (pending.shift() as Promise<IteratorResult<T>>);
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } catch (error) {
    finished = true;
    throw error;
  } finally {
    if (!finished) {
      await Promise.allSettled(pending);
      await it.return?.();
    }
  }
}

/** An async iterable whose first item can be looked at before it is iterated. */
export function peekable<T>(source: AsyncIterable<T>) {
  const it = source[Symbol.asyncIterator]();
  let head: IteratorResult<T> | undefined;
  return {
    async peek(): Promise<T | undefined> {
      head ??= await it.next();
      return head.done ? undefined : head.value;
    },
    async close(): Promise<void> {
      await it.return?.();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<T> {
      for (let n = head ?? (await it.next()); !n.done; n = await it.next()) yield n.value;
    },
  };
}
