// README Limits ("a mark partition is sized from a guess"): the commits step chooses the mark's
// partition count before anything is listed, counting every full listing as 1 million
// addresses, whatever its commit holds. The figures of the README entry follow from it.
import { expect, it } from "vitest";
import { estimateAddresses } from "../../lambdas/gc/app/commits";
import { planAddressCollection, planCounts } from "../../lambdas/gc/domain/address-plan";
import { CommitGraph } from "../../lambdas/gc/domain/commit-graph";
import { choosePartitionCount, choosePassCount } from "../../lambdas/gc/domain/partition";

it("a branch of 100 million objects with 50 kept commits gets 26 partitions of some 196 million keys each, 99 mark passes in one invocation", () => {
  // 50 kept commits listed in full, the branch listed with its staged entries.
  const planned = estimateAddresses({ active_list: 50, active_staged: 1 });
  expect(planned).toBe(51_000_000);
  const partitions = choosePartitionCount(planned);
  expect(partitions).toBe(26);
  // What the listings write: every object once per listing.
  const written = 51 * 100_000_000;
  const perPartition = Math.ceil(written / partitions);
  expect(perPartition).toBeGreaterThan(196_000_000);
  expect(choosePassCount(perPartition)).toBe(99);
});

it("one kept commit of 100 million objects and its branch: one partition, 100 passes", () => {
  const partitions = choosePartitionCount(estimateAddresses({ active_list: 1, active_staged: 1 }));
  expect(partitions).toBe(1);
  expect(choosePassCount(2 * 100_000_000)).toBe(100);
});

it("every branch is a full listing of its own, however little it changed: 10 000 branches plan 10 000 listings", () => {
  const branches = Array.from({ length: 10_000 }, (_, i) => `b${i}`);
  const items = planAddressCollection(
    new CommitGraph(),
    { active: new Set(), expired: new Set() },
    branches,
  );
  expect(items).toHaveLength(10_000);
  expect(items.every((i) => i.kind === "staged" && i.whole === true)).toBe(true);
  const counts = planCounts(items);
  expect(counts).toEqual({ active_staged: 10_000 });
  // Planned as 10 billion addresses in 5 000 partitions; 100 million objects a branch write
  // 10^12 keys, some 200 million a partition.
  expect(choosePartitionCount(estimateAddresses(counts))).toBe(5_000);
});
