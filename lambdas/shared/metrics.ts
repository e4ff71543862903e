// Custom CloudWatch metrics as embedded metric format (EMF) log lines: CloudWatch Logs turns
// them into metrics, so no PutMetricData permission or call is needed. The line must reach
// stdout as is: with Lambda's JSON log format, console.log would wrap it in a log record and
// the metric would be lost (AWS's EMF libraries write to stdout directly for that reason).

/** The namespace of every Lakeport metric (the CDK alarms read the same constants). */
export const LAKEPORT_METRIC_NAMESPACE = "Lakeport";
/** Branches whose export is stuck in progress, per check (0 when none, so alarms see data). */
export const STUCK_EXPORTS_METRIC = "ExportsStuckInProgress";
/** Stuck exports the check recorded as failed (unblocked for `export repair`). */
export const RECOVERED_EXPORTS_METRIC = "StuckExportsMarkedFailed";

export type MetricUnit = "Count" | "Seconds" | "Milliseconds" | "Bytes" | "None";

/** One EMF document (no dimensions) as a single line, newline-terminated. */
export function emfLine(
  metrics: Record<string, { value: number; unit: MetricUnit }>,
  timestamp: Date,
  namespace = LAKEPORT_METRIC_NAMESPACE,
  properties: Record<string, string | number | boolean> = {},
): string {
  const names = Object.keys(metrics);
  if (names.length === 0) throw new Error("emfLine: at least one metric");
  if (names.length > 100) throw new Error("emfLine: at most 100 metrics per document");
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [[]],
          Metrics: names.map((Name) => ({ Name, Unit: metrics[Name]!.unit })),
        },
      ],
    },
    ...properties,
  };
  for (const name of names) {
    const v = metrics[name]!.value;
    if (!Number.isFinite(v)) throw new Error(`emfLine: ${name} is not a finite number`);
    doc[name] = v;
  }
  return `${JSON.stringify(doc)}\n`;
}

/** Writes an EMF line to stdout, bypassing the Lambda log formatter. */
export function publishMetrics(line: string): void {
  process.stdout.write(line);
}
