// The export state machine as pure functions. The store applies each result with a
// conditional write on `version`, so two writers can never both win.
import { exportedConfigVersionOf } from "./export-config";
import { decideExportMode, withFailedExport, withObsoleteRun } from "./export-mode";
import type { ExportState, StartTrigger, UnreconciledExport } from "./export-state";

export type StartDecision =
  | { kind: "start"; next: ExportState; fromCommit: string | null }
  | { kind: "up-to-date" }
  | { kind: "not-continuous" }
  | { kind: "refused-in-progress"; exportId: string }
  /** A full repair asked while an export runs: not queued, asked again once it has ended. */
  | { kind: "refused-running"; exportId: string }
  | { kind: "refused-failed"; errorMessage?: string }
  | { kind: "refused-not-failed"; state: ExportState["state"] | "never-exported" }
  /** The failed execution's functions may still write to the export path until `until`. */
  | { kind: "refused-settling"; until: string };

export interface StartInput {
  /** The branch head: what the export would export. */
  commitId: string;
  trigger: StartTrigger;
  isContinuous: boolean;
  /** Version of the stored configuration (what the export will write). */
  configVersion: number;
  /** The stored configuration's export path (where the export will write). */
  exportPath?: string;
  /** repair --full: reconcile the whole export path, whatever the state (but in-progress). */
  full?: boolean;
  /** ISO-8601 time of the decision (the domain has no clock). */
  now: string;
  /** Builds the export id from the attempt counter (kept outside to keep this module tiny). */
  exportIdFor: (attempt: number) => string;
}

/** start / repair: what to do for a branch in `current` state (undefined = never exported). */
export function decideStart(current: ExportState | undefined, input: StartInput): StartDecision {
  const { commitId, trigger } = input;
  const fullRepair = trigger === "repair" && input.full === true;
  if (trigger === "event" && !input.isContinuous) return { kind: "not-continuous" };
  if (
    trigger === "repair" &&
    current?.state === "export-failed" &&
    current.settlesAt !== undefined &&
    Date.parse(current.settlesAt) > Date.parse(input.now)
  ) {
    return { kind: "refused-settling", until: current.settlesAt };
  }
  if (trigger === "repair" && current?.state === "in-progress") {
    // Full or not: a repair waits for the running export's end.
    return { kind: "refused-running", exportId: current.exportId };
  }
  if (fullRepair) {
    // Reconciles from any other state.
  } else if (trigger === "repair") {
    if (current?.state !== "export-failed") {
      return { kind: "refused-not-failed", state: current?.state ?? "never-exported" };
    }
  } else {
    if (current?.state === "in-progress") {
      return { kind: "refused-in-progress", exportId: current.exportId };
    }
    if (current?.state === "export-failed") {
      return {
        kind: "refused-failed",
        ...(current.errorMessage ? { errorMessage: current.errorMessage } : {}),
      };
    }
    // Up to date: the head was exported with the current configuration.
    if (
      current &&
      current.commitId === commitId &&
      exportedConfigVersionOf(current) === input.configVersion
    ) {
      return { kind: "up-to-date" };
    }
  }
  const attempt = (current?.attempt ?? 0) + 1;
  const choice = decideExportMode(current, {
    configVersion: input.configVersion,
    fullRequested: fullRepair,
    now: new Date(input.now),
  });
  const next: ExportState = {
    state: "in-progress",
    commitId,
    exportId: input.exportIdFor(attempt),
    updatedAt: input.now,
    startedAt: input.now,
    repaired: trigger === "repair",
    attempt,
    version: (current?.version ?? 0) + 1,
    mode: choice.mode,
    configVersion: input.configVersion,
    ...(current?.lastExportedCommit ? { lastExportedCommit: current.lastExportedCommit } : {}),
    ...(current?.exportedConfigVersion !== undefined
      ? { exportedConfigVersion: current.exportedConfigVersion }
      : {}),
    ...(input.exportPath !== undefined ? { exportPath: input.exportPath } : {}),
    ...(current?.exportedPath !== undefined ? { exportedPath: current.exportedPath } : {}),
    ...(current?.unreconciled?.length ? { unreconciled: current.unreconciled } : {}),
  };
  return { kind: "start", next, fromCommit: current?.lastExportedCommit ?? null };
}

/** Exports whose touched paths the export `state` describes must bring back (incremental). */
export function reconcileExportsOf(state: ExportState): string[] {
  return state.mode === "incremental" || state.mode === undefined
    ? (state.unreconciled ?? []).map((u) => u.exportId)
    : [];
}

export type ExportOutcome =
  | { status: "succeeded" }
  /** settlesAt: until when the ended execution's functions may still write (settling.ts). */
  | { status: "failed"; errorMessage: string; settlesAt?: string };

export type DoneDecision =
  | { kind: "done"; next: ExportState; followUp: boolean }
  | { kind: "refused"; reason: string };

/**
 * done: only from in-progress with the same commitId and exportId. A success moves
 * lastExportedCommit to commitId (and the exported configuration version with it) and
 * forgets the failed exports it reconciled; a failure adds this export to them. A follow-up
 * export is needed when a start was asked for meanwhile (the caller starts it from the newest
 * head, skipping intermediates); the request stays recorded (`pendingHead`) until a start
 * takes it, so a retried caller still sees it.
 */
