// Schedule expressions of EventBridge rules (`rate(...)`, `cron(...)`, UTC) and of EventBridge
// Scheduler schedules (the same plus one-time `at(...)`, in a time zone). AWS's cron has six
// fields (minutes hours day-of-month month day-of-week year), `?` in one of the two day
// fields, L, W and #, and Sunday = 1: aws-cron-parser reads it; the checks AWS makes on top
// (six fields, exactly one `?` day field, the characters each field allows) are made here.
import awsCronParser from "aws-cron-parser";

export class ScheduleError extends Error {
  override readonly name = "ScheduleError";
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

export type Schedule =
  | { kind: "rate"; expression: string; intervalMs: number }
  | { kind: "cron"; expression: string; cron: ParsedCron }
  /** `at`: the wall-clock time, written as if it were UTC (ms). */
  | { kind: "at"; expression: string; wallMs: number };

/** The interval of a rate expression, in milliseconds, with EventBridge's own checks. */
export function rateIntervalMs(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) {
    throw new ScheduleError(
      `${expression}: not a rate expression like rate(5 minutes) or rate(1 day)`,
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

// What each of AWS's six cron fields may hold (checked before aws-cron-parser checks ranges).
const NAMES = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT";
const CRON_FIELDS: { name: string; allowed: RegExp }[] = [
  { name: "minutes", allowed: /^[\d,\-*/]+$/ },
  { name: "hours", allowed: /^[\d,\-*/]+$/ },
  { name: "day-of-month", allowed: /^(\?|[\d,\-*/]+|L(-\d+)?|\d+W|LW)$/ },
  { name: "month", allowed: new RegExp(`^((${NAMES})|[\\d,\\-*/])+$`) },
  {
    name: "day-of-week",
    allowed: new RegExp(`^(\\?|((${NAMES})|[\\d,\\-*/])+|[1-7]L|[1-7]#[1-5])$`),
  },
  { name: "year", allowed: /^[\d,\-*/]+$/ },
];

/** Reads `cron(...)`, `rate(...)` and (when `allowAt`, Scheduler only) `at(...)`. */
export function parseSchedule(expression: string, opts: { allowAt?: boolean } = {}): Schedule {
  if (expression.startsWith("rate(")) {
    return { kind: "rate", expression, intervalMs: rateIntervalMs(expression) };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return { kind: "cron", expression, cron: parseCron(expression, cron[1]!) };
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at && opts.allowAt) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number) as number[];
    const wallMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    const back = new Date(wallMs);
    if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d! || h! > 23 || mi! > 59) {
      throw new ScheduleError(`${expression}: not a valid date and time`);
    }
    return { kind: "at", expression, wallMs };
  }
  throw new ScheduleError(
    `${expression}: not a schedule expression (rate(5 minutes), cron(0 3 ? * SUN *)${
      opts.allowAt ? ", at(2026-12-24T03:00:00)" : ""
    })`,
  );
}

type ParsedCron = ReturnType<typeof awsCronParser.parse>;

function parseCron(expression: string, body: string): ParsedCron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleError(
      `${expression}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  fields.forEach((f, i) => {
    const { name, allowed } = CRON_FIELDS[i]!;
    if (!allowed.test(f.toUpperCase())) {
      throw new ScheduleError(`${expression}: "${f}" is not a valid ${name} field`);
    }
  });
  if ((fields[2] === "?") === (fields[4] === "?")) {
    throw new ScheduleError(
      `${expression}: one of day-of-month and day-of-week must be "?" (and only one)`,
    );
  }
  try {
    return awsCronParser.parse(fields.join(" ").toUpperCase());
  } catch (err) {
    throw new ScheduleError(`${expression}: ${(err as Error).message}`);
  }
}

/** Checks a time zone name (IANA, e.g. Europe/Zurich). */
export function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new ScheduleError(`${timeZone}: not a time zone name (IANA, e.g. Europe/Zurich)`);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of `instantMs` in `timeZone`, written as if it were UTC. */
function wallOf(instantMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(
    f.formatToParts(new Date(instantMs)).map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const seconds = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return seconds + (((instantMs % 1000) + 1000) % 1000);
}

/** The instant a wall-clock time of `timeZone` names (its first one when clocks go back). */
function instantOf(wallMs: number, timeZone: string): number {
  let guess = wallMs - (wallOf(wallMs, timeZone) - wallMs);
  guess = wallMs - (wallOf(guess, timeZone) - guess);
  const earlier = guess - 3_600_000;
  return wallOf(earlier, timeZone) === wallMs ? earlier : guess;
}

/**
 * The first time after `afterMs` the schedule fires: cron and at in `timeZone` (UTC for
 * rules), rate every interval from `anchorMs` (when the rule or schedule was created).
 * undefined when it never fires again.
 */
export function nextFireTime(
  schedule: Schedule,
  afterMs: number,
  opts: { timeZone?: string; anchorMs?: number } = {},
): number | undefined {
  const timeZone = opts.timeZone ?? "UTC";
  switch (schedule.kind) {
    case "rate": {
      const anchor = opts.anchorMs ?? afterMs;
      const periods = Math.floor((afterMs - anchor) / schedule.intervalMs) + 1;
      return anchor + Math.max(1, periods) * schedule.intervalMs;
    }
    case "at": {
      const at = instantOf(schedule.wallMs, timeZone);
      return at > afterMs ? at : undefined;
    }
    case "cron": {
      let from = wallOf(afterMs, timeZone);
      for (let i = 0; i < 4; i++) {
        const wall = awsCronParser.next(schedule.cron, new Date(from));
        if (!wall) return undefined;
        const at = instantOf(wall.getTime(), timeZone);
        // A wall time repeated when clocks go back may map before afterMs: take the next one.
        if (at > afterMs) return at;
        from = wall.getTime();
      }
      return undefined;
    }
  }
}
