// CPU time spent per object, from Linux's per-thread and per-machine counters. Throughput on
// this kind of VM drifts by a quarter within minutes; CPU seconds per object drift far less,
// so they tell whether the export does more work per copy than the ceiling loop or the
// machine was just slower at that moment (the steal share shows the hypervisor taking time).
import { readdirSync, readFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";

/** Linux reports these counters in USER_HZ ticks, 100 per second on every common platform. */
const TICKS_PER_SECOND = 100;

export interface MachineTicks {
  /** user + nice + system + irq + softirq, all CPUs. */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time the hypervisor ran something else while this VM wanted to run. */
  steal: number;
}

export interface CpuSnapshot {
  atMs: number;
  machine: MachineTicks;
  /** utime + stime of each thread of this process, by thread id. */
  threads: Map<string, number>;
  /** This process's id: its main thread (the embedded S3, lakeFS and state machine runner). */
  pid: string;
  /** The main thread's scheduler counters (absent where Linux keeps no schedstat). */
  mainThreadSchedule?: ThreadSchedule;
  /** Pauses of this thread's garbage collections so far, ms (collections V8 reported since the
   * first snapshot; the observer delivers them a tick late). */
  mainThreadGcMs?: number;
}

/** A thread's /proc schedstat: ns it ran on a CPU, ns it was runnable but waited for one. */
export interface ThreadSchedule {
  runNs: number;
  waitNs: number;
}

export interface CpuUse {
  seconds: number;
  /** Busy CPUs on average (the machine's, every process). */
  cores: number;
  /** Machine CPU time per object, microseconds. */
  microsPerObject: number;
  /** Of which this process's main thread (the embedded S3 server, lakeFS, the runner). */
  mainThreadMicrosPerObject: number;
  /** Of which this process's other threads (Lambda workers or the ceiling loop, GC helpers). */
  otherThreadsMicrosPerObject: number;
  /** Of those, the client threads named to cpuUse (the Lambda workers or the ceiling loop's
   * threads); the rest of the other threads are V8's and libuv's helpers. */
  clientThreadsMicrosPerObject?: number;
  helperThreadsMicrosPerObject?: number;
  /** Stolen time / (stolen + busy + idle). */
  stealShare: number;
  /**
   * Of the wall time, the share the main thread (the embedded S3 server, whose one thread
   * bounds every copy) ran on a CPU, and the share it was ready to run but waited for a CPU
   * that other threads held. Absent without Linux's schedstat.
   */
  mainThreadRunShare?: number;
  mainThreadWaitShare?: number;
  /** Of the wall time, the share the main thread was paused by its own garbage collections. */
  mainThreadGcShare?: number;
}

let gcPauseMs: number | undefined;

/** Starts summing this thread's collection pauses (once; the observer holds no event loop). */
function gcPausesSoFar(): number {
  if (gcPauseMs === undefined) {
    gcPauseMs = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcPauseMs = (gcPauseMs ?? 0) + e.duration;
    }).observe({ entryTypes: ["gc"] });
  }
  return gcPauseMs;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseProcStat(text: string): MachineTicks {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat: no aggregate cpu line");
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const n = (v: number | undefined) => (Number.isFinite(v) ? (v as number) : 0);
  return {
    busy: n(user) + n(nice) + n(system) + n(irq) + n(softirq),
    idle: n(idle) + n(iowait),
    steal: n(steal),
  };
}

/** utime + stime of a /proc/<pid>/task/<tid>/stat line (the name may hold spaces and parens). */
export function parseTaskStatTicks(text: string): number {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3 of the line, utime 14 and stime 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** /proc/<pid>/task/<tid>/schedstat: "<run ns> <runqueue wait ns> <timeslices>". */
export function parseSchedstat(text: string): ThreadSchedule {
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(run) || !Number.isFinite(wait)) {
    throw new Error(
      `schedstat: expected "<run ns> <wait ns> <slices>", got ${JSON.stringify(text)}`,
    );
  }
  return { runNs: run as number, waitNs: wait as number };
}

