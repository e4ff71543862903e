// The sweep's last-moment check. Revalidation (revalidate.ts and its map) brought the mark up
// to date when the sweep began; the repository can still change while the sweep deletes. So
// before each DeleteObjects request a sweep child makes sure a check started at most
// `recheckMs` before the request's keys were ready, and drops from the request every key the
// check found referenced. A check reads, in this order:
//   1. every branch's uncommitted entries (their addresses are spared);
//   2. the branches and tags; when they moved since the last check, the commits made since
//      revalidation that became active are diffed against the nearest covered commit (their
//      covered parents). Unlike the revalidation step, which lists them, these diffs do not see
//      an address brought back at a path whose entry keeps the same identity (size, ETag,
//      metadata, content type) during the sweep. An older commit that became active again (a
//      branch or tag on it, a reset to it, a longer retention) may reference many such
//      addresses, the mark having found it expired: identical rewrites are common. Listing its
//      tree in every partition's sweep would cost the tree times the partitions, so the sweep
//      stops instead (CommitRevivedError); a sweep of the same mark lists it at revalidation.
//      So does a commit revalidation never saw (no ref reached it) whose main ancestry goes
//      back to one it found expired: it holds that commit's tree, not a new commit's changes.
//      So does a revert, cherry-pick or squash merge taking entries of a commit neither
//      covered nor newly active (MergedEntriesError): lakeFS records those with one parent.
// Uncommitted entries are read before the refs, so an entry committed during the check is
// seen either staged or in the new commit. Whatever referenced an address when the check
// started is thus found; a revival after that start can still lose the object, which bounds
// the remaining window to the check's own duration plus `recheckMs`.

import { forEachConcurrently } from "../../shared/concurrency";
import type { CommitGraph } from "../domain/commit-graph";
import { commitNamed, type MergeSource, mergeSourceOf } from "../domain/merge-sources";
import { partitionOf, protectedKeyer } from "../domain/partition";
import { startingPoints } from "../domain/retention";
import { planRevalidation } from "../domain/revalidation";
import { type GcRules, longestRetention } from "../domain/rules";
import type { AddressWorkItemInput } from "../domain/shards";
import type { SweepSnapshot } from "../domain/sweep-snapshot";
import type { GcLakeFs, GcLeaseKeeper } from "../ports";
import {
  addRefsHistory,
  type RepositoryRefs,
  readBranches,
  readRefs,
  sameRefs,
} from "./commit-history";
import { readItem } from "./item-reader";
import { checkNamespaceStillOwned, SharedNamespaceError } from "./namespace-owner";

/** Commits the mark found expired became active while the sweep deleted: it stops. */
export class CommitRevivedError extends Error {
  override readonly name = "CommitRevivedError";
  constructor(readonly commits: readonly string[]) {
    super(
      `commit ${commits.slice(0, 5).join(", ")}${commits.length > 5 ? ` and ${commits.length - 5} more` : ""} became active again during the sweep (a branch or tag on it, a reset to it, a merge of it, or a longer retention): the mark may hold objects it references at paths whose size and ETag did not change, which only a listing shows, so the sweep stopped; sweep the same mark again (--sweep-only --mark-id): its revalidation lists them`,
    );
  }
}

/**
 * A revert or cherry-pick made while the sweep deleted took entries from a commit the mark
 * found expired (or one the sweep cannot name): it stops, as for a revived commit.
 */
export class MergedEntriesError extends Error {
  override readonly name = "MergedEntriesError";
  constructor(readonly found: readonly { commit: string; source: MergeSource }[]) {
    const what = found
      .slice(0, 3)
      .map(({ commit, source }) =>
        source.kind === "revert"
          ? `${commit} (a revert of ${source.ref})`
          : source.kind === "squash-merge"
            ? `${commit} (a squash merge of ${source.ref ?? "a ref its message does not name"})`
            : `${commit} (a cherry-pick of ${source.commit})`,
      )
      .join(", ");
    super(
      `commit ${what}${found.length > 3 ? ` and ${found.length - 3} more` : ""} was made during the sweep and may hold entries of a commit the mark found expired (a revert takes the reverted commit's parent's entries, a cherry-pick the picked commit's, a squash merge the merged commit's, also where the size and ETag did not change, which no diff shows), so the sweep stopped; sweep the same mark again (--sweep-only --mark-id): its revalidation lists it`,
    );
  }
}

/** Default of SWEEP_RECHECK_MS: how old a check a delete request may rely on. */
export const DEFAULT_RECHECK_MS = 1000;

export interface SweepGuardDeps {
  lakefs: GcLakeFs;
  lease: GcLeaseKeeper;
  /** Milliseconds; injectable for tests. */
  clock?: () => number;
  /** The revalidation step's commit graph, loaded on the first ref change. */
  loadGraph: () => Promise<CommitGraph>;
  /** The repository's GC rules as they are now (a longer retention keeps more commits). */
  rules?: () => Promise<GcRules | undefined>;
}

export interface SweepGuardContext {
  repository: string;
  runId: string;
  storageNamespace: string;
  /** This child's partition: only its keys are kept. */
  partition: number;
  snapshot: SweepSnapshot;
}

