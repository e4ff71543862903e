// Alarms and a dashboard for everything Lakeport runs. Alarms: failed, timed-out and aborted
// executions, branches whose export is stuck in progress, Lambda errors per function, Lambda
// throttles folded into metric math over all functions, export failures and export lag from
// the exports' own metrics (over several datapoints), API 5xx and dead letters. One composite
// alarm is in ALARM when any of them is: it alone notifies the optional SNS topic, so on-call
// gets one page per incident, and its children say what is wrong. The dashboard adds
// export lag, throughput and GC panels.
import { Duration } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import {
  LAKEPORT_METRIC_NAMESPACE,
  RECOVERED_EXPORTS_METRIC,
  STUCK_EXPORTS_METRIC,
} from "../../lambdas/shared/metrics";
import { EXPORT_METRICS, GC_METRICS, METRIC_DIMENSIONS } from "../../lambdas/shared/run-metrics";
import { serviceNameOf } from "./function";

// The stuck-export check (lambdas/export/handlers/stuck-check.ts) publishes these as
// embedded metric format log lines every 5 minutes: 0 when nothing is stuck, so the alarm
// sees data.
export { LAKEPORT_METRIC_NAMESPACE, RECOVERED_EXPORTS_METRIC, STUCK_EXPORTS_METRIC };

export interface MonitoringProps {
  /** Every Lakeport function, by a readable name (alarm and widget labels). */
  functions: Record<string, lambda.IFunction>;
  /** The export and GC state machines, by a readable name. */
  stateMachines: Record<string, sfn.IStateMachine>;
  api?: apigw.RestApi;
  /** Queues whose messages are dropped events (e.g. the scheduled GC dead-letter queue). */
  deadLetterQueues?: Record<string, sqs.IQueue>;
  /** The composite alarm's notifications (ALARM and OK) go here when given. */
  alarmTopic?: sns.ITopic;
  /** Export lag (commit to status written) that counts as late. Default 15 minutes. */
  exportLagAlarm?: Duration;
}

const FIVE_MINUTES = Duration.minutes(5);
/** CloudWatch's limit of metrics in one metric math alarm. */
export const MAX_METRICS_PER_MATH_ALARM = 10;
/** The service dimension of the export and GC metrics (POWERTOOLS_SERVICE_NAME). */
export const EXPORT_SERVICE = serviceNameOf("lambdas/export/handlers/status.ts");
export const GC_SERVICE = serviceNameOf("lambdas/gc/handlers/summary.ts");

/** A Lakeport metric of the {service} dimension set (sum over repositories and branches). */
export function serviceMetric(
  service: string,
  metricName: string,
  statistic: string,
  period: Duration = FIVE_MINUTES,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: LAKEPORT_METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: service },
    statistic,
    period,
  });
}

interface AlarmSpec {
  metric: cloudwatch.IMetric;
  description: string;
  threshold?: number;
  /** Datapoints that must breach, of `evaluationPeriods`. Default 1 of 1. */
  datapointsToAlarm?: number;
  evaluationPeriods?: number;
}

