// How fast the machine is at a given minute. This VM's throughput drifts by a tenth or more
// within minutes, and not through steal time: the same loop's CPU time per copy moves with it
// (the hardware under the VM is shared). A small process doing the same work over and over
// (bench/speed-probe-worker.mjs, about 5 % of a core) reports its own CPU time per item; over
// fourteen ceiling samples its readings followed the loop's rate (correlation 0.96 in a drifting
// hour), and scaling each sample by them left a third of the spread. The bench compares an
// export with the ceilings around it at the machine speed of the export's own minutes.
import { type ChildProcess, spawn } from "node:child_process";

export interface ProbeReading {
  atMs: number;
  items: number;
  cpuMicros: number;
}

/** One "<epoch ms> <items> <CPU µs>" line; undefined for anything else. */
export function parseProbeLine(line: string): ProbeReading | undefined {
  const parts = line.trim().split(" ");
  if (parts.length !== 3) return undefined;
  const [atMs, items, cpuMicros] = parts.map(Number) as [number, number, number];
  if (![atMs, items, cpuMicros].every(Number.isFinite)) return undefined;
  return { atMs, items, cpuMicros };
}

function interpolate(readings: ProbeReading[], atMs: number): ProbeReading | undefined {
  const after = readings.findIndex((r) => r.atMs >= atMs);
  if (after <= 0) return after === 0 && readings[0]?.atMs === atMs ? readings[0] : undefined;
  const a = readings[after - 1] as ProbeReading;
  const b = readings[after] as ProbeReading;
  const f = (atMs - a.atMs) / (b.atMs - a.atMs);
  return {
    atMs,
    items: a.items + f * (b.items - a.items),
    cpuMicros: a.cpuMicros + f * (b.cpuMicros - a.cpuMicros),
  };
}

/**
 * The probe's CPU nanoseconds per item between two moments (its counters interpolated between
 * readings, which are in time order); undefined when the readings do not cover both moments or
 * the probe did no work in between.
 */
export function nanosPerItemBetween(
  readings: ProbeReading[],
  fromMs: number,
  toMs: number,
): number | undefined {
  if (!(toMs > fromMs)) return undefined;
  const a = interpolate(readings, fromMs);
  const b = interpolate(readings, toMs);
  if (!a || !b || b.items - a.items < 1) return undefined;
  return ((b.cpuMicros - a.cpuMicros) * 1000) / (b.items - a.items);
}

export interface SpeedProbe {
  /** Waits (up to 3 s) for a reading past `toMs`, then nanosPerItemBetween. */
  nanosPerItem(fromMs: number, toMs: number): Promise<number | undefined>;
  stop(): void;
}

export function startSpeedProbe(): SpeedProbe {
  const readings: ProbeReading[] = [];
  const child: ChildProcess = spawn(
    process.execPath,
    [new URL("./speed-probe-worker.mjs", import.meta.url).pathname],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let rest = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const r = parseProbeLine(line);
      if (r) readings.push(r);
    }
  });
  return {
    async nanosPerItem(fromMs, toMs) {
      const deadline = Date.now() + 3000;
      while (
        (readings.at(-1)?.atMs ?? 0) < toMs &&
        Date.now() < deadline &&
        child.exitCode === null
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      return nanosPerItemBetween(readings, fromMs, toMs);
    },
    stop() {
      child.kill();
    },
  };
}
