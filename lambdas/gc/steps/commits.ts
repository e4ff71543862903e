// Step 1 of a marking run: branches and tags, their commit logs as a CommitGraph, active and
// expired commits (retention.ts), commits.csv, and the address work items (address-plan.ts)
// as JSON Lines in the work bucket for the address map's ItemReader.
import type { Ref } from "../../lakefs/types";
import { planAddressCollection, planCounts } from "../domain/address-plan";
import { CommitGraph } from "../domain/commit-graph";
import { choosePartitionCount, MAX_ADDRESSES_PER_PARTITION } from "../domain/partition";
import { gcPaths } from "../domain/paths";
import { encodeCommitsCsv } from "../domain/reports";
import { computeRetention, startingPoints } from "../domain/retention";
import { encodeJsonLines, encodeWorkItems } from "../domain/shards";
import type { GcStepDeps } from "../ports";
import type { GcWorkflowInput } from "../workflow-input";
import { gcWorkKeys, namespaceObjects } from "./common";

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
 * Rough size of what the address step will collect: a full listing may hold millions of
 * objects, a diff usually few. Only picks the partition count; a partition that ends up
 * bigger is marked in several passes (mark step), so a low estimate costs time, not memory.
 */
export function estimateAddresses(counts: Record<string, number>): number {
  let total = 0;
  for (const [kind, n] of Object.entries(counts)) {
    total += n * (kind.endsWith("_list") ? 1_000_000 : kind.endsWith("_staged") ? 10_000 : 1_000);
  }
  return total;
}

export async function runCommitsStep(
  deps: GcStepDeps,
  input: GcWorkflowInput,
  opts: CommitsStepOptions = {},
): Promise<CommitsStepResult> {
  const repo = input.repository;
  const branches = await collectRefs(deps.lakefs.listBranches(repo, { amount: 1000 }));
  const tags = await collectRefs(deps.lakefs.listTags(repo, { amount: 1000 }));

  const graph = new CommitGraph();
  for (const ref of [...branches, ...tags]) await addHistory(deps, repo, ref.commit_id, graph);

  const points = startingPoints(input.rules, branches, tags);
  const retention = computeRetention(graph, points, input.now);
  const ns = namespaceObjects(input.storageNamespace);
  await deps.s3.put(
    ns.bucket,
    ns.key(gcPaths.commitsCsv(input.runId)),
    encodeCommitsCsv(retention),
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

async function collectRefs(pages: AsyncIterable<{ results: Ref[] }>): Promise<Ref[]> {
  const out: Ref[] = [];
  for await (const page of pages) for (const r of page.results) if (r.commit_id) out.push(r);
  return out;
}

/**
 * Adds every ancestor of `head` to the graph. The log of a ref lists all its ancestors; it is
 * read only until every ancestor not yet in the graph has been seen, so refs sharing history
 * (a branch forked from main) cost little more than their own commits. Earlier walks always
 * completed, so a commit already in the graph has all its ancestors there too.
 */
async function addHistory(
  deps: GcStepDeps,
  repository: string,
  head: string,
  graph: CommitGraph,
): Promise<void> {
  if (graph.has(head)) return;
  const pending = new Set([head]);
  for await (const page of deps.lakefs.logCommits(repository, head, { amount: 1000 })) {
    for (const commit of page.results) {
      pending.delete(commit.id);
      if (graph.has(commit.id)) continue;
      graph.add(commit);
      for (const parent of commit.parents) if (!graph.has(parent)) pending.add(parent);
    }
    if (pending.size === 0) return;
  }
  if (pending.size > 0) {
    throw new Error(
      `commit log of ${head} ended without ${pending.size} ancestor(s), e.g. ${[...pending][0]}`,
    );
  }
}