export class Monitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly onCall: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      defaultInterval: Duration.days(1),
    });
    this.stateMachinePanels(props.stateMachines);
    this.exportPanels(props.exportLagAlarm ?? Duration.minutes(15));
    this.gcPanels();
    this.functionPanels(props.functions);
    this.apiAndQueuePanels(props);

    this.onCall = new cloudwatch.CompositeAlarm(this, "OnCall", {
      alarmRule: cloudwatch.AlarmRule.anyOf(...this.alarms),
      alarmDescription:
        "Lakeport: something needs attention (the alarms in ALARM inside this one say what)",
    });
    if (props.alarmTopic) {
      this.onCall.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.onCall.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: [this.onCall], width: 24 }),
    );
  }

  private alarmOn(name: string, spec: AlarmSpec): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, name, {
      metric: spec.metric,
      threshold: spec.threshold ?? 1,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      datapointsToAlarm: spec.datapointsToAlarm ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means nothing happened: no failure.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  private stateMachinePanels(stateMachines: Record<string, sfn.IStateMachine>): void {
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
    for (const [name, sm] of Object.entries(stateMachines)) {
      const failed = sm.metricFailed(sum);
      const timedOut = sm.metricTimedOut(sum);
      const aborted = sm.metricAborted(sum);
      const described = (what: string) => `Lakeport ${name}: executions ${what}`;
      this.alarmOn(`${name}ExecutionsFailed`, { metric: failed, description: described("failed") });
      this.alarmOn(`${name}ExecutionsTimedOut`, {
        metric: timedOut,
        description: described("timed out"),
      });
      this.alarmOn(`${name}ExecutionsAborted`, {
        metric: aborted,
        description: described("aborted"),
      });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${name} executions`,
          left: [sm.metricStarted(sum), sm.metricSucceeded(sum), failed, timedOut, aborted],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: `${name} execution time`,
          left: [sm.metricTime({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM })],
          width: 12,
        }),
      );
    }
  }

  /** Stuck exports, export failures and lag (alarms), throughput (panels). */
  private exportPanels(lagAlarm: Duration): void {
    const stuck = new cloudwatch.Metric({
      namespace: LAKEPORT_METRIC_NAMESPACE,
      metricName: STUCK_EXPORTS_METRIC,
      period: Duration.minutes(15),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    const recovered = new cloudwatch.Metric({
      namespace: LAKEPORT_METRIC_NAMESPACE,
      metricName: RECOVERED_EXPORTS_METRIC,
      period: Duration.minutes(15),
      statistic: cloudwatch.Stats.SUM,
    });
    this.alarmOn("ExportsStuckInProgress", {
      metric: stuck,
      description:
        "Lakeport: branches whose export is stuck in progress (never started, ended unrecorded - now export-failed, repair them - or running longer than the limit)",
    });
    const m = (name: string, stat: string) => serviceMetric(EXPORT_SERVICE, name, stat);
    const failures = m(EXPORT_METRICS.copyFailures, cloudwatch.Stats.SUM);
    const lag = m(EXPORT_METRICS.exportLagSeconds, cloudwatch.Stats.MAXIMUM);
    // Several datapoints: one failed or late export is an execution alarm already; these
    // say exports keep failing or keep lagging.
    this.alarmOn("ExportFailures", {
      metric: failures,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description:
        "Lakeport exports: failed operations (signalled_errors > 0) in 2 of the last 3 five-minute periods",
    });
    this.alarmOn("ExportLag", {
      metric: lag,
      threshold: lagAlarm.toSeconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `Lakeport exports: status written more than ${lagAlarm.toSeconds()} s after the commit, in 2 of the last 3 five-minute periods`,
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Export lag (commit to status written, seconds)",
        left: [lag, m(EXPORT_METRICS.exportLagSeconds, cloudwatch.Stats.AVERAGE)],
        leftAnnotations: [{ value: lagAlarm.toSeconds(), label: "alarm" }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Export throughput",
        left: [
          m(EXPORT_METRICS.objectsCopied, cloudwatch.Stats.SUM),
          m(EXPORT_METRICS.objectsDeleted, cloudwatch.Stats.SUM),
          failures,
        ],
        right: [m(EXPORT_METRICS.bytesCopied, cloudwatch.Stats.SUM)],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Exports stuck in progress",
        left: [stuck, recovered],
        width: 24,
      }),
    );
  }

  private gcPanels(): void {
    const m = (name: string, stat: string) => serviceMetric(GC_SERVICE, name, stat);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "GC objects marked and swept",
        left: [
          m(GC_METRICS.objectsMarked, cloudwatch.Stats.SUM),
          m(GC_METRICS.objectsSwept, cloudwatch.Stats.SUM),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "GC run time (seconds)",
        left: [m(GC_METRICS.gcRunSeconds, cloudwatch.Stats.MAXIMUM)],
        width: 12,
      }),
    );
  }

  /**
   * Errors: one alarm per function (which step broke). Throttles: folded, one metric math
   * alarm (SUM) per group of at most 10 functions, CloudWatch's limit for such an alarm.
   */
  private functionPanels(functions: Record<string, lambda.IFunction>): void {
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
    const errors: cloudwatch.IMetric[] = [];
    const throttles: cloudwatch.IMetric[] = [];
    for (const [name, fn] of Object.entries(functions)) {
      // A labelled metric renders as metric math: alarms get the plain metric.
      const e = fn.metricErrors(sum);
      this.alarmOn(`${name}Errors`, {
        metric: e,
        description: `Lakeport function ${name}: invocations failed`,
      });
      errors.push(e.with({ label: name }));
      throttles.push(fn.metricThrottles(sum).with({ label: name }));
    }
    const groups = chunks(Object.values(functions), MAX_METRICS_PER_MATH_ALARM);
    groups.forEach((group, g) => {
      const usingMetrics = Object.fromEntries(
        group.map((fn, i) => [`t${i}`, fn.metricThrottles(sum)]),
      );
      const total = new cloudwatch.MathExpression({
        expression: Object.keys(usingMetrics).join(" + "),
        usingMetrics,
        period: FIVE_MINUTES,
        label: "throttles",
      });
      const which = groups.length > 1 ? ` (group ${g + 1} of ${groups.length})` : "";
      this.alarmOn(groups.length > 1 ? `LambdaThrottles${g + 1}` : "LambdaThrottles", {
        metric: total,
        description: `Lakeport functions${which}: invocations throttled, summed over ${group.length} functions`,
      });
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "Lambda errors", left: errors, width: 12 }),
      new cloudwatch.GraphWidget({ title: "Lambda throttles", left: throttles, width: 12 }),
    );
  }

  private apiAndQueuePanels(props: MonitoringProps): void {
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
    if (props.api) {
      const serverErrors = props.api.metricServerError(sum);
      this.alarmOn("Api5xx", { metric: serverErrors, description: "Lakeport API: 5xx responses" });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "API requests and errors",
          left: [props.api.metricCount(sum), props.api.metricClientError(sum), serverErrors],
          width: 24,
        }),
      );
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues ?? {})) {
      const visible = queue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: cloudwatch.Stats.MAXIMUM,
      });
      this.alarmOn(`${name}DeadLetters`, {
        metric: visible,
        description: `Lakeport ${name}: events could not be delivered`,
      });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: `${name} dead letters`, left: [visible], width: 24 }),
      );
    }
  }
}

/** The fewest groups of at most `size`, as even as can be (21 in 10s: 7, 7, 7). */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const count = Math.ceil(items.length / size);
  const out: T[][] = [];
  for (let g = 0; g < count; g++) {
    out.push(
      items.slice(
        Math.floor((g * items.length) / count),
        Math.floor(((g + 1) * items.length) / count),
      ),
    );
  }
  return out;
}
