// The GC state machine's order of steps, run in-process over fakes at the ports (memory-gc.ts,
// memory-lakefs.ts): Commits -> address map -> mark map -> EndMark, then Revalidate ->
// revived map -> CatchUp rounds -> sweep map, then Summary (also after a failure, as the
// Catch does). Tests of the whole algorithm use it; the real state machine runs in the
// integration tests.

import { runAddressStep } from "../../lambdas/gc/app/addresses";
import { type CommitsStepResult, runCommitsStep } from "../../lambdas/gc/app/commits";
import { runEndMarkStep } from "../../lambdas/gc/app/end-mark";
import { runMarkStep } from "../../lambdas/gc/app/mark";
import {
  type RevalidateResult,
  runCatchUpStep,
  runRevalidateStep,
} from "../../lambdas/gc/app/revalidate";
import { runSummaryStep, type SummaryStepResult } from "../../lambdas/gc/app/summary";
import { runSweepStep, type SweepStepOptions } from "../../lambdas/gc/app/sweep";
import type { GcRules } from "../../lambdas/gc/domain/rules";
import type { GcRun } from "../../lambdas/gc/domain/run-records";
import type { GcWorkflowInput } from "../../lambdas/gc/domain/workflow-input";
import type { GcStepDeps } from "../../lambdas/gc/ports";
import type { MemoryGcRecords } from "./memory-gc";

export interface PipelineHooks {
  /** Between the mark phase and the sweep phase. */
  afterMark?: () => Promise<void> | void;
  /** After the revalidation map listed, before its catch-up rounds. */
  afterRevalidationMap?: () => Promise<void> | void;
  /** After revalidation and its catch-up rounds, before the sweep map. */
  beforeSweepMap?: () => Promise<void> | void;
  /**
   * Runs each CatchUp invocation (default: once, with the pipeline's deps). A test can invoke
   * it again with the same input, as the state machine's Retry does after a Lambda error (a
   * timeout, out of memory), or while the first invocation still runs.
   */
  catchUp?: (invoke: (deps?: GcStepDeps) => Promise<RevalidateResult>) => Promise<RevalidateResult>;
  /**
   * Runs the Revalidate invocation (default: once, with the pipeline's deps). A test can run
   * overlapping attempts, as the state machine's Retry does after a Lambda service error while
   * the first attempt still runs; the pipeline goes on with the answer given here.
   */
  revalidate?: (
    invoke: (deps: GcStepDeps) => Promise<RevalidateResult>,
  ) => Promise<RevalidateResult>;
  /**
   * Runs the Commits invocation (default: once, with the pipeline's deps); as `revalidate`, the
   * pipeline goes on with the answer given here.
   */
  commits?: (invoke: () => Promise<CommitsStepResult>) => Promise<CommitsStepResult>;
  addressesPerPartition?: number;
  keysPerPass?: number;
  sweep?: SweepStepOptions;
}

async function jsonLines(deps: GcStepDeps, key: string): Promise<unknown[]> {
  const text = await deps.s3.getText(deps.workBucket, key);
  if (text === undefined) throw new Error(`missing ${key}`);
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function addressMap(
  deps: GcStepDeps,
  itemsKey: string,
  batch: { repository: string; runId: string; storageNamespace: string; partitions: number },
  area: "addresses" | "revived",
) {
  const items = await jsonLines(deps, itemsKey);
  for (let i = 0; i < items.length; i += 3) {
    let out = await runAddressStep(deps, {
      Items: items.slice(i, i + 3),
      BatchInput: { ...batch, area },
    });
    while (!out.done) out = await runAddressStep(deps, out);
  }
}

export async function runGcPipeline(
  deps: GcStepDeps,
  input: GcWorkflowInput,
  hooks: PipelineHooks = {},
): Promise<SummaryStepResult> {
  const base = {
    repository: input.repository,
    runId: input.runId,
    storageNamespace: input.storageNamespace,
  };
  try {
    if (input.doMark) {
      const invokeCommits = () =>
        runCommitsStep(deps, input, {
          ...(hooks.addressesPerPartition
            ? { addressesPerPartition: hooks.addressesPerPartition }
            : {}),
        });
      const plan = await (hooks.commits ? hooks.commits(invokeCommits) : invokeCommits());
      await addressMap(deps, plan.itemsKey, { ...base, partitions: plan.partitions }, "addresses");
      const partitions = (await jsonLines(deps, plan.partitionsKey)) as { partition: number }[];
      for (let i = 0; i < partitions.length; i += 2) {
        await runMarkStep(
          deps,
          {
            Items: partitions.slice(i, i + 2),
            BatchInput: { ...base, markId: input.markId, now: input.now },
          },
          hooks.keysPerPass ? { keysPerPass: hooks.keysPerPass } : {},
        );
      }
      await runEndMarkStep(deps, { ...input, plan: { partitions: plan.partitions } });
    }
    if (input.doSweep) {
      await hooks.afterMark?.();
      const revalidate = (d: GcStepDeps) => runRevalidateStep(d, input, { maxMarkAgeHours: 24 });
      let r = hooks.revalidate ? await hooks.revalidate(revalidate) : await revalidate(deps);
      await addressMap(deps, r.itemsKey, { ...base, partitions: r.partitions }, "revived");
      await hooks.afterRevalidationMap?.();
      // CatchUp -> Settled? -> CollectRevived again, as the state machine loops.
      for (;;) {
        const previous = r;
        const invoke = (d = deps) => runCatchUpStep(d, input, previous);
        r = hooks.catchUp ? await hooks.catchUp(invoke) : await invoke();
        if (r.settled) break;
        await addressMap(deps, r.itemsKey, { ...base, partitions: r.partitions }, "revived");
      }
      await hooks.beforeSweepMap?.();
      const parts = (await jsonLines(deps, r.partsKey)) as { key: string; part: number }[];
      for (const part of parts) {
        await runSweepStep(
          deps,
          { Items: [part], BatchInput: { ...base, now: input.now } },
          { ...hooks.sweep, ...(hooks.keysPerPass ? { keysPerPass: hooks.keysPerPass } : {}) },
        );
      }
    }
  } catch (err) {
    const e = err as Error;
    return runSummaryStep(deps, {
      ...input,
      error: {
        Error: e.name,
        Cause: JSON.stringify({ errorType: e.name, errorMessage: e.message }),
      },
    });
  }
  return runSummaryStep(deps, input);
}

/**
 * A mark-and-sweep run of repository "r1" at `now` (seconds), recorded as the API records one
 * (memory fakes), then the whole pipeline.
 */
export async function markAndSweepInMemory(
  deps: GcStepDeps,
  records: MemoryGcRecords,
  run: { runId: string; storageNamespace: string; rules: GcRules; now: number },
  hooks: PipelineHooks = {},
): Promise<SummaryStepResult> {
  const { runId, storageNamespace, rules, now } = run;
  const record: GcRun = {
    repository: "r1",
    runId,
    mode: "mark-and-sweep",
    markId: runId,
    status: "running",
    counts: {},
    startedAt: new Date(now * 1000).toISOString(),
  };
  records.startMarking(record, now, rules);
  return runGcPipeline(
    deps,
    {
      repository: "r1",
      runId,
      markId: runId,
      doMark: true,
      doSweep: true,
      storageNamespace,
      rules,
      now,
      markRunId: runId,
      markNow: now,
      markRules: rules,
    },
    hooks,
  );
}
