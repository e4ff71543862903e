// --wait: follows an export or a GC run until it ends, with one progress line on stderr
// (cli/progress.ts: redrawn on a terminal, once a minute otherwise), then prints the end
// state with its counts on stdout.
import { describeExport, describeRun, exportSample, type Json, runSample } from "./describe";
import type { ApiClient } from "./http";
import { type GlobalOpts, print } from "./output";
import { ProgressLine } from "./progress";

/** The export or GC run ended failed (exit code 4). */
export class RunFailed extends Error {
  override readonly name = "RunFailed";
}

export const pollMs = () => Number(process.env.LAKEPORT_POLL_MS ?? 2000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

/** The progress line of a --wait; none with --json (stdout is for the machine then). */
export function progressLineFor(opts: GlobalOpts, label: string): ProgressLine | undefined {
  if (opts.json) return undefined;
  const interval = Number(process.env.LAKEPORT_PROGRESS_INTERVAL_MS ?? 60_000);
  return new ProgressLine(process.stderr, label, { intervalMs: interval });
}

/** The execution stopped but never recorded its end: waiting longer would never finish. */
function endedUnfinished(execution: Json, what: string) {
  const status = execution?.status;
  if (
    status &&
    status !== "RUNNING" &&
    status !== "PENDING_REDRIVE" &&
    !execution.error?.startsWith?.("Describe")
  ) {
    throw new RunFailed(
      `${what}: execution ${execution.executionArn} ended ${status}${execution.error ? ` (${execution.error}: ${execution.cause ?? ""})` : ""} without recording its end`,
    );
  }
}

/** How long an ended execution may go unrecorded: the API reads the state before the
 * execution, and a crashed execution is recorded by the watchdog just after it ends. */
const UNRECORDED_GRACE_MS = 15_000;

export async function waitExport(api: ApiClient, path: string, opts: GlobalOpts): Promise<Json> {
  let endedUnrecordedSince: number | undefined;
  let line: ProgressLine | undefined;
  try {
    for (;;) {
      const s = await api.request("GET", `${path}/export-status`);
      if (s.state !== "in-progress") {
        line?.end();
        print(opts, s, () => describeExport(s));
        if (s.state === "export-failed")
          throw new RunFailed(`export failed: ${s.errorMessage ?? ""}`);
        return s;
      }
      try {
        endedUnfinished(s.execution, `export ${s.exportId}`);
        endedUnrecordedSince = undefined;
      } catch (err) {
        endedUnrecordedSince ??= Date.now();
        if (Date.now() - endedUnrecordedSince > UNRECORDED_GRACE_MS) throw err;
        await sleep(pollMs());
        continue;
      }
      line ??= progressLineFor(opts, `export ${s.exportId}`);
      line?.update(exportSample(s));
      await sleep(pollMs());
    }
  } finally {
    line?.end();
  }
}

export async function waitRun(
  api: ApiClient,
  path: string,
  runId: string,
  opts: GlobalOpts,
): Promise<Json> {
  const line = progressLineFor(opts, `gc run ${runId}`);
  try {
    for (;;) {
      const r = await api.request("GET", `${path}/gc/runs/${enc(runId)}`);
      if (r.status !== "running") {
        line?.end();
        print(opts, r, () => describeRun(r));
        if (r.status === "failed")
          throw new RunFailed(`GC run ${runId} failed: ${r.error_message ?? ""}`);
        return r;
      }
      try {
        endedUnfinished(r.execution, `GC run ${runId}`);
      } catch (err) {
        // The API reads the record before the execution: the run may have ended in between.
        const again = await api.request("GET", `${path}/gc/runs/${enc(runId)}`);
        if (again.status === "running") throw err;
        continue;
      }
      line?.update(runSample(r));
      await sleep(pollMs());
    }
  } finally {
    line?.end();
  }
}
