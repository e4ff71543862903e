// First step of every sweep (the sweep phase of mark-and-sweep, and sweep-only runs): claims
// the mark for this run's sweep (a successful mark, not swept, not retired, not too old),
// then brings it up to date (revalidation.ts): the refs as they are now, the mark's commit
// graph extended with what was committed since, the commits active now that the mark did
// not cover, and one staged item per branch. Those work items go to the revalidation map
// (the address step, area "revived"); the snapshot goes to the sweep children, which check
// again from it right before each delete request (sweep-guard.ts).
import { WriteConditionFailedError } from "../../shared/write-condition";
import type { AddressWorkItem } from "../domain/address-plan";
import { CommitGraph } from "../domain/commit-graph";
import { namespaceRefusal, sweepRefusal } from "../domain/mark-lifecycle";
import {
  duplicateTextPart,
  duplicateTextPartProblem,
  gcPaths,
  textPartNumber,
} from "../domain/paths";
import { parseCommitsCsv } from "../domain/reports";
import { startingPoints } from "../domain/retention";
import { planRevalidation } from "../domain/revalidation";
import { longestRetention } from "../domain/rules";
import { decodeCommitGraph, encodeCommitGraph, encodeJsonLines } from "../domain/shards";
import {
  decodeSweepSnapshot,
  encodeSweepSnapshot,
  type SweepSnapshot,
} from "../domain/sweep-snapshot";
import type { GcWorkflowInput } from "../domain/workflow-input";
import type { GcStepDeps } from "../ports";
import { addRefsHistory, readRefs, sameRefs } from "./commit-history";
import { markCommitsKeys } from "./commits";
import { gcWorkKeys, namespaceObjects, type WorkKeys } from "./common";
import { firstEditedList } from "./mark-list-etags";
import { checkNamespaceOwned } from "./namespace-owner";

export interface RevalidateResult {
  itemsKey: string;
  partsKey: string;
  parts: number;
  partitions: number;
  /** Commits active now that the mark did not cover. */
  newlyActive: number;
  items: number;
  /** Catch-up rounds so far (runCatchUpStep); settled: the sweep may begin. */
  round?: number;
  settled?: boolean;
}

/** Catch-up rounds before the sweep; what changes after the last one is left to the checks. */
export const MAX_CATCH_UP_ROUNDS = 5;

/** The mark cannot be swept (already swept, restored, too old, or not a successful mark). */
export class MarkNotSweepableError extends Error {
  override readonly name = "MarkNotSweepable";
}

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
  const elsewhere = namespaceRefusal(mark, input.storageNamespace);
  if (elsewhere) throw new MarkNotSweepableError(elsewhere);
  // Here, not only at the start: a bare copy of the repository may have come since the mark.
  const foreign = await checkNamespaceOwned(deps.lakefs, repo, input.storageNamespace);
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
  const markWork = gcWorkKeys(repo, input.markRunId);
  // The mark's own copy: a commit the namespace's copy (editable by anyone who can write
  // there) wrongly called kept would not be listed when it becomes active again, and what it
  // references would be deleted. A mark recorded before the copy was kept has only the
  // namespace's.
  const markKeys = await markCommitsKeys(deps, markWork);
  const csv =
    (await deps.s3.getText(deps.workBucket, markKeys.commitsCsv)) ??
    (await deps.s3.getText(ns.bucket, ns.key(gcPaths.commitsCsv(input.markRunId))));
  if (csv === undefined) {
    throw new MarkNotSweepableError(
      `mark id "${markId}": ${gcPaths.commitsCsv(input.markRunId)} is missing from the storage namespace, so what the mark kept is unknown; start a new mark`,
    );
  }
  const covered = new Set<string>();
  for (const row of parseCommitsCsv(csv)) if (!row.expired) covered.add(row.commitId);

  const graphText = await deps.s3.getText(deps.workBucket, markKeys.commitGraph);
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
  const recorded = await recordFirstSnapshot(deps, work, items, graph, {
    refs,
    covered: [...covered, ...plan.newlyActive],
    partitions,
    markNow: input.markNow,
    rules,
    checkedAt: deps.now().toISOString(),
    round: 0,
    revalidatedCommits: plan.newlyActive.length,
    ...(foreign.length > 0 ? { foreignPrefixes: foreign } : {}),
  });

  const parts: MarkPart[] = [];
  for await (const o of deps.s3.list(ns.bucket, ns.key(gcPaths.addressesTextPrefix(markId)))) {
    const part = textPartNumber(o.key);
    if (part !== undefined) parts.push({ key: o.key, part, ...(o.etag ? { etag: o.etag } : {}) });
  }
  checkMarkParts(markId, parts, partitions);
  await checkPartsUnchanged(deps, markWork, parts);
  await deps.s3.put(deps.workBucket, work.sweepParts, encodeJsonLines(parts));
  await deps.s3.put(
    deps.workBucket,
    work.revalidationCounts,
    JSON.stringify({ revalidated_commits: recorded.newlyActive }),
  );
  return { ...recorded, partsKey: work.sweepParts, parts: parts.length, partitions };
}

