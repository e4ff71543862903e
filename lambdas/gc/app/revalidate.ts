// First step of every sweep (the sweep phase of mark-and-sweep, and sweep-only runs): claims
// the mark for this run's sweep (a successful mark, not swept, not retired, not too old),
// then brings it up to date (revalidation.ts): the refs as they are now, the mark's commit
// graph extended with what was committed since, the commits active now that the mark did
// not cover, and one staged item per branch. Those work items go to the revalidation map
// (the address step, area "revived"); the snapshot goes to the sweep children, which check
// again from it right before each delete request (sweep-guard.ts).
import { CommitGraph } from "../domain/commit-graph";
import { sweepRefusal } from "../domain/mark-lifecycle";
import { gcPaths } from "../domain/paths";
import { parseCommitsCsv } from "../domain/reports";
import { startingPoints } from "../domain/retention";
import { planRevalidation } from "../domain/revalidation";
import { longestRetention } from "../domain/rules";
import { decodeCommitGraph, encodeCommitGraph, encodeJsonLines } from "../domain/shards";
import { encodeSweepSnapshot } from "../domain/sweep-snapshot";
import type { GcWorkflowInput } from "../domain/workflow-input";
import type { GcStepDeps } from "../ports";
import { addRefsHistory, readRefs } from "./commit-history";
import { gcWorkKeys, namespaceObjects } from "./common";

export interface RevalidateResult {
  itemsKey: string;
  partsKey: string;
  parts: number;
  partitions: number;
  /** Commits active now that the mark did not cover. */
  newlyActive: number;
  items: number;
}

/** The mark cannot be swept (already swept, restored, too old, or not a successful mark). */
export class MarkNotSweepableError extends Error {
  override readonly name = "MarkNotSweepable";
}

const PART_RE = /part-(\d{5})\.txt$/;

export async function runRevalidateStep(
  deps: GcStepDeps,
  input: GcWorkflowInput,
  opts: { maxMarkAgeHours: number },
): Promise<RevalidateResult> {
  const { repository: repo, runId, markId } = input;
  await deps.lease.renew(repo, runId);
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const mark = await deps.runs.getMark(repo, markId);
  if (!mark) throw new MarkNotSweepableError(`mark id "${markId}" not found in "${repo}"`);
  const refusal = sweepRefusal(mark, nowSeconds, opts.maxMarkAgeHours);
  if (refusal) throw new MarkNotSweepableError(refusal);
  const claimed = await deps.runs.beginSweep(repo, markId, runId);
  if (!claimed) {
    const now = await deps.runs.getMark(repo, markId);
    throw new MarkNotSweepableError(
      (now && sweepRefusal(now, nowSeconds, opts.maxMarkAgeHours)) ??
        `mark id "${markId}" cannot be swept now`,
    );
  }
  const partitions = claimed.partitions;
  if (!partitions) {
    throw new MarkNotSweepableError(`mark id "${markId}" has no partition count: start a new mark`);
  }

  const ns = namespaceObjects(input.storageNamespace);
  const csv = await deps.s3.getText(ns.bucket, ns.key(gcPaths.commitsCsv(input.markRunId)));
  if (csv === undefined) {
    throw new MarkNotSweepableError(
      `mark id "${markId}": ${gcPaths.commitsCsv(input.markRunId)} is missing from the storage namespace, so what the mark kept is unknown; start a new mark`,
    );
  }
  const covered = new Set<string>();
  for (const row of parseCommitsCsv(csv)) if (!row.expired) covered.add(row.commitId);

  const markWork = gcWorkKeys(repo, input.markRunId);
  const graphText = await deps.s3.getText(deps.workBucket, markWork.commitGraph);
  // Without the mark's graph (expired scratch data) the logs are read again from scratch.
  const graph = graphText === undefined ? new CommitGraph() : decodeCommitGraph(graphText);
  const refs = await readRefs(deps.lakefs, repo);
  await addRefsHistory(deps.lakefs, repo, refs, graph);

  // The rules as they are now count too: they may have changed since this run started (a
  // mark phase can take hours), and a sweep must keep what today's rules keep.
  const today = (await deps.runs.getRules(repo)) ?? input.rules;
  const rules = longestRetention(input.markRules, longestRetention(input.rules, today));
  const points = startingPoints(rules, refs.branches, refs.tags, graph);
  const plan = planRevalidation(graph, covered, points, input.markNow);
  const items = [
    ...plan.items,
    ...refs.branches.map((b) => ({
      side: "active" as const,
      kind: "staged" as const,
      branch: b.id,
      whole: true as const,
    })),
  ];

  const work = gcWorkKeys(repo, runId);
  await deps.s3.put(deps.workBucket, work.revalidationItems, encodeJsonLines(items));
  await deps.s3.put(deps.workBucket, work.revalidationGraph, encodeCommitGraph(graph));
  await deps.s3.put(
    deps.workBucket,
    work.revalidationSnapshot,
    encodeSweepSnapshot({
      refs,
      covered: [...covered, ...plan.newlyActive],
      partitions,
      markNow: input.markNow,
      rules,
      checkedAt: deps.now().toISOString(),
    }),
  );

  const parts: { key: string; part: number }[] = [];
  for await (const o of deps.s3.list(ns.bucket, ns.key(gcPaths.addressesTextPrefix(markId)))) {
    const m = PART_RE.exec(o.key);
    if (m) parts.push({ key: o.key, part: Number(m[1]) });
  }
  await deps.s3.put(deps.workBucket, work.sweepParts, encodeJsonLines(parts));
  await deps.s3.put(
    deps.workBucket,
    work.revalidationCounts,
    JSON.stringify({ revalidated_commits: plan.newlyActive.length }),
  );
  return {
    itemsKey: work.revalidationItems,
    partsKey: work.sweepParts,
    parts: parts.length,
    partitions,
    newlyActive: plan.newlyActive.length,
    items: items.length,
  };
}
