// Step 1 of a marking run: branches and tags, their commit logs as a CommitGraph, active and
// expired commits (retention.ts), commits.csv, and the address work items (address-plan.ts)
// as JSON Lines in the work bucket for the address map's ItemReader.

import { WriteConditionFailedError } from "../../shared/write-condition";
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
  const own = work.commitsAttempt(globalThis.crypto.randomUUID().replaceAll("-", ""));
  // What the mark kept, for its sweep: the namespace's copy can be edited (revalidate.ts).
  await deps.s3.put(deps.workBucket, own.commitsCsv, csv);
  // Kept for the sweep: revalidation extends this graph instead of reading every log again.
  await deps.s3.put(deps.workBucket, own.commitGraph, encodeCommitGraph(graph));
  await deps.s3.put(deps.workBucket, own.items, encodeWorkItems(items));
  await deps.s3.put(
    deps.workBucket,
    own.partitionList,
    encodeJsonLines(Array.from({ length: partitions }, (_, partition) => ({ partition }))),
  );
  await deps.s3.put(
    deps.workBucket,
    own.commitsCounts,
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
  const mine: CommitsRecord = {
    ...own,
    result: {
      itemsKey: own.items,
      partitionsKey: own.partitionList,
      partitions,
      workItems: items.length,
    },
  };
  const record = await recordFirstAttempt(deps, work.commitsRecord, mine);
  // Published once the attempt is the mark's: the report says what the mark kept.
  const kept = record === mine ? csv : await deps.s3.getText(deps.workBucket, record.commitsCsv);
  if (kept === undefined)
    throw new Error("commits step: the recorded attempt's commits.csv is missing");
  await putInNamespace(
    deps.s3,
    input.storageNamespace,
    gcPaths.commitsCsv(input.runId),
    kept,
    "text/csv",
  );
  return record.result;
}

/** The keys of the commits step attempt a mark is made of (commits-record.json). */
export interface CommitsRecord {
  commitsCsv: string;
  commitGraph: string;
  commitsCounts: string;
  result: CommitsStepResult;
}

/**
 * The record of this attempt, created only if no attempt recorded one yet; else that one. The
 * state machine retries a Lambda service error while the first attempt may still run, with
 * another view of the repository: with shared keys their writes interleaved, and a mark could
 * take one attempt's work items with the other's commits.csv, whose kept commits the sweep then
 * took for covered (never listed), deleting what a tag made between their reads referenced.
 */
async function recordFirstAttempt(
  deps: GcStepDeps,
  key: string,
  mine: CommitsRecord,
): Promise<CommitsRecord> {
  try {
    await deps.s3.putIf(deps.workBucket, key, JSON.stringify(mine), "absent");
    return mine;
  } catch (err) {
    if (!(err instanceof WriteConditionFailedError)) throw err;
  }
  const first = await readCommitsRecord(deps, key);
  if (!first) throw new Error("commits step: another attempt's record is unreadable");
  return first;
}

export async function readCommitsRecord(
  deps: Pick<GcStepDeps, "s3" | "workBucket">,
  key: string,
): Promise<CommitsRecord | undefined> {
  const text = await deps.s3.getText(deps.workBucket, key);
  return text === undefined ? undefined : (JSON.parse(text) as CommitsRecord);
}

/**
 * Where a mark's commits.csv, graph and counts are: its record's attempt, or the run's fixed
 * keys (a mark recorded before attempts had their own).
 */
export async function markCommitsKeys(
  deps: Pick<GcStepDeps, "s3" | "workBucket">,
  work: ReturnType<typeof gcWorkKeys>,
): Promise<Pick<CommitsRecord, "commitsCsv" | "commitGraph" | "commitsCounts">> {
  return (await readCommitsRecord(deps, work.commitsRecord)) ?? work;
}
