// One branch's export state in memory, with the conditions of the DynamoDB store
// (lambdas/export/adapters/export-store.ts) that the start and finish paths rely on: a
// compare-and-set on the version, updates of a running export only while it runs, "done"
// decided by the domain's transition. Tests override what their scenario needs.
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone } from "../../lambdas/export/domain/transitions";
import type { CompleteExportInput } from "../../lambdas/export/ports";

export function memoryExportState(w: { state: ExportState }) {
  const running = (id: string) => w.state.state === "in-progress" && w.state.exportId === id;
  return {
    getState: async () => w.state,
    compareAndSetState: async (_r: string, _b: string, v: number | undefined, n: ExportState) => {
      if (w.state.version !== v) return false;
      w.state = n;
      return true;
    },
    // As the store: the update rewrites updatedAt.
    requestFollowUp: async (
      _r: string,
      _b: string,
      id: string,
      head: string,
      now: string,
      explicit = false,
    ) => {
      if (!running(id)) return false;
      w.state = {
        ...w.state,
        pendingHead: head,
        ...(explicit ? { pendingExplicit: true } : {}),
        updatedAt: now,
        version: w.state.version + 1,
      };
      return true;
    },
    recordExecution: async (_r: string, _b: string, id: string, arn: string, now: string) => {
      if (!running(id)) return false;
      w.state = { ...w.state, executionArn: arn, updatedAt: now, version: w.state.version + 1 };
      return true;
    },
    markStartFailed: async () => true,
    completeExport: async (i: CompleteExportInput, now: string) => {
      const d = decideDone(w.state, { ...i, now });
      if (d.kind === "refused") return { applied: false as const, reason: d.reason };
      w.state = d.next;
      return { applied: true as const, state: d.next, followUp: d.followUp };
    },
  };
}
