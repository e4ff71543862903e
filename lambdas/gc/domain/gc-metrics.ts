// What one GC run publishes as metrics when its summary is written (see
// lambdas/shared/run-metrics.ts for names and dimensions): the addresses its mark found
// deletable (mark phases), the objects its sweep deleted (sweep phases), and its duration.
import { GC_METRICS, type RunMetric } from "../../shared/run-metrics";

export interface GcMetricsInput {
  doMark: boolean;
  doSweep: boolean;
  /** The run's summed counts (marked_addresses, deleted_objects, ...). */
  counts: Record<string, number>;
  startedAt: Date;
  endedAt: Date;
}

export function gcMetrics(input: GcMetricsInput): RunMetric[] {
  const values: RunMetric[] = [];
  if (input.doMark) {
    const marked = input.counts.marked_addresses ?? 0;
    values.push({ name: GC_METRICS.objectsMarked, unit: "Count", value: marked });
  }
  if (input.doSweep) {
    const swept = input.counts.deleted_objects ?? 0;
    values.push({ name: GC_METRICS.objectsSwept, unit: "Count", value: swept });
  }
  const seconds = (input.endedAt.getTime() - input.startedAt.getTime()) / 1000;
  if (Number.isFinite(seconds) && seconds >= 0) {
    values.push({ name: GC_METRICS.gcRunSeconds, unit: "Seconds", value: Math.round(seconds) });
  }
  return values;
}
