// The clock scheduled things run on in the embedded environment: EventBridge schedule rules and
// EventBridge Scheduler schedules. `npm run local` uses the system clock; tests use a TestClock
// and advance it, so a schedule for 03:00 fires without waiting until 03:00.

export interface Clock {
  /** Milliseconds since the epoch on this clock. */
  now(): number;
  /** Runs `fn` once this clock reaches `atMs`; returns a function cancelling it. */
  at(atMs: number, fn: () => void): () => void;
}

// setTimeout takes at most 2^31-1 ms (about 24.8 days): longer waits are chained.
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The machine's clock (Date.now and timers that do not keep the process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  at(atMs, fn) {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const wait = atMs - Date.now();
      if (wait <= 0) {
        timer = undefined;
        fn();
        return;
      }
      timer = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
      timer.unref();
    };
    timer = setTimeout(arm, Math.max(0, Math.min(atMs - Date.now(), MAX_TIMEOUT_MS)));
    timer.unref();
    return () => {
      if (timer) clearTimeout(timer);
    };
  },
};

interface Pending {
  atMs: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told to (tests): timers due on the way fire in time order. */
export class TestClock implements Clock {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start: Date | number) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  at(atMs: number, fn: () => void): () => void {
    const p = { atMs, seq: this.seq++, fn };
    this.pending.push(p);
    return () => {
      this.pending = this.pending.filter((x) => x !== p);
    };
  }

  /** When the next timer is due, if any. */
  nextTimerAt(): number | undefined {
    return this.pending.reduce<number | undefined>(
      (min, p) => (min === undefined || p.atMs < min ? p.atMs : min),
      undefined,
    );
  }

  /**
   * Moves the clock forward by `ms`, firing every timer due on the way at its own time (a
   * timer armed by a fired one fires too when due); yields to pending I/O between timers.
   */
  async advance(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    await this.advanceTo(this.current + ms);
  }

  /** Moves the clock forward to `to` (never back), firing the timers due on the way. */
  async advanceTo(to: Date | number): Promise<void> {
    const target = typeof to === "number" ? to : to.getTime();
    if (target < this.current) {
      throw new RangeError(`the test clock only moves forward (now ${this.current}, to ${target})`);
    }
    for (;;) {
      const due = this.pending
        .filter((p) => p.atMs <= target)
        .sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.current = Math.max(this.current, due.atMs);
      due.fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.current = target;
  }
}
