// Child process of gc-memory.ts (needs --expose-gc): builds each structure the GC steps hold,
// samples the heap while doing it, and prints the figures as one JSON line.
import { planAddressCollection } from "../lambdas/gc/domain/address-plan";
import { CommitGraph } from "../lambdas/gc/domain/commit-graph";
import { markPartition } from "../lambdas/gc/domain/mark";
import { computeRetention, startingPoints } from "../lambdas/gc/domain/retention";
import { encodeCommitGraph, encodeWorkItems } from "../lambdas/gc/domain/shards";
import type { GcMemoryFigure } from "./gc-memory";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
const MiB = 1024 * 1024;
const heap = () => process.memoryUsage().heapUsed;

async function measure(
  what: string,
  items: number,
  build: (sample: () => void) => Promise<unknown>,
): Promise<GcMemoryFigure> {
  gc!();
  const base = heap();
  let peak = base;
  const sample = () => {
    peak = Math.max(peak, heap());
  };
  const held = await build(sample);
  sample();
  gc!();
  const after = heap();
  // Keep `held` alive until measured.
  if (held === undefined) throw new Error("nothing built");
  return { what, items, heldMiB: (after - base) / MiB, peakMiB: (peak - base) / MiB };
}

const NOW = 1_800_000_000;
const key = (i: number) =>
  `data/gen${(i % 97).toString().padStart(2, "0")}/${i.toString(36).padStart(10, "0")}-${(i * 2654435761) % 1e9}`;

const figures: GcMemoryFigure[] = [];

// Commits step: 100 000 commits on a main line with 100 merged branches, retention, the plan,
// and the two files it writes (the graph and the work items).
figures.push(
  await measure("commits step: graph, retention, plan, files", 100_000, async (sample) => {
    const g = new CommitGraph();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const id = `${i.toString(16).padStart(16, "0")}${"a".repeat(48)}`;
      const prev = i === 0 ? [] : [`${(i - 1).toString(16).padStart(16, "0")}${"a".repeat(48)}`];
      g.add({ id, parents: prev, creation_date: NOW - (n - i) * 600 });
      if (i % 10_000 === 0) sample();
    }
    const head = `${(n - 1).toString(16).padStart(16, "0")}${"a".repeat(48)}`;
    const rules = { default_retention_days: 30, branches: [] };
    const retention = computeRetention(
      g,
      startingPoints(rules, [{ id: "main", commit_id: head }]),
      NOW,
    );
    sample();
    const items = planAddressCollection(g, retention, ["main"]);
    sample();
    const files = [encodeCommitGraph(g), encodeWorkItems(items)];
    sample();
    return { g, retention, items, files };
  }),
);

// Mark: one pass over a partition at its design size (2 000 000 keys: half protected, half
// expired, a quarter of those also protected).
figures.push(
  await measure("mark step: one pass, Set of a partition's keys", 2_000_000, async (sample) => {
    const n = 1_000_000;
    function* protectedKeys() {
      for (let i = 0; i < n; i++) {
        if (i % 100_000 === 0) sample();
        yield key(i);
      }
    }
    function* expiredKeys() {
      for (let i = n * 0.75; i < n * 1.75; i++) {
        if (i % 100_000 === 0) sample();
        yield key(i);
      }
    }
    const marked: string[] = [];
    for await (const k of markPartition(protectedKeys(), expiredKeys())) marked.push(k);
    marked.sort();
    sample();
    return marked;
  }),
);

// Sweep: the revived keys of a partition held while its marked list streams by.
figures.push(
  await measure("sweep step: revived keys of a partition", 2_000_000, async (sample) => {
    const spared = new Set<string>();
    for (let i = 0; i < 2_000_000; i++) {
      spared.add(key(i));
      if (i % 100_000 === 0) sample();
    }
    return spared;
  }),
);

process.stdout.write(`${JSON.stringify(figures)}\n`);
