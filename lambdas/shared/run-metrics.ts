// The metrics port: what the export and GC use cases publish about each run, by name, with
// the repository (and for exports the branch) it is about. The use cases see only this
// interface; the Lambda handlers give them the Powertools adapter (powertools-metrics.ts),
// tests a recording fake. The CDK alarms and dashboard read the same names.

/** Export metrics, published once per export by the status step. */
export const EXPORT_METRICS = {
  objectsCopied: "ObjectsCopied",
  objectsDeleted: "ObjectsDeleted",
  bytesCopied: "BytesCopied",
  /** Failed copy, delete and marker operations: the status line's signalled_errors. */
  copyFailures: "CopyFailures",
  /** From the commit's creation to the export's status being written. */
  exportLagSeconds: "ExportLagSeconds",
} as const;

/** GC metrics, published once per run by the summary step. */
export const GC_METRICS = {
  objectsMarked: "ObjectsMarked",
  objectsSwept: "ObjectsSwept",
  gcRunSeconds: "GcRunSeconds",
} as const;

/** Dimension names (the Powertools adapter adds `service`: lakeport-export, lakeport-gc). */
export const METRIC_DIMENSIONS = {
  service: "service",
  repository: "repository",
  branch: "branch",
} as const;

export type RunMetricUnit = "Count" | "Seconds" | "Bytes";

export interface RunMetric {
  name: string;
  unit: RunMetricUnit;
  value: number;
}

/** What the values are about: the repository, and the branch for exports. */
export interface MetricSubject {
  repository: string;
  branch?: string;
}

export interface MetricsPort {
  /**
   * Publishes the values once, aggregated three ways: for the whole service, per repository
   * and, when the subject has a branch, per branch.
   */
  publish(subject: MetricSubject, values: readonly RunMetric[]): void;
}

/** Publishes nothing (use cases run without metrics in unit tests and tools). */
export const NO_METRICS: MetricsPort = { publish: () => {} };
