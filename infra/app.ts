// `cdk deploy` entry point. Every setting comes from context (`-c key=value` or the "context"
// of cdk.json) or the environment (LAKEPORT_*), context first:
//
//   context key          environment                       meaning
//   stackName            LAKEPORT_STACK_NAME               stack name (default Lakeport)
//   lakeFsEndpoint       LAKEPORT_LAKEFS_ENDPOINT          lakeFS URL reachable from Lambda (required)
//   lakeFsSecretArn      LAKEPORT_LAKEFS_SECRET_ARN        complete ARN of the secret with
//                                                          {"accessKeyId","secretAccessKey"} (required)
//   storageBuckets       LAKEPORT_STORAGE_BUCKETS          comma-separated storage namespace buckets (required)
//   exportBuckets        LAKEPORT_EXPORT_BUCKETS           comma-separated export target buckets (required)
//   maxConcurrency       LAKEPORT_MAX_CONCURRENCY          children per distributed map (default 50)
//   reservedConcurrency  LAKEPORT_RESERVED_CONCURRENCY     reserved concurrency per Lambda (default none), at least maxConcurrency
//   logRetentionDays     LAKEPORT_LOG_RETENTION_DAYS       a CloudWatch retention in days (default 90)
//   removalPolicy        LAKEPORT_REMOVAL_POLICY           retain (default) or destroy: table and buckets
//   apiRateLimit         LAKEPORT_API_RATE_LIMIT           API requests per second (default 50)
//   stuckExportMinutes   LAKEPORT_STUCK_EXPORT_MINUTES     a running export older than this is
//                                                          "stuck in progress" (default 360)
//   maxMarkAgeHours      LAKEPORT_MAX_MARK_AGE_HOURS       a GC mark older than this cannot be swept
//                                                          (1 to 168, default 24)
//   alarmTopicArn        LAKEPORT_ALARM_TOPIC_ARN          SNS topic for alarm notifications (optional)
//   gcSchedules          LAKEPORT_GC_SCHEDULES             JSON list of {repository, expression,
//                                                          mode?, timeZone?} (optional)
//
// The checks of cdk-nag's AWS Solutions pack run on the whole app: a finding the Lakeport
// construct does not accept (infra/nag.ts) fails `cdk synth`.
import { App, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { GcSchedule } from "./lakeport";
import { lakeportNagChecks } from "./nag";
import { LakeportStack, type LakeportStackSettings } from "./stack";

export class SettingError extends Error {
  override name = "SettingError";
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** Reads and checks the settings; errors name the context key and the variable. */
export function lakeportPropsFromSettings(read: (key: string, envName: string) => unknown): {
  stackName: string;
  lakeport: LakeportStackSettings;
  alarmTopicArn?: string;
} {
  const raw = (key: string, envName: string): unknown => {
    const v = read(key, envName);
    return v === "" ? undefined : v;
  };
  const fail = (key: string, envName: string, problem: string): never => {
    throw new SettingError(`setting ${key} (-c ${key}=... or ${envName}): ${problem}`);
  };
  const required = (key: string, envName: string): string => {
    const v = raw(key, envName);
    if (v === undefined) return fail(key, envName, "missing");
    return String(v);
  };
  const list = (key: string, envName: string): string[] => {
    const v = raw(key, envName);
    if (v === undefined) return fail(key, envName, "missing");
    const items = Array.isArray(v)
      ? v.map(String)
      : String(v)
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean);
    if (items.length === 0) fail(key, envName, "at least one bucket name");
    return items;
  };
  const wholeNumber = (key: string, envName: string): number | undefined => {
    const v = raw(key, envName);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) fail(key, envName, `"${v}" is not a whole number >= 1`);
    return n;
  };

  const retentionDays = wholeNumber("logRetentionDays", "LAKEPORT_LOG_RETENTION_DAYS") ?? 90;
  const retentions = Object.values(logs.RetentionDays).filter(
    (d): d is logs.RetentionDays => typeof d === "number",
  );
  if (!retentions.includes(retentionDays as logs.RetentionDays)) {
    fail(
      "logRetentionDays",
      "LAKEPORT_LOG_RETENTION_DAYS",
      `${retentionDays} is not a CloudWatch Logs retention (${retentions.join(", ")})`,
    );
  }

  const removal = String(raw("removalPolicy", "LAKEPORT_REMOVAL_POLICY") ?? "retain");
  if (removal !== "retain" && removal !== "destroy") {
    fail("removalPolicy", "LAKEPORT_REMOVAL_POLICY", `"${removal}" is not retain or destroy`);
  }

  const schedulesRaw = raw("gcSchedules", "LAKEPORT_GC_SCHEDULES");
  let gcSchedules: GcSchedule[] | undefined;
  if (schedulesRaw !== undefined) {
    let parsed: unknown = schedulesRaw;
    if (typeof schedulesRaw === "string") {
      try {
        parsed = JSON.parse(schedulesRaw);
      } catch {
        fail("gcSchedules", "LAKEPORT_GC_SCHEDULES", "is not JSON");
      }
    }
    if (!Array.isArray(parsed)) {
      fail(
        "gcSchedules",
        "LAKEPORT_GC_SCHEDULES",
        "must be a JSON list of {repository, expression}",
      );
    }
    gcSchedules = parsed as GcSchedule[];
  }

  const topicArn = raw("alarmTopicArn", "LAKEPORT_ALARM_TOPIC_ARN");
  if (topicArn !== undefined && !TOPIC_ARN.test(String(topicArn))) {
    fail("alarmTopicArn", "LAKEPORT_ALARM_TOPIC_ARN", `"${topicArn}" is not an SNS topic ARN`);
  }

  const maxConcurrency = wholeNumber("maxConcurrency", "LAKEPORT_MAX_CONCURRENCY");
  const reservedConcurrency = wholeNumber("reservedConcurrency", "LAKEPORT_RESERVED_CONCURRENCY");
  const apiRateLimit = wholeNumber("apiRateLimit", "LAKEPORT_API_RATE_LIMIT");
  const stuckExportMinutes = wholeNumber("stuckExportMinutes", "LAKEPORT_STUCK_EXPORT_MINUTES");
  if (stuckExportMinutes !== undefined && (stuckExportMinutes < 15 || stuckExportMinutes > 1440)) {
    fail(
      "stuckExportMinutes",
      "LAKEPORT_STUCK_EXPORT_MINUTES",
      `${stuckExportMinutes} is not from 15 to 1440 minutes`,
    );
  }
  const maxMarkAgeHours = wholeNumber("maxMarkAgeHours", "LAKEPORT_MAX_MARK_AGE_HOURS");
  if (maxMarkAgeHours !== undefined && (maxMarkAgeHours < 1 || maxMarkAgeHours > 168)) {
    fail(
      "maxMarkAgeHours",
      "LAKEPORT_MAX_MARK_AGE_HOURS",
      `${maxMarkAgeHours} is not from 1 to 168 hours`,
    );
  }
  return {
    stackName: String(raw("stackName", "LAKEPORT_STACK_NAME") ?? "Lakeport"),
    lakeport: {
      lakeFsEndpoint: required("lakeFsEndpoint", "LAKEPORT_LAKEFS_ENDPOINT"),
      lakeFsSecretArn: required("lakeFsSecretArn", "LAKEPORT_LAKEFS_SECRET_ARN"),
      storageBuckets: list("storageBuckets", "LAKEPORT_STORAGE_BUCKETS"),
      exportBuckets: list("exportBuckets", "LAKEPORT_EXPORT_BUCKETS"),
      logRetention: retentionDays as logs.RetentionDays,
      removalPolicy: removal === "destroy" ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
      ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
      ...(apiRateLimit !== undefined ? { apiRateLimit } : {}),
      ...(stuckExportMinutes !== undefined
        ? { stuckExportAfter: Duration.minutes(stuckExportMinutes) }
        : {}),
      ...(gcSchedules ? { gcSchedules } : {}),
      ...(maxMarkAgeHours !== undefined ? { maxMarkAgeHours } : {}),
    },
    ...(topicArn !== undefined ? { alarmTopicArn: String(topicArn) } : {}),
  };
}

export function buildApp(app = new App()) {
  const {
    stackName,
    lakeport: props,
    alarmTopicArn,
  } = lakeportPropsFromSettings(
    (key, envName) => app.node.tryGetContext(key) ?? process.env[envName],
  );
  new LakeportStack(app, stackName, {
    env: {
      ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
      ...(process.env.CDK_DEFAULT_REGION ? { region: process.env.CDK_DEFAULT_REGION } : {}),
    },
    lakeport: props,
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
  });
  Validations.of(app).addPlugins(lakeportNagChecks(app));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildApp().synth();
  } catch (err) {
    // Setting and prop errors name the setting: print the message, not a stack trace.
    if (!(err instanceof Error) || /^(SettingError|Error)$/.test(err.name) === false) throw err;
    console.error(`Lakeport: ${err.message}`);
    process.exit(1);
  }
}
