// The metrics port on Powertools for AWS Lambda's Metrics: one embedded metric format (EMF)
// line per publish, written straight to stdout (not through the Lambda log formatter, which
// would wrap it), turned into CloudWatch metrics by CloudWatch Logs without any API call.
// Dimension sets, kept to CloudWatch's cardinality advice (each distinct combination is one
// billed metric): {service} for alarms and the dashboard, {service, repository}, and
// {service, repository, branch} only for exports (a deployment exports a handful of branches
// per repository; GC runs per repository, so its metrics have no branch).
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logger } from "./logger";
import { LAKEPORT_METRIC_NAMESPACE } from "./metrics";
import {
  METRIC_DIMENSIONS,
  type MetricSubject,
  type MetricsPort,
  type RunMetric,
} from "./run-metrics";

/**
 * Powertools' own messages go to the function's logger. The repository is in two dimension
 * sets on purpose (with and without the branch): that notice is expected, so it is DEBUG.
 */
const metricsLogger = {
  debug: (...a: unknown[]) => logger.debug(String(a[0])),
  info: (...a: unknown[]) => logger.info(String(a[0])),
  warn: (...a: unknown[]) => {
    const message = String(a[0]);
    if (/defined as both a dimension set and dimension set/.test(message)) logger.debug(message);
    else logger.warn(message);
  },
  error: (...a: unknown[]) => logger.error(String(a[0])),
};

export class PowertoolsMetrics implements MetricsPort {
  constructor(
    private readonly metrics = new Metrics({
      namespace: LAKEPORT_METRIC_NAMESPACE,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME || "lakeport",
      logger: metricsLogger,
    }),
  ) {}

  publish(subject: MetricSubject, values: readonly RunMetric[]): void {
    const finite = values.filter((v) => Number.isFinite(v.value));
    if (finite.length === 0) return;
    // An empty set is {service} alone (Powertools adds the service to every set).
    this.metrics.addDimensions({});
    this.metrics.addDimensions({ [METRIC_DIMENSIONS.repository]: subject.repository });
    if (subject.branch !== undefined) {
      this.metrics.addDimensions({
        [METRIC_DIMENSIONS.repository]: subject.repository,
        [METRIC_DIMENSIONS.branch]: subject.branch,
      });
    }
    for (const v of finite) this.metrics.addMetric(v.name, MetricUnit[v.unit], v.value);
    this.metrics.publishStoredMetrics();
  }
}

let shared: PowertoolsMetrics | undefined;
/** The function's metrics publisher, created once per container. */
export function powertoolsMetrics(): MetricsPort {
  shared ??= new PowertoolsMetrics();
  return shared;
}
