// What the CLI prints for the API's answers: readable text of export states, GC runs, starts
// and GC rules, and the progress samples and final counts of a run (cli/progress.ts).
import {
  type FinalCounts,
  formatDuration,
  formatFinalCounts,
  type ProgressSample,
} from "./progress";

// biome-ignore lint/suspicious/noExplicitAny: API bodies
export type Json = any;

/** The distributed map runs of an execution: batches, the only progress Step Functions knows. */
export function batchesLine(execution: Json): string {
  if (!execution) return "";
  const maps = (execution.mapRuns ?? []) as Json[];
  const parts = maps.map(
    (m) => `${m.succeeded + m.failed}/${m.total} items (${m.failed} failed, ${m.running} running)`,
  );
  return `${execution.status}${parts.length ? `, ${parts.join("; ")}` : ""}`;
}

/** Where a running export is: planning, copying (objects and bytes), or after the copies. */
export function exportSample(s: Json): ProgressSample {
  const p = s.progress;
  if (!p) return { phase: "starting" };
  const total = p.planned.copies + p.planned.deletes;
  const done = p.done.copied + p.done.deleted + p.done.failed;
  if (!p.planDone) {
    return {
      phase: "planning",
      objects: { done: total },
      bytes: { done: p.planned.copyBytes },
      detail: "planned so far",
    };
  }
  if (p.done.shards >= p.planned.shards) {
    return {
      phase: "writing markers and status",
      objects: { done: Math.min(done, total), total },
      bytes: {
        done: Math.min(p.done.copiedBytes, p.planned.copyBytes),
        total: p.planned.copyBytes,
      },
      failed: p.done.failed,
    };
  }
  return {
    phase: "copying",
    objects: { done, total },
    bytes: { done: p.done.copiedBytes, total: p.planned.copyBytes },
    failed: p.done.failed,
  };
}

const durationOf = (from: string | null | undefined, to: string | null | undefined) =>
  from && to ? Math.max(0, Date.parse(to) - Date.parse(from)) : undefined;

/** What an ended export did; undefined when it recorded no counts. */
export function exportFinalCounts(s: Json): FinalCounts | undefined {
  const p = s.progress;
  if (!p) return undefined;
  const durationMs = durationOf(s.startedAt, s.updatedAt);
  return {
    copied: p.done.copied,
    bytes: p.done.copiedBytes,
    deleted: p.done.deleted,
    failed: p.done.failed,
    ...(durationMs !== undefined ? { durationMs } : {}),
  };
}

export function describeExport(s: Json): string {
  const lines = [
    `state:                ${s.state}`,
    `current ref:          ${s.currentRef ?? "-"}`,
    `last exported commit: ${s.lastExportedCommit ?? "-"}`,
  ];
  if (s.configVersion != null) {
    lines.push(
      `configuration:        version ${s.configVersion}${s.exportedConfigVersion != null ? `, last exported with version ${s.exportedConfigVersion}` : ""}`,
    );
  }
  if (s.mode) lines.push(`mode:                 ${s.mode}`);
  if (s.errorMessage) lines.push(`error:                ${s.errorMessage}`);
  if (s.pendingHead) lines.push(`pending head:         ${s.pendingHead}`);
  if (s.execution)
    lines.push(
      `execution:            ${s.execution.executionArn}`,
      `progress:             ${batchesLine(s.execution)}`,
    );
  const final = s.state !== "in-progress" ? exportFinalCounts(s) : undefined;
  if (final) lines.push(`counts:               ${formatFinalCounts(final)}`);
  return lines.join("\n");
}

/** Where a running GC run is: its execution's status and map batches. */
export function runSample(r: Json): ProgressSample {
  const e = r.execution;
  if (!e) return { phase: r.status };
  const maps = (e.mapRuns ?? []) as Json[];
  const detail = maps
    .map(
      (m) =>
        `${m.succeeded + m.failed}/${m.total} batches${m.failed ? ` (${m.failed} failed)` : ""}`,
    )
    .join("; ");
  return { phase: String(e.status).toLowerCase(), ...(detail ? { detail } : {}) };
}

