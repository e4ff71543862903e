// A branch's export keeps its export and status paths while it may still write to them: while
// it runs, and after an aborted or timed-out execution (or a failed one with a copy batch that
// did not report) until its functions have stopped (settling.ts). Until then the configuration cannot be deleted nor moved to other paths:
// another branch could take the old path, and two exports would write one path.
import type { ExportState } from "./export-state";

/** Why the branch's export may still write to its paths at `now`; undefined when it cannot. */
export function exportStillWriting(
  state: ExportState | undefined,
  now: string,
): string | undefined {
  if (!state) return undefined;
  if (state.state === "in-progress") {
    return `export ${state.exportId} is running`;
  }
  if (
    state.state === "export-failed" &&
    state.settlesAt !== undefined &&
    Date.parse(state.settlesAt) > Date.parse(now)
  ) {
    return `the failed export ${state.exportId} was aborted, timed out or left a copy batch unreported, and its functions may still write until ${state.settlesAt}`;
  }
  return undefined;
}
