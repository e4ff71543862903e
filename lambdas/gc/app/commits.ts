// Step 1 of a marking run: branches and tags, their commit logs as a CommitGraph, active and
// expired commits (retention.ts), commits.csv, and the address work items (address-plan.ts)
// as JSON Lines in the work bucket for the address map's ItemReader.
import { planAddressCollection, planCounts } from "../domain/address-plan";
import { CommitGraph } from "../domain/commit-graph";
import { choosePartitionCount, MAX_ADDRESSES_PER_PARTITION } from "../domain/partition";
import { gcPaths } from "../domain/paths";
import { encodeCommitsCsv } from "../domain/reports";
import { computeRetention, startingPoints } from "../domain/retention";
import { encodeCommitGraph, encodeJsonLines, encodeWorkItems } from "../domain/shards";
import type { GcWorkflowInput } from "../domain/workflow-input";
import type { GcStepDeps } from "../ports";
import { addRefsHistory, readRefs } from "./commit-history";
import { gcWorkKeys, putInNamespace } from "./common";

export interface CommitsStepOptions {
  /** Addresses a mark partition is sized for (tests use small numbers to get many partitions). */
  addressesPerPartition?: number;
}

export interface CommitsStepResult {
  itemsKey: string;
  partitionsKey: string;
  partitions: number;
  workItems: number;
}

/**
 * Rough number of addresses the address step will write: a full listing (a kept commit's tree,
 * a branch with its staged entries, a parentless expired commit) may hold millions of
 * objects, a diff usually few. Kept commits share most of their objects, but each listing
 * writes all of its own, and a mark partition reads every key written to it: the partition
 * count follows what is written, so that no mark Lambda reads far more than its share.
 * A partition that ends up bigger is marked in several passes (mark step).
 */
export function estimateAddresses(counts: Record<string, number>): number {
  let total = 0;
  for (const [kind, n] of Object.entries(counts)) {
    total += n * (kind.endsWith("_list") || kind === "active_staged" ? 1_000_000 : 1_000);
  }
  return total;
}

export async function runCommitsStep(
  deps: GcStepDeps,
  input: GcWorkflowInput,
  opts: CommitsStepOptions = {},
): Promise<CommitsStepResult> {
  const repo = input.repository;
  await deps.lease.renew(repo, input.runId);
  const refs = await readRefs(deps.lakefs, repo);
  const { branches, tags } = refs;
  const graph = new CommitGraph();
  await addRefsHistory(deps.lakefs, repo, refs, graph);

  const points = startingPoints(input.rules, branches, tags, graph);
  const retention = computeRetention(graph, points, input.now);
  const csv = encodeCommitsCsv(retention);
  await putInNamespace(
    deps.s3,
    input.storageNamespace,
    gcPaths.commitsCsv(input.runId),
    csv,
    "text/csv",
  );

  const items = planAddressCollection(
    graph,
    retention,
    branches.map((b) => b.id),
  );
  const plan = planCounts(items);
  const partitions = choosePartitionCount(
    estimateAddresses(plan),
    opts.addressesPerPartition ?? MAX_ADDRESSES_PER_PARTITION,
  );
  const work = gcWorkKeys(repo, input.runId);
  // What the mark kept, for its sweep: the namespace's copy can be edited (revalidate.ts).
  await deps.s3.put(deps.workBucket, work.commitsCsv, csv);
  // Kept for the sweep: revalidation extends this graph instead of reading every log again.
  await deps.s3.put(deps.workBucket, work.commitGraph, encodeCommitGraph(graph));
  await deps.s3.put(deps.workBucket, work.itemsShard(0), encodeWorkItems(items));
  await deps.s3.put(
    deps.workBucket,
    work.partitionList,
    encodeJsonLines(Array.from({ length: partitions }, (_, partition) => ({ partition }))),
  );
  await deps.s3.put(
    deps.workBucket,
    work.commitsCounts,
    JSON.stringify({
      commits_considered: retention.active.size + retention.expired.size,
      active_commits: retention.active.size,
      expired_commits: retention.expired.size,
      branches: branches.length,
      tags: tags.length,
      partitions,
      ...Object.fromEntries(Object.entries(plan).map(([k, v]) => [`work_${k}`, v])),
    }),
  );
  return {
    itemsKey: work.itemsShard(0),
    partitionsKey: work.partitionList,
    partitions,
    workItems: items.length,
  };
}
