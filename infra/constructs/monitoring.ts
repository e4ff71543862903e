// Alarms and a dashboard for everything Lakeport runs: failed, timed-out and aborted export
// and GC executions, branches whose export is stuck in progress, Lambda errors and throttles,
// API 5xx, and the dead-letter queue of scheduled GC runs. Alarm actions go to an optional
// SNS topic.
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
  /** Alarm (and OK) notifications go here when given. */
  alarmTopic?: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const alarmOn = (name: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing happened: no failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
        alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
      }
      this.alarms.push(alarm);
      return alarm;
    };
    const sum = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      defaultInterval: Duration.days(1),
    });

    for (const [name, sm] of Object.entries(props.stateMachines)) {
      const failed = sm.metricFailed(sum);
      const timedOut = sm.metricTimedOut(sum);
      const aborted = sm.metricAborted(sum);
      alarmOn(`${name}ExecutionsFailed`, failed, `Lakeport ${name}: executions failed`);
      alarmOn(`${name}ExecutionsTimedOut`, timedOut, `Lakeport ${name}: executions timed out`);
      alarmOn(`${name}ExecutionsAborted`, aborted, `Lakeport ${name}: executions aborted`);
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
    alarmOn(
      "ExportsStuckInProgress",
      stuck,
      "Lakeport: branches whose export is stuck in progress (never started, ended unrecorded - now export-failed, repair them - or running longer than the limit)",
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Exports stuck in progress",
        left: [stuck, recovered],
        width: 24,
      }),
    );

    const errors: cloudwatch.IMetric[] = [];
    const throttles: cloudwatch.IMetric[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      // A labelled metric renders as metric math: alarms get the plain metric.
      const e = fn.metricErrors(sum);
      const t = fn.metricThrottles(sum);
      alarmOn(`${name}Errors`, e, `Lakeport function ${name}: invocations failed`);
      alarmOn(`${name}Throttles`, t, `Lakeport function ${name}: invocations throttled`);
      errors.push(e.with({ label: name }));
      throttles.push(t.with({ label: name }));
    }
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "Lambda errors", left: errors, width: 12 }),
      new cloudwatch.GraphWidget({ title: "Lambda throttles", left: throttles, width: 12 }),
    );

    if (props.api) {
      const serverErrors = props.api.metricServerError(sum);
      alarmOn("Api5xx", serverErrors, "Lakeport API: 5xx responses");
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
      alarmOn(`${name}DeadLetters`, visible, `Lakeport ${name}: events could not be delivered`);
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: `${name} dead letters`, left: [visible], width: 24 }),
      );
    }
  }
}