/**
 * Writes this attempt's items and graph under its own keys, then the snapshot naming them, only
 * if no attempt wrote one yet; else answers with that one's items. Attempts overlap: the state
 * machine retries a Lambda service error while the first attempt may still run, with another
 * view of the repository. With shared keys their writes interleaved, and the map could list the
 * older view's items while the snapshot, the newer view, called the commits in between covered:
 * the catch-up and the sweep's checks then never listed them, and the sweep deleted what they
 * reference. One snapshot and the items it names stay together, whichever answer is used.
 */
async function recordFirstSnapshot(
  deps: GcStepDeps,
  work: WorkKeys,
  items: readonly AddressWorkItem[],
  graph: CommitGraph,
  snapshot: SweepSnapshot,
): Promise<{ itemsKey: string; items: number; newlyActive: number }> {
  const own = work.revalidationAttempt(newAttemptId());
  await deps.s3.put(deps.workBucket, own.items, encodeJsonLines(items));
  await deps.s3.put(deps.workBucket, own.graph, encodeCommitGraph(graph));
  const text = encodeSweepSnapshot({ ...snapshot, itemsKey: own.items, graphKey: own.graph });
  try {
    await deps.s3.putIf(deps.workBucket, work.revalidationSnapshot, text, "absent");
    return {
      itemsKey: own.items,
      items: items.length,
      newlyActive: snapshot.revalidatedCommits ?? 0,
    };
  } catch (err) {
    if (!(err instanceof WriteConditionFailedError)) throw err;
  }
  const first = await deps.s3.getText(deps.workBucket, work.revalidationSnapshot);
  const firstSnapshot = first === undefined ? undefined : decodeSweepSnapshot(first);
  const firstItems = firstSnapshot?.itemsKey;
  const itemsText = firstItems && (await deps.s3.getText(deps.workBucket, firstItems));
  if (!firstSnapshot || !firstItems || itemsText === undefined) {
    throw new Error("revalidation step: another attempt's snapshot or its items are unreadable");
  }
  return {
    itemsKey: firstItems,
    items: lineCount(itemsText),
    newlyActive: firstSnapshot.revalidatedCommits ?? 0,
  };
}

/** Names one attempt's own work keys. */
const newAttemptId = () => globalThis.crypto.randomUUID().replaceAll("-", "");

const lineCount = (text: string) => text.split("\n").filter((l) => l.length > 0).length;

/**
 * After the revalidation map: the repository may have moved while it listed (every branch in
 * full: minutes on large repositories). The commits that became active since the snapshot are
 * listed in full too (the map runs again over them), round after round until nothing moved,
 * so that only what changes after the last round is left to the sweep's checks, which diff.
 * The snapshot takes the new refs and commits once their items are written.
 */
export async function runCatchUpStep(
  deps: GcStepDeps,
  input: GcWorkflowInput,
  previous: RevalidateResult,
): Promise<RevalidateResult> {
  const { repository: repo, runId } = input;
  await deps.lease.renew(repo, runId);
  const work = gcWorkKeys(repo, runId);
  const round = (previous.round ?? 0) + 1;
  const settled = { ...previous, items: 0, newlyActive: 0, round, settled: true };
  const read = await deps.s3.getVersioned(deps.workBucket, work.revalidationSnapshot);
  const snapshot = read && decodeSweepSnapshot(read.text);
  const graphText =
    snapshot &&
    (await deps.s3.getText(deps.workBucket, snapshot.graphKey ?? work.revalidationGraph));
  if (!read || !snapshot || graphText === undefined) {
    throw new Error("catch-up step: the revalidation snapshot or graph is missing");
  }
  if ((snapshot.round ?? 0) >= round) {
    // This round already ran and wrote its items and the snapshot, which now counts its
    // commits as covered, but its Lambda died before answering (the state machine runs it
    // again with the same input), or another attempt of it wrote first: its items must still
    // be listed, as they would have been.
    return replayRound(deps, work, previous, round, snapshot);
  }
  const refs = await readRefs(deps.lakefs, repo);
  const today = await deps.runs.getRules(repo);
  const rules = today ? longestRetention(snapshot.rules, today) : snapshot.rules;
  const moved =
    !sameRefs(refs, snapshot.refs) || JSON.stringify(rules) !== JSON.stringify(snapshot.rules);
  if (!moved || round > MAX_CATCH_UP_ROUNDS) return settled;

  const graph = decodeCommitGraph(graphText);
  await addRefsHistory(deps.lakefs, repo, refs, graph);
  const covered = new Set(snapshot.covered);
  const points = startingPoints(rules, refs.branches, refs.tags, graph);
  const plan = planRevalidation(graph, covered, points, snapshot.markNow);
  const revalidatedCommits =
    (snapshot.revalidatedCommits ?? (await countedSoFar(deps, work))) + plan.newlyActive.length;
  // Own keys, and the snapshot only as this attempt read it: as for the revalidation step
  // (recordFirstSnapshot), an overlapping attempt of the round must not pair its items with
  // this one's snapshot.
  const own = work.revalidationAttempt(newAttemptId());
  const itemsKey = own.items;
  await deps.s3.put(deps.workBucket, itemsKey, encodeJsonLines(plan.items));
  await deps.s3.put(deps.workBucket, own.graph, encodeCommitGraph(graph));
  const next = encodeSweepSnapshot({
    ...snapshot,
    refs,
    covered: [...covered, ...plan.newlyActive],
    rules,
    checkedAt: deps.now().toISOString(),
    round,
    revalidatedCommits,
    itemsKey,
    graphKey: own.graph,
  });
  try {
    await deps.s3.putIf(deps.workBucket, work.revalidationSnapshot, next, { etag: read.etag });
  } catch (err) {
    if (!(err instanceof WriteConditionFailedError)) throw err;
    // Another attempt of this round wrote first: read again, and answer with its items.
    return runCatchUpStep(deps, input, previous);
  }
  await deps.s3.put(
    deps.workBucket,
    work.revalidationCounts,
    JSON.stringify({ revalidated_commits: revalidatedCommits }),
  );
  return {
    ...previous,
    itemsKey,
    items: plan.items.length,
    newlyActive: plan.newlyActive.length,
    round,
    settled: plan.items.length === 0,
  };
}