function mainThreadScheduleOf(pid: string): ThreadSchedule | undefined {
  try {
    return parseSchedstat(readFileSync(`/proc/self/task/${pid}/schedstat`, "utf8"));
  } catch {
    // A kernel without schedstat: the shares are left out.
    return undefined;
  }
}

/** Undefined where /proc is not there (the figures are then left out, nothing fails). */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const pid = String(process.pid);
    const threads = new Map<string, number>();
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        threads.set(tid, parseTaskStatTicks(readFileSync(`/proc/self/task/${tid}/stat`, "utf8")));
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    const schedule = mainThreadScheduleOf(pid);
    return {
      mainThreadGcMs: gcPausesSoFar(),
      atMs: Date.now(),
      machine: parseProcStat(readFileSync("/proc/stat", "utf8")),
      threads,
      pid,
      ...(schedule ? { mainThreadSchedule: schedule } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU used between two snapshots for `objects` objects. A thread that ended in between (a
 * worker thread terminated) is missing from `b`; its time still counts in the machine's.
 */
export function cpuUse(
  a: CpuSnapshot,
  b: CpuSnapshot,
  objects: number,
  clientThreads?: ReadonlySet<string>,
): CpuUse {
  const seconds = (b.atMs - a.atMs) / 1000;
  const busy = b.machine.busy - a.machine.busy;
  const steal = b.machine.steal - a.machine.steal;
  const all = busy + steal + (b.machine.idle - a.machine.idle);
  let main = 0;
  let others = 0;
  let clients = 0;
  for (const [tid, ticks] of b.threads) {
    const d = ticks - (a.threads.get(tid) ?? 0);
    if (tid === b.pid) main += d;
    else others += d;
    if (clientThreads?.has(tid)) clients += d;
  }
  const perObject = (ticks: number) =>
    objects > 0 ? (ticks / TICKS_PER_SECOND / objects) * 1e6 : 0;
  return {
    seconds,
    cores: seconds > 0 ? busy / TICKS_PER_SECOND / seconds : 0,
    microsPerObject: perObject(busy),
    mainThreadMicrosPerObject: perObject(main),
    otherThreadsMicrosPerObject: perObject(others),
    ...(clientThreads
      ? {
          clientThreadsMicrosPerObject: perObject(clients),
          helperThreadsMicrosPerObject: perObject(others - clients),
        }
      : {}),
    stealShare: all > 0 ? steal / all : 0,
    ...scheduleShares(a, b, seconds),
  };
}

function scheduleShares(a: CpuSnapshot, b: CpuSnapshot, seconds: number) {
  const from = a.mainThreadSchedule;
  const to = b.mainThreadSchedule;
  const gc =
    a.mainThreadGcMs !== undefined && b.mainThreadGcMs !== undefined && seconds > 0
      ? { mainThreadGcShare: (b.mainThreadGcMs - a.mainThreadGcMs) / (seconds * 1000) }
      : {};
  if (!from || !to || seconds <= 0) return gc;
  const wallNs = seconds * 1e9;
  return {
    ...gc,
    mainThreadRunShare: (to.runNs - from.runNs) / wallNs,
    mainThreadWaitShare: (to.waitNs - from.waitNs) / wallNs,
  };
}

/**
 * Waits until the machine is quiet: busy below `maxCores` over `settleMs` (a just-started
 * environment keeps a core busy for a while: the JVM of DynamoDB Local compiling, first
 * bundles loading). Gives up after `timeoutMs`. Returns how long it waited and the last load.
 */
export async function waitForQuietMachine(
  opts: { maxCores?: number; settleMs?: number; timeoutMs?: number } = {},
): Promise<{ waitedMs: number; cores: number | undefined }> {
  const { maxCores = 0.3, settleMs = 1000, timeoutMs = 60_000 } = opts;
  const start = Date.now();
  for (;;) {
    const a = cpuSnapshot();
    await new Promise((r) => setTimeout(r, settleMs));
    const b = cpuSnapshot();
    const cores = a && b ? cpuUse(a, b, 1).cores : undefined;
    if (cores === undefined || cores < maxCores || Date.now() - start >= timeoutMs) {
      return { waitedMs: Date.now() - start, cores };
    }
  }
}
