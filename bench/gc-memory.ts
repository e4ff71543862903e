// What the GC Lambdas hold in memory at their design bounds, measured: the commits step's
// commit graph, retention and address plan at 100 000 commits; one mark pass at 2 million keys
// (the partition size the mark Lambda is sized for); the sweep's revived keys of a partition
// at the same bound. Run in a child process with --expose-gc, so heap figures are after a
// full collection, not whatever garbage happens to be around.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface GcMemoryFigure {
  what: string;
  items: number;
  /** Heap held by the structure after a full GC (MiB). */
  heldMiB: number;
  /** Largest heap seen while building and using it (MiB, above the baseline). */
  peakMiB: number;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "gc-memory-worker.ts");

export function measureGcMemory(): GcMemoryFigure[] {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", WORKER],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as GcMemoryFigure[];
}