export class SweepGuard {
  /** Keys of this partition found referenced by a check: never deleted. */
  readonly spared = new Set<string>();
  /** Checks made, and how many found the refs moved. */
  readonly stats = { checks: 0, refChanges: 0, revalidatedCommits: 0, longestCheckMs: 0 };
  readonly #clock: () => number;
  readonly #keyOf: (address: string) => string | undefined;
  #refs: RepositoryRefs;
  readonly #covered: Set<string>;
  /** The snapshot's rules, lengthened by every change a check has seen. */
  #rules: GcRules;
  #graph: CommitGraph | undefined;
  /** The commits of the revalidation step's graph: any not covered was expired then. */
  #knownAtRevalidation: Set<string> | undefined;
  /** Reverts and cherry-picks among the commits checks added to the graph. */
  readonly #mergeSources = new Map<string, MergeSource>();
  /** Every branch and tag name seen since revalidation: a revert may name one, not a commit. */
  readonly #refNames = new Set<string>();
  #stopped: CommitRevivedError | MergedEntriesError | SharedNamespaceError | undefined;
  #lastStart = Number.NEGATIVE_INFINITY;
  #inflight: { startedAt: number; done: Promise<void> } | undefined;

  constructor(
    private readonly deps: SweepGuardDeps,
    private readonly ctx: SweepGuardContext,
    private readonly recheckMs = DEFAULT_RECHECK_MS,
  ) {
    this.#clock = deps.clock ?? Date.now;
    this.#keyOf = protectedKeyer(ctx.storageNamespace);
    this.#refs = ctx.snapshot.refs;
    this.#covered = new Set(ctx.snapshot.covered);
    this.#rules = ctx.snapshot.rules;
    this.#noteRefNames(this.#refs);
  }