export function decideDone(
  current: ExportState | undefined,
  done: { exportId: string; commitId: string; outcome: ExportOutcome; now: string },
): DoneDecision {
  if (!current) return { kind: "refused", reason: "no export state for this branch" };
  if (current.state !== "in-progress") {
    return { kind: "refused", reason: `export is ${current.state}, not in-progress` };
  }
  if (current.exportId !== done.exportId || current.commitId !== done.commitId) {
    return {
      kind: "refused",
      reason: `export ${done.exportId} for ${done.commitId} is not the running one (${current.exportId} for ${current.commitId})`,
    };
  }
  const {
    pendingHead,
    pendingExplicit,
    errorMessage: _error,
    unreconciled: _u,
    settlesAt: _settles,
    interference,
    ...rest
  } = current;
  const base = { ...rest, updatedAt: done.now, version: current.version + 1 };
  // An obsolete export wrote beside this one: whatever this one did, it failed.
  const outcome: ExportOutcome =
    interference === undefined
      ? done.outcome
      : {
          status: "failed",
          errorMessage:
            done.outcome.status === "failed"
              ? `${interference}; and: ${done.outcome.errorMessage}`
              : interference,
          ...latestSettling(
            current.settlesAt,
            done.outcome.status === "failed" ? done.outcome.settlesAt : undefined,
          ),
        };
  if (outcome.status === "succeeded") {
    return {
      kind: "done",
      next: {
        ...base,
        state: current.repaired ? "export-repaired" : "exported-successfully",
        lastExportedCommit: current.commitId,
        exportedConfigVersion: current.configVersion ?? exportedConfigVersionOf(current) ?? 1,
        ...(current.exportPath !== undefined ? { exportedPath: current.exportPath } : {}),
        ...(pendingHead !== undefined ? { pendingHead } : {}),
        ...(pendingHead !== undefined && pendingExplicit ? { pendingExplicit } : {}),
      },
      followUp: pendingHead !== undefined,
    };
  }
  return {
    kind: "done",
    next: {
      ...base,
      state: "export-failed",
      errorMessage: outcome.errorMessage,
      ...(outcome.settlesAt !== undefined ? { settlesAt: outcome.settlesAt } : {}),
      unreconciled: withFailedExport(current),
    },
    followUp: false,
  };
}

/** The later of two settling times, as a settlesAt field. */
function latestSettling(a: string | undefined, b: string | undefined): { settlesAt?: string } {
  const latest = a === undefined ? b : b === undefined || a > b ? a : b;
  return latest === undefined ? {} : { settlesAt: latest };
}

const OBSOLETE_RUN_MARGIN_MS = 2_000;

/** An export that ended once and then ran again (a Step Functions redrive of its execution). */
export interface ObsoleteRun {
  /** What it may have touched (its task shards), as a failed export's record. */
  record: UnreconciledExport;
  /** Why the branch cannot promise its export any more. */
  reason: string;
  /** ISO-8601 end of its run (the status change event's stopDate). */
  stoppedAt: string;
  /** Aborted or timed out: its functions may write until then. */
  settlesAt?: string;
}

/**
 * The branch after an ended run of another export than its latest one. A run that stopped
 * before the latest export started is that export's own old end (a late delivery): nothing.
 * One that stopped later ran again after the branch moved on and may have written its older
 * commit over the export: an ended branch becomes export-failed (its repair reconciles what
 * the run touched); a running export is marked so that it cannot end as a success. A re-run
 * of the latest export itself: see decideOwnRerun.
 */
export function decideObsoleteRun(
  current: ExportState | undefined,
  run: ObsoleteRun,
  now: string,
): ExportState | undefined {
  if (!current || current.startedAt === undefined) return undefined;
  if (current.exportId === run.record.exportId) return decideOwnRerun(current, run, now);
  // The margin absorbs clock skew between Step Functions' stopDate and our start times.
  if (Date.parse(run.stoppedAt) <= Date.parse(current.startedAt) + OBSOLETE_RUN_MARGIN_MS) {
    return undefined;
  }
  // Recorded already (a repeated delivery): its repair reconciles the run.
  const recorded = current.unreconciled?.some((u) => u.exportId === run.record.exportId);
  if (recorded && (current.state === "export-failed" || current.interference !== undefined)) {
    return undefined;
  }
  const unreconciled = withObsoleteRun(current, run.record);
  const base = { ...current, unreconciled, updatedAt: now, version: current.version + 1 };
  if (current.state === "in-progress") {
    return {
      ...base,
      interference: run.reason,
      ...latestSettling(current.settlesAt, run.settlesAt),
    };
  }
  const { pendingHead: _p, pendingExplicit: _e, ...rest } = base;
  return {
    ...rest,
    state: "export-failed",
    errorMessage:
      current.state === "export-failed" && current.errorMessage
        ? `${run.reason}; before that: ${current.errorMessage}`
        : run.reason,
    ...latestSettling(current.settlesAt, run.settlesAt),
  };
}

/**
 * The branch's latest export, whose failure is recorded already (its paths are among those the
 * repair reconciles), ran again and stopped after that record (a redrive): aborted or timed
 * out, its functions may still write until run.settlesAt, so the repair waits for them as it
 * does after the first end. Anything else (its own end delivered again) changes nothing.
 */
function decideOwnRerun(
  current: ExportState,
  run: ObsoleteRun,
  now: string,
): ExportState | undefined {
  if (current.state !== "export-failed" || run.settlesAt === undefined) return undefined;
  if (Date.parse(run.stoppedAt) <= Date.parse(current.updatedAt) + OBSOLETE_RUN_MARGIN_MS) {
    return undefined;
  }
  const settling = latestSettling(current.settlesAt, run.settlesAt);
  if (settling.settlesAt === current.settlesAt) return undefined;
  return { ...current, ...settling, updatedAt: now, version: current.version + 1 };
}
