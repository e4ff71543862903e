// The invocations that write to an export path (copy batches, the markers step, a plan call
// retracting markers) or its status path (manifest groups, per commit: a later export of the
// same commit rewrites them), as records in the export's work directory. Step Functions retries
// a Lambda task after a service error (a dropped connection, Lambda.ServiceException) while the
// first invocation may still run: a batch can report from one attempt while another is still copying. Its copies are of the same
// commit, harmless until a later export writes the path; so the export's end waits for them.
//
// Each writer records `<id>.started` before it writes anything, then reads the export's
// `closed` record: present, the export has ended and the writer stops without writing. The
// status step writes `closed`, then lists the records: a `started` without its `ended` is a
// writer still running (or one that died: it cannot outlive its timeout). With S3's
// read-after-write consistency one of the two always sees the other.
import { EXPORT_WORKER_TIMEOUT_MINUTES } from "./settling";

export type WriterKind = "copy" | "markers" | "manifest" | "plan";

/** Added to the timeout: the invocation's start latency and clock skew. */
const WRITER_MARGIN_MS = 60_000;

const STARTED = ".started";
const ENDED = ".ended";

/** A writer's id: its start time first (the listing says when it started), then its kind. */
export function writerIdOf(kind: WriterKind, startedAt: Date, unique: string): string {
  if (!/^[A-Za-z0-9]{1,40}$/.test(unique)) {
    throw new RangeError(`writer id: ${JSON.stringify(unique)} must be 1-40 of [A-Za-z0-9]`);
  }
  return `${startedAt.getTime().toString().padStart(15, "0")}-${kind}-${unique}`;
}

export function writerStartedKey(writersPrefix: string, id: string): string {
  return `${writersPrefix}${id}${STARTED}`;
}

export function writerEndedKey(writersPrefix: string, id: string): string {
  return `${writersPrefix}${id}${ENDED}`;
}

/** Until when a writer that started at `startedAtMs` may still write (its function's timeout). */
export function writerDeadline(startedAtMs: number): number {
  return startedAtMs + EXPORT_WORKER_TIMEOUT_MINUTES * 60_000 + WRITER_MARGIN_MS;
}

export interface WritersInFlight {
  /** Writers started and not ended, whose deadline is still ahead. */
  running: number;
  /** The latest of their deadlines (ISO-8601); absent when none is running. */
  until?: string;
}

/**
 * The writers still running at `now`, from the record keys under `writersPrefix` in S3 order
 * (an id's `.ended` sorts right before its `.started`): one pass, constant memory.
 */
export async function writersInFlight(
  keys: AsyncIterable<string>,
  writersPrefix: string,
  now: Date,
): Promise<WritersInFlight> {
  let running = 0;
  let latest: number | undefined;
  let endedId: string | undefined;
  for await (const key of keys) {
    if (!key.startsWith(writersPrefix)) continue;
    const name = key.slice(writersPrefix.length);
    if (name.endsWith(ENDED)) {
      endedId = name.slice(0, -ENDED.length);
      continue;
    }
    if (!name.endsWith(STARTED)) continue;
    const id = name.slice(0, -STARTED.length);
    if (id === endedId) continue;
    const startedAtMs = Number(/^(\d{15})-/.exec(id)?.[1]);
    // A record this code did not write: assume it started now (it waits the longest).
    const deadline = writerDeadline(Number.isFinite(startedAtMs) ? startedAtMs : now.getTime());
    if (deadline <= now.getTime()) continue;
    running++;
    latest = latest === undefined ? deadline : Math.max(latest, deadline);
  }
  return latest === undefined ? { running } : { running, until: new Date(latest).toISOString() };
}
