// The machine a benchmark ran on, recorded next to its figures.
import os from "node:os";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** Node's flags for the run (command line and NODE_OPTIONS) when any were given: every
   * isolate of the process shares them, the ceiling loop's and the local Lambdas' alike. */
  nodeFlags?: string[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    ...nodeFlagsOf(process.execArgv, process.env.NODE_OPTIONS),
  };
}

/** The flags that change how node runs; tsx's loader (`--require`/`--import` of tsx) is left out. */
export function nodeFlagsOf(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): { nodeFlags?: string[] } {
  const flags: string[] = [];
  const all = [...execArgv, ...(nodeOptions ?? "").split(/\s+/).filter(Boolean)];
  for (let i = 0; i < all.length; i++) {
    const f = all[i]!;
    if ((f === "--require" || f === "--import" || f === "-r") && /tsx/.test(all[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (/^--(require|import|loader)=.*tsx/.test(f)) continue;
    flags.push(f);
  }
  return flags.length ? { nodeFlags: flags } : {};
}