export function describeRun(r: Json): string {
  const counts = Object.entries(r.counts ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const took = durationOf(r.started_at, r.ended_at);
  const lines = [
    `run id:  ${r.run_id}`,
    `mark id: ${r.mark_id}`,
    `mode:    ${r.mode}`,
    `status:  ${r.status}`,
    `started: ${r.started_at}${r.ended_at ? `, ended: ${r.ended_at}` : ""}`,
  ];
  if (counts) lines.push(`counts:  ${counts}`);
  if (took !== undefined) lines.push(`took:    ${formatDuration(took)}`);
  if (r.error_message) lines.push(`error:   ${r.error_message}`);
  if (r.execution) lines.push(`progress: ${batchesLine(r.execution)}`);
  return lines.join("\n");
}

/** An export configuration (export get without --json). */
export function describeExportConfiguration(c: Json): string {
  // The empty expression selects every directory: shown as "", never as no expression.
  const regexes = (c.lastKeysInPrefixRegexp as string[]).map((r) => (r === "" ? '""' : r));
  return [
    `export path:        ${c.exportPath}`,
    `export status path: ${c.exportStatusPath ?? "-"}`,
    `prefix regexes:     ${regexes.join(", ") || "-"}`,
    `continuous:         ${c.isContinuous}`,
  ].join("\n");
}

/** GC rules as lakectl shows them (gc get-config without -p/--json). */
export function describeGcRules(rules: Json): string {
  const branches = (rules.branches ?? []) as Json[];
  return [
    `Default Retention Days: ${rules.default_retention_days}`,
    `Branch Rules:${branches.length ? "" : " -"}`,
    ...branches.map((b) => `  - Branch: ${b.branch_id}\n    Retention Days: ${b.retention_days}`),
  ].join("\n");
}

const MODE_WORDS: Record<string, string> = {
  incremental: "",
  "full-copy": ", full export",
  "full-compare": ", full reconciliation of the export path",
};

/** One line for whatever a start answered (every status the API can put in `export`). */
export function startedLine(r: Json): string {
  switch (r.status) {
    case "started":
      return `export ${r.exportId} started: ${r.fromCommit ?? "(first export)"} -> ${r.toCommit}${r.repaired ? " (repair)" : ""}${MODE_WORDS[r.mode] ?? ""}`;
    case "up-to-date":
      return `already up to date at ${r.currentRef}`;
    case "not-continuous":
      return "not continuous: nothing started";
    case "queued":
      return `export not started now: export ${r.runningExportId} is running; ${r.pendingHead} will be exported when it ends`;
    case "refused-failed":
      return `export not started: the last export failed${r.errorMessage ? ` (${r.errorMessage})` : ""}; run lakeport export repair first`;
    case "refused-running":
      return `export not started: export ${r.runningExportId} is running`;
    case "refused-settling":
      return `export not started: the failed export was aborted, timed out or left a copy batch unreported; its functions may still write to the export path until ${r.until}, repair after that`;
    case "refused-not-failed":
      return `nothing to repair (state: ${r.state})`;
    case "start-failed":
      return `export ${r.exportId} could not start: ${r.errorMessage}`;
    case "error":
      return `export not started: ${r.message}`;
    default:
      return `export: ${JSON.stringify(r)}`;
  }
}

/** What storing a configuration means for the export path (printed before any export result). */
export function configurationLines(stored: Json, continuous: boolean): string[] {
  const lines = [
    `configuration stored (version ${stored.configVersion}${continuous ? ", continuous" : ""})`,
  ];
  if (stored.previousExportPath) {
    lines.push(
      `the export path changed: the next export copies the whole branch to ${stored.exportPath}; ${stored.previousExportPath} is left as it is (delete it yourself when it is no longer needed)`,
    );
  } else if (stored.fullExportNext && stored.exportedConfigVersion !== undefined) {
    lines.push(
      `the marker expressions changed: the next export is a full export to ${stored.exportPath}`,
    );
  }
  return lines;
}