  /**
   * Resolves once a check that started at most `recheckMs` before this call has completed
   * (one check serves every request that asks while it runs).
   */
  async ensureFresh(): Promise<void> {
    // Once a revival is seen, no request goes out, not even on an earlier check.
    if (this.#stopped) throw this.#stopped;
    const asked = this.#clock();
    if (asked - this.#lastStart <= this.recheckMs) return;
    if (this.#inflight && asked - this.#inflight.startedAt <= this.recheckMs) {
      return this.#inflight.done;
    }
    if (this.#inflight) await this.#inflight.done.catch(() => undefined);
    if (this.#clock() - this.#lastStart <= this.recheckMs) return;
    const startedAt = this.#clock();
    const done = this.#check(startedAt).finally(() => {
      if (this.#inflight?.done === done) this.#inflight = undefined;
    });
    this.#inflight = { startedAt, done };
    return done;
  }

  /** Keys of `keys` that no check found referenced. */
  unreferenced(keys: readonly string[]): string[] {
    return this.spared.size === 0 ? keys.slice() : keys.filter((k) => !this.spared.has(k));
  }

  async #check(startedAt: number): Promise<void> {
    const { repository, runId } = this.ctx;
    await this.deps.lease.renew(repository, runId);
    await this.#checkNamespace();
    const branches = await readBranches(this.deps.lakefs, repository);
    await forEachConcurrently(branches, 8, (b) =>
      this.#spare({ side: "active", kind: "staged", branch: b.id }),
    );
    const refs = await readRefs(this.deps.lakefs, repository);
    this.#noteRefNames(refs);
    const rules = await this.#rulesNow();
    const rulesChanged = JSON.stringify(rules) !== JSON.stringify(this.#rules);
    if (rulesChanged || !sameRefs(refs, this.#refs)) {
      this.stats.refChanges++;
      const graph = await this.#loadedGraph();
      await addRefsHistory(this.deps.lakefs, repository, refs, graph, (commit) => {
        const source = mergeSourceOf(commit);
        if (source) this.#mergeSources.set(commit.id, source);
      });
      const points = startingPoints(rules, refs.branches, refs.tags, graph);
      // Diffs, not listings: this runs every second during the sweep (revalidation.ts).
      const plan = planRevalidation(graph, this.#covered, points, this.ctx.snapshot.markNow, {
        bases: "diff",
      });
      const revived = [...new Set(plan.newlyActive.flatMap((c) => this.#expiredReached(graph, c)))];
      if (revived.length > 0) {
        this.#stopped = new CommitRevivedError(revived);
        throw this.#stopped;
      }
      const merged = this.#mergedFromUncovered(graph, plan.newlyActive);
      if (merged.length > 0) {
        this.#stopped = new MergedEntriesError(merged);
        throw this.#stopped;
      }
      await forEachConcurrently(plan.items, 8, (item) => this.#spare(item));
      for (const c of plan.newlyActive) this.#covered.add(c);
      this.stats.revalidatedCommits += plan.newlyActive.length;
      this.#refs = refs;
      this.#rules = rules;
    }
    // Renewed again once the reads are done: a check that outlasted the lease must not
    // release deletes (a lapsed lease lets a restore retire the mark meanwhile).
    await this.deps.lease.renew(repository, runId);
    this.stats.checks++;
    this.stats.longestCheckMs = Math.max(this.stats.longestCheckMs, this.#clock() - startedAt);
    this.#lastStart = startedAt;
  }

  /**
   * Revalidation found the namespace this repository's alone (but for repositories inside it,
   * whose objects the sweep leaves): a repository created on it or inside it since stops the
   * sweep, as it would have stopped it at revalidation.
   */
  async #checkNamespace(): Promise<void> {
    const { repository, storageNamespace, snapshot } = this.ctx;
    try {
      await checkNamespaceStillOwned(
        this.deps.lakefs,
        repository,
        storageNamespace,
        snapshot.foreignPrefixes ?? [],
      );
    } catch (err) {
      if (err instanceof SharedNamespaceError) this.#stopped = err;
      throw err;
    }
  }

  async #loadedGraph(): Promise<CommitGraph> {
    if (!this.#graph) {
      this.#graph = await this.deps.loadGraph();
      this.#knownAtRevalidation = new Set(this.#graph.ids());
    }
    return this.#graph;
  }

  /**
   * The commits revalidation found expired whose trees a newly active commit brings back, which
   * the sweep cannot diff: the commit itself, or a main ancestor it never saw (no ref reached
   * it: a branch deleted without being merged, created again on its commit), or an expired
   * commit merged in by a commit made since (`merge <commit id> main`: the merge takes the
   * merged side's entry where both hold the same identity, a path no diff from the first
   * parent shows). A commit made during the sweep otherwise descends from what revalidation
   * saw active (or, young, would make its expired parent active and stop the sweep itself).
   */
  #expiredReached(graph: CommitGraph, commit: string): string[] {
    const known = this.#knownAtRevalidation;
    if (!known) return [];
    const found: string[] = [];
    const seen = new Set<string>();
    // Named by where each main line starts: the newly active commit, or the merged parent.
    const pending = [commit];
    while (pending.length > 0) {
      const start = pending.pop() as string;
      for (let c: string | undefined = start; c !== undefined; c = graph.parentsOf(c)?.[0]) {
        if (seen.has(c) || this.#covered.has(c)) break;
        seen.add(c);
        if (known.has(c)) {
          found.push(start);
          break;
        }
        pending.push(...(graph.parentsOf(c)?.slice(1) ?? []));
      }
    }
    return found;
  }

  /**
   * The reverts and cherry-picks among `newlyActive` and their uncovered ancestors that took
   * entries from a commit neither covered nor newly active (their diffs cannot show an entry
   * kept at the same identity), or from a commit the sweep cannot name (a revert of a branch, a
   * tag or `main~1`). An ancestor need not be active to pass its entries on: a commit dated
   * before the retention window (lakeFS's commit `date`) made on a revert leaves the revert
   * expired, yet holds its tree and is diffed across it.
   */
  #mergedFromUncovered(
    graph: CommitGraph,
    newlyActive: readonly string[],
  ): { commit: string; source: MergeSource }[] {
    const active = new Set(newlyActive);
    const safe = (id: string) => this.#covered.has(id) || active.has(id);
    return this.#uncoveredAncestry(graph, newlyActive).flatMap((commit) => {
      const source = this.#mergeSources.get(commit);
      if (!source) return [];
      const from = this.#entriesFrom(graph, source);
      return from === undefined || !from.every(safe) ? [{ commit, source }] : [];
    });
  }

  /** The commits whose entries `source` took; undefined when the sweep cannot name them. */
  #entriesFrom(graph: CommitGraph, source: MergeSource): readonly string[] | undefined {
    if (source.kind === "cherry-pick") return [source.commit];
    const named =
      source.ref === undefined ? undefined : commitNamed(source.ref, graph, this.#refNames);
    if (named === undefined) return undefined;
    return source.kind === "revert" ? (graph.parentsOf(named) ?? []) : [named];
  }

  #noteRefNames(refs: RepositoryRefs): void {
    for (const r of [...refs.branches, ...refs.tags]) this.#refNames.add(r.id);
  }

  /** `commits` and every ancestor reached from them through commits not covered. */
  #uncoveredAncestry(graph: CommitGraph, commits: readonly string[]): string[] {
    const seen = new Set<string>();
    const pending = [...commits];
    while (pending.length > 0) {
      const c = pending.pop() as string;
      if (seen.has(c) || this.#covered.has(c)) continue;
      seen.add(c);
      pending.push(...(graph.parentsOf(c) ?? []));
    }
    return [...seen];
  }

  /** The rules checks use: whichever of the snapshot's and today's keeps more, per branch. */
  async #rulesNow(): Promise<GcRules> {
    const today = await this.deps.rules?.();
    return today ? longestRetention(this.#rules, today) : this.#rules;
  }

  async #spare(item: AddressWorkItemInput): Promise<void> {
    const { partitions } = this.ctx.snapshot;
    for await (const addresses of readItem(this.deps.lakefs, this.ctx.repository, item)) {
      for (const address of addresses) {
        const key = this.#keyOf(address);
        if (key !== undefined && partitionOf(key, partitions) === this.ctx.partition) {
          this.spared.add(key);
        }
      }
    }
  }
}
