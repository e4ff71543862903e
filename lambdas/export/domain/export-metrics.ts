// What one export publishes as metrics when its status is decided (see
// lambdas/shared/run-metrics.ts for names and dimensions): the counts of its operations,
// the signalled errors (the status line's signalled_errors, so an alarm can fire on them),
// and the lag from the commit's creation to the status being written.
import { EXPORT_METRICS, type RunMetric } from "../../shared/run-metrics";
import type { ExportTotals } from "./results";

export interface ExportMetricsInput {
  totals: Pick<ExportTotals, "copied" | "deleted" | "copiedBytes">;
  /** The status line's signalled_errors. */
  signalledErrors: number;
  /** The commit's creation (lakeFS creation_date, seconds); 0 or less when unknown. */
  commitCreatedSeconds: number;
  /** When the status was written. */
  statusWrittenAt: Date;
}

export function exportMetrics(input: ExportMetricsInput): RunMetric[] {
  const values: RunMetric[] = [
    { name: EXPORT_METRICS.objectsCopied, unit: "Count", value: input.totals.copied },
    { name: EXPORT_METRICS.objectsDeleted, unit: "Count", value: input.totals.deleted },
    { name: EXPORT_METRICS.bytesCopied, unit: "Bytes", value: input.totals.copiedBytes },
    { name: EXPORT_METRICS.copyFailures, unit: "Count", value: input.signalledErrors },
  ];
  if (input.commitCreatedSeconds > 0) {
    // A commit dated in the future (lakeFS accepts a date) counts as no lag, not negative.
    const lag = Math.max(0, input.statusWrittenAt.getTime() / 1000 - input.commitCreatedSeconds);
    values.push({ name: EXPORT_METRICS.exportLagSeconds, unit: "Seconds", value: Math.round(lag) });
  }
  return values;
}
