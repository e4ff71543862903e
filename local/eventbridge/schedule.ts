// EventBridge schedule expressions for rules. `rate(value unit)` is run locally; `cron(...)`
// is refused when the rule is added (reported as not supported, never silently ignored).

export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** The interval of a rate expression, in milliseconds, with EventBridge's own checks. */
export function rateIntervalMs(expression: string): number {
  if (/^cron\(/.test(expression)) {
    throw new ScheduleError(`${expression}: cron schedules are not run locally (rate() only)`);
  }
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) {
    throw new ScheduleError(
      `${expression}: not a schedule expression like rate(5 minutes) or rate(1 day)`,
    );
  }
  const value = Number(m[1]);
  const unit = m[2]!;
  if (value < 1) throw new ScheduleError(`${expression}: the value must be a positive integer`);
  // EventBridge wants the singular for 1 and the plural otherwise.
  if ((value === 1) !== !unit.endsWith("s")) {
    throw new ScheduleError(
      `${expression}: use "${value === 1 ? unit.replace(/s$/, "") : `${unit}s`}" with ${value}`,
    );
  }
  return value * UNIT_MS[unit.replace(/s$/, "") as keyof typeof UNIT_MS];
}
