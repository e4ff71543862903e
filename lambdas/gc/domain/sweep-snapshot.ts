// The repository as a sweep last checked it, passed from the revalidation step to the sweep
// map's children through the work bucket: the refs seen, the commits whose addresses are
// accounted for (active at the mark, or revalidated since), and what retention uses.
import { z } from "zod";
import { GcRulesSchema } from "./rules";
import { ShardFormatError } from "./shards";

const RefSchema = z.strictObject({ id: z.string().min(1), commit_id: z.string().min(1) });

export const SweepSnapshotSchema = z.strictObject({
  refs: z.strictObject({ branches: z.array(RefSchema), tags: z.array(RefSchema) }),
  /** Commits none of whose addresses are left in the sweep's candidates. */
  covered: z.array(z.string().min(1)),
  /** Hash partitions of the mark: its part n holds the keys of partition n. */
  partitions: z.number().int().min(1),
  /** Epoch seconds: the mark's "now", and the rules retention is revalidated with. */
  markNow: z.number().int(),
  rules: GcRulesSchema,
  checkedAt: z.iso.datetime(),
  /**
   * The catch-up round that wrote this snapshot (0: the revalidation step). A round run again
   * (the state machine retries a Lambda that died) finds its own snapshot already written.
   */
  round: z.number().int().min(0).optional(),
  /**
   * Storage namespaces of other repositories inside this one, as key prefixes ending in "/":
   * their objects are never swept, even when an expired commit of this repository links one.
   */
  foreignPrefixes: z.array(z.string().min(1)).optional(),
  /**
   * The work items listed for this snapshot's commits and its commit graph, written by the
   * attempt that wrote it (absent: the run's fixed keys, as before attempts had their own).
   */
  itemsKey: z.string().min(1).optional(),
  graphKey: z.string().min(1).optional(),
  /** Commits revalidation found newly active so far (the run's `revalidated_commits`). */
  revalidatedCommits: z.number().int().min(0).optional(),
});

export type SweepSnapshot = z.infer<typeof SweepSnapshotSchema>;

export function encodeSweepSnapshot(snapshot: SweepSnapshot): string {
  return JSON.stringify(SweepSnapshotSchema.parse(snapshot));
}

export function decodeSweepSnapshot(text: string): SweepSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ShardFormatError("sweep snapshot: not JSON");
  }
  const parsed = SweepSnapshotSchema.safeParse(value);
  if (!parsed.success) throw new ShardFormatError(`sweep snapshot: ${parsed.error.message}`);
  return parsed.data;
}