/** The answer of a catch-up round that already wrote its items and snapshot (see above). */
async function replayRound(
  deps: GcStepDeps,
  work: ReturnType<typeof gcWorkKeys>,
  previous: RevalidateResult,
  round: number,
  { itemsKey = work.catchUpItems(round), revalidatedCommits }: SweepSnapshot,
): Promise<RevalidateResult> {
  const text = await deps.s3.getText(deps.workBucket, itemsKey);
  if (text === undefined) {
    throw new Error(`catch-up step: round ${round} wrote its snapshot but its items are missing`);
  }
  const items = lineCount(text);
  if (revalidatedCommits !== undefined) {
    await deps.s3.put(
      deps.workBucket,
      work.revalidationCounts,
      JSON.stringify({ revalidated_commits: revalidatedCommits }),
    );
  }
  return { ...previous, itemsKey, items, newlyActive: items, round, settled: items === 0 };
}

/** revalidated_commits as the counts file says (a snapshot written before it kept the count). */
async function countedSoFar(deps: GcStepDeps, work: ReturnType<typeof gcWorkKeys>) {
  const counts = await deps.s3.getText(deps.workBucket, work.revalidationCounts);
  return counts ? Number(JSON.parse(counts).revalidated_commits ?? 0) : 0;
}

/** A text list of the mark; its ETag, which the sweep reads it at (If-Match). */
interface MarkPart {
  key: string;
  part: number;
  etag?: string;
}

/**
 * Each list must be the one the mark wrote (the ETag its mark step recorded): it lies in the
 * namespace, where anyone with write access can edit it, and revalidation checks only what
 * changed in the repository since the mark, so a key added to it (one a kept commit holds)
 * would be deleted. A mark written before marks recorded the ETag is not checked here; the
 * sweep still reads each list at the ETag seen here.
 */
async function checkPartsUnchanged(deps: GcStepDeps, markWork: WorkKeys, parts: MarkPart[]) {
  const changed = await firstEditedList(deps, markWork, parts);
  if (changed !== undefined) {
    throw new MarkNotSweepableError(
      `${changed} was changed since the mark wrote it (its ETag differs): its keys were not all marked, so nothing is deleted; start a new mark`,
    );
  }
}

/**
 * The mark's text lists must be exactly its partitions 0..partitions-1, one each: revalidation
 * and the sweep's checks spare keys per partition, so a list under another number (left by
 * another mark with this id), or a second list of one number (a copy beside the mark's own),
 * would be swept unprotected, and a missing one left unswept by a run reported as successful.
 */
function checkMarkParts(markId: string, parts: { key: string; part: number }[], n: number) {
  const stray = parts.find((p) => p.part >= n);
  if (stray) {
    throw new MarkNotSweepableError(
      `mark id "${markId}": ${stray.key} is not one of its ${n} partition(s), so it was not written by this mark; nothing is deleted: start a new mark with another id`,
    );
  }
  const dup = duplicateTextPart(parts);
  if (dup) {
    throw new MarkNotSweepableError(
      `${duplicateTextPartProblem(markId, dup)}: the sweep would take both for partition ${dup.part}, checking neither's keys against their own partitions; nothing is deleted: start a new mark with another id`,
    );
  }
  const seen = new Set(parts.map((p) => p.part));
  for (let part = 0; part < n; part++) {
    if (!seen.has(part)) {
      throw new MarkNotSweepableError(
        `mark id "${markId}": ${gcPaths.addressesTextPart(markId, part)} is missing from the storage namespace; nothing is deleted: start a new mark`,
      );
    }
  }
}
