// The Lakeport construct: everything Lakeport deploys, for `cdk deploy` of infra/app.ts or for
// adding Lakeport to an existing CDK app as one construct (`import { Lakeport } from
// "lakeport"`). Props are shaped for jsii (readonly, interfaces, no unions); the cdk-nag
// findings Lakeport accepts are acknowledged on its own resources, at any nesting depth.
import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { API_BASE_PATH, SCHEDULED_HEADER } from "../lambdas/api/routes";
import {
  DEFAULT_MAX_MARK_AGE_HOURS,
  MAX_MARK_AGE_HOURS_LIMIT,
} from "../lambdas/gc/domain/mark-lifecycle";
import { GC_MODES, type GcMode } from "../lambdas/gc/domain/workflow-input";
import { hasUserInfo } from "../lambdas/shared/url-user-info";
import { Api } from "./constructs/api";
import { ExportWorkflow } from "./constructs/export";
import { ensureStateMachineObservability, type LakeFsNetwork } from "./constructs/function";
import { GcWorkflow } from "./constructs/gc";
import { Monitoring } from "./constructs/monitoring";
import type { WorkflowProps } from "./constructs/shared-props";
import { Storage } from "./constructs/storage";
import { type AcceptedFinding, acceptedFindings, acknowledgeAcceptedFindings } from "./nag";

/** A recurring GC run of one repository, started like `POST .../gc/runs` would start it. */
export interface GcSchedule {
  /** lakeFS repository id. */
  readonly repository: string;
  /** EventBridge Scheduler expression: `cron(0 3 ? * SUN *)` or `rate(1 day)`. */
  readonly expression: string;
  /** mark-and-sweep (default), mark-only or sweep-only. */
  readonly mode?: string;
  /** IANA time zone of a cron expression (default UTC). */
  readonly timeZone?: string;
}

export interface LakeportProps {
  /** lakeFS API endpoint reachable from Lambda, e.g. https://lakefs.example.com */
  readonly lakeFsEndpoint: string;
  /**
   * Secrets Manager secret with JSON {"accessKeyId", "secretAccessKey"} of a lakeFS user
   * (its customer managed key, if the ISecret carries one, is granted too).
   */
  readonly lakeFsSecret: secrets.ISecret;
  /** Buckets holding the repositories' storage namespaces (read by export, cleaned by GC). */
  readonly storageBuckets: s3.IBucket[];
  /** Buckets continuous export may write to. */
  readonly exportBuckets: s3.IBucket[];
  /**
   * Customer managed key of Lakeport's own data: the state table, the work bucket and every
   * Lakeport log group. Default: AWS managed encryption. Lakeport's functions and state
   * machines get kms:Decrypt/Encrypt/GenerateDataKey on it; a key created in the same app also
   * gets the key policy statement CloudWatch Logs needs (an imported key needs it added).
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Customer managed keys (SSE-KMS) of storage or export buckets: the export and GC functions
   * get kms:Decrypt and kms:GenerateDataKey on them. The key of a bucket that carries one
   * (IBucket.encryptionKey) is included without being listed.
   */
  readonly bucketKeys?: kms.IKey[];
  /**
   * A VPC from which lakeFS is reachable: every function that calls lakeFS runs in it (it
   * also needs S3, DynamoDB, Secrets Manager and Step Functions: NAT or VPC endpoints).
   * Default: functions run outside any VPC.
   */
  readonly vpc?: ec2.IVpc;
  /** Subnets of `vpc` for those functions (default: the VPC's private subnets). */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups of those functions (default: one Lakeport creates, allowing all outbound
   * traffic and no inbound).
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Concurrent child executions per distributed map (default 50). */
  readonly maxConcurrency?: number;
  /** Retention of every Lakeport log group (default three months). */
  readonly logRetention?: logs.RetentionDays;
  /** Keep (default) or destroy the table and work bucket when the stack is deleted. */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Reserved concurrency of every Lakeport Lambda: a hard cap on a runaway fan-out (and a
   * guarantee they are not starved by other functions). Default: none, because reserving
   * fails in accounts whose concurrency quota is low (new accounts have 10); the distributed
   * maps are capped by maxConcurrency and the API by its throttling either way. At least
   * maxConcurrency: a map's children beyond it would be throttled.
   */
  readonly reservedConcurrency?: number;
  /** Recurring GC runs (EventBridge Scheduler invoking the API's GC start logic). */
  readonly gcSchedules?: GcSchedule[];
  /** Alarm and OK notifications of every Lakeport alarm. */
  readonly alarmTopic?: sns.ITopic;
  /** API requests per second (burst twice that); default 50. */
  readonly apiRateLimit?: number;
  /**
   * A running export older than this counts as stuck in progress (alarm). Default 6 hours;
   * from 15 minutes to 24 hours (the export state machine's timeout).
   */
  readonly stuckExportAfter?: Duration;
  /**
   * A GC mark older than this cannot be swept: its view of the repository is stale (hours,
   * 1 to 168; default 24).
   */
  readonly maxMarkAgeHours?: number;
}

const REPOSITORY_ID = /^[a-z0-9][a-z0-9-]{2,62}$/;
const SCHEDULE_EXPRESSION = /^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/;

export class Lakeport extends Construct {
  readonly storage: Storage;
  readonly eventBus: events.EventBus;
  readonly exportWorkflow: ExportWorkflow;
  readonly gcWorkflow: GcWorkflow;
  readonly api: Api;
  readonly webhookSecret: secrets.Secret;
  readonly monitoring: Monitoring;
  /**
   * Events that could not be delivered: EventBridge rule targets, scheduled GC runs and
   * asynchronous Lambda invocations that failed after their retries.
   */
  readonly eventDeadLetters: sqs.Queue;

  private readonly props: LakeportProps;

  constructor(scope: Construct, id: string, props: LakeportProps) {
    super(scope, id);
    this.props = props;
    validateProps(props);
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const logsKey = props.encryptionKey;
    this.storage = new Storage(this, "Storage", {
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
    this.eventBus = new events.EventBus(this, "Bus", {});
    const lakeFsSecret = props.lakeFsSecret;
    const lakeFsNetwork = this.lakeFsNetwork(props);
    this.webhookSecret = new secrets.Secret(this, "WebhookSecret", {
      description: "Shared secret lakeFS sends to the Lakeport webhook in X-Lakeport-Token",
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });
    const workflowProps: WorkflowProps = {
      table: this.storage.table,
      workBucket: this.storage.workBucket,
      eventBus: this.eventBus,
      lakeFsEndpoint: props.lakeFsEndpoint,
      lakeFsSecret,
      storageBuckets: props.storageBuckets,
      exportBuckets: props.exportBuckets,
      maxConcurrency: props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
      logRetention,
      ...(lakeFsNetwork ? { lakeFsNetwork } : {}),
      ...(logsKey ? { logsKey } : {}),
    };
    this.exportWorkflow = new ExportWorkflow(this, "Export", {
      ...workflowProps,
      ...(props.stuckExportAfter ? { export: { stuckAfter: props.stuckExportAfter } } : {}),
    });
    this.gcWorkflow = new GcWorkflow(this, "Gc", {
      ...workflowProps,
      maxMarkAgeHours: props.maxMarkAgeHours ?? DEFAULT_MAX_MARK_AGE_HOURS,
    });
    this.api = new Api(this, "Api", {
      table: this.storage.table,
      eventBus: this.eventBus,
      exportStateMachine: this.exportWorkflow.stateMachine,
      gcStateMachine: this.gcWorkflow.stateMachine,
      lakeFsEndpoint: props.lakeFsEndpoint,
      lakeFsSecret,
      webhookSecret: this.webhookSecret,
      exportBucketNames: props.exportBuckets.map((b) => b.bucketName),
      workBucketName: this.storage.workBucket.bucketName,
      logRetention,
      ...(lakeFsNetwork ? { lakeFsNetwork } : {}),
      ...(logsKey ? { logsKey } : {}),
      maxMarkAgeHours: props.maxMarkAgeHours ?? DEFAULT_MAX_MARK_AGE_HOURS,
      ...(props.apiRateLimit !== undefined ? { rateLimit: props.apiRateLimit } : {}),
    });

    const stateMachines = this.stateMachines();
    // Logging (ALL) and X-Ray for every state machine, whatever their constructs set.
    for (const sm of Object.values(stateMachines))
      ensureStateMachineObservability(sm, logRetention, logsKey);

    this.eventDeadLetters = new sqs.Queue(this, "EventDeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    if (props.gcSchedules?.length) this.scheduleGc(props.gcSchedules);
    this.deadLetterEveryRuleTarget();

    const functions = this.functions();
    if (props.reservedConcurrency !== undefined) {
      for (const fn of Object.values(functions)) {
        (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions =
          props.reservedConcurrency;
      }
    }
    this.monitoring = new Monitoring(this, "Monitoring", {
      functions,
      stateMachines,
      api: this.api.restApi,
      deadLetterQueues: { Events: this.eventDeadLetters },
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });
    this.grantKeys(props);
    // Acknowledged when the app is synthesized, so that whatever is added to Lakeport's
    // resources after this constructor (grants, policies) is checked as it will be deployed.
    this.node.addValidation({
      validate: () => {
        acknowledgeAcceptedFindings(this, this.acceptedNagFindings());
        return [];
      },
    });
  }

  /** The cdk-nag findings Lakeport accepts, naming its own resources and the given buckets. */
  acceptedNagFindings(): AcceptedFinding[] {
    return acceptedFindings({
      stack: Stack.of(this),
      buckets: [...this.props.storageBuckets, ...this.props.exportBuckets],
      storageBuckets: this.props.storageBuckets,
      workBucket: this.storage.workBucket,
      table: this.storage.table,
      functions: Object.values(this.functions()),
      stateMachines: Object.values(this.stateMachines()),
    });
  }

  /** Where the functions that call lakeFS run: the given VPC, or none. */
  private lakeFsNetwork(props: LakeportProps): LakeFsNetwork | undefined {
    if (!props.vpc) return undefined;
    const securityGroups = props.securityGroups?.length
      ? props.securityGroups
      : [
          new ec2.SecurityGroup(this, "LakeFsClientSecurityGroup", {
            vpc: props.vpc,
            description: "Lakeport functions that call lakeFS: outbound only",
            allowAllOutbound: true,
          }),
        ];
    return {
      vpc: props.vpc,
      securityGroups,
      ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
    };
  }

  /**
   * KMS: Lakeport's own key for every function and state machine that reaches the table or
   * the work bucket and its shards (not the API's OpenAPI document nor the export's finish
   * step, which call no AWS service); the storage and export buckets' keys for the export and
   * GC functions.
   */
  private grantKeys(props: LakeportProps): void {
    const own = props.encryptionKey;
    if (own) {
      const noAwsCalls = new Set<lambda.IFunction>([
        this.api.functions.meta,
        this.exportWorkflow.functions.finish,
      ]);
      const users = [
        ...Object.values(this.functions()).filter((f) => !noAwsCalls.has(f)),
        ...Object.values(this.stateMachines()),
      ];
      for (const g of users)
        own.grant(g, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey");
      // CloudWatch Logs encrypts the log groups with it (a no-op on an imported key).
      const stack = Stack.of(this);
      own.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
          actions: [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
          ],
          resources: ["*"],
          conditions: {
            ArnLike: {
              "kms:EncryptionContext:aws:logs:arn": stack.formatArn({
                service: "logs",
                resource: "log-group",
                resourceName: "*",
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
    }
    const bucketKeys = [
      ...(props.bucketKeys ?? []),
      ...[...props.storageBuckets, ...props.exportBuckets].flatMap((b) =>
        b.encryptionKey ? [b.encryptionKey] : [],
      ),
    ];
    const workflowFunctions = [
      ...Object.values(this.exportWorkflow.functions),
      ...Object.values(this.gcWorkflow.functions),
    ];
    for (const key of new Set(bucketKeys)) {
      for (const f of workflowFunctions) key.grant(f, "kms:Decrypt", "kms:GenerateDataKey");
    }
  }

  /** Every state machine of this construct, named by its construct path ("GcStateMachine"). */
  stateMachines(): Record<string, sfn.StateMachine> {
    return this.byPath((c): c is sfn.StateMachine => c instanceof sfn.StateMachine);
  }

  private byPath<T extends Construct>(is: (c: unknown) => c is T): Record<string, T> {
    const found: Record<string, T> = {};
    for (const c of this.node.findAll()) {
      if (!is(c)) continue;
      const rel = c.node.path.slice(this.node.path.length + 1);
      found[rel.replace(/[^A-Za-z0-9]/g, "")] = c as T;
    }
    return found;
  }

  /**
   * Every EventBridge rule target gets the dead-letter queue (events EventBridge could not
   * deliver after its retries), and every Lambda a rule invokes gets it as the on-failure
   * destination of its asynchronous invocations (events the function failed on after Lambda's
   * retries). Applied here so rules added by the workflow constructs are covered too.
   */
  private deadLetterEveryRuleTarget(): void {
    const stack = Stack.of(this);
    const functions = Object.values(this.functions());
    const asyncConfigured = new Set<lambda.Function>();
    for (const rule of Object.values(
      this.byPath((c): c is events.Rule => c instanceof events.Rule),
    )) {
      const cfn = rule.node.defaultChild as events.CfnRule;
      const targets = stack.resolve(cfn.targets) as { arn: unknown; deadLetterConfig?: unknown }[];
      targets.forEach((target, i) => {
        if (!target.deadLetterConfig) {
          cfn.addPropertyOverride(
            `Targets.${i}.DeadLetterConfig.Arn`,
            this.eventDeadLetters.queueArn,
          );
        }
        const fn = functions.find(
          (f) => JSON.stringify(stack.resolve(f.functionArn)) === JSON.stringify(target.arn),
        );
        if (fn && !asyncConfigured.has(fn)) {
          asyncConfigured.add(fn);
          this.onFailureToDeadLetters(fn);
        }
      });
      this.eventDeadLetters.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal("events.amazonaws.com")],
          actions: ["sqs:SendMessage"],
          resources: [this.eventDeadLetters.queueArn],
          conditions: { ArnEquals: { "aws:SourceArn": rule.ruleArn } },
        }),
      );
    }
  }

  private onFailureToDeadLetters(fn: lambda.Function): void {
    fn.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.eventDeadLetters),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
  }

  /** Every Lambda function of this construct, named by its construct path ("GcCommitsFunction"). */
  functions(): Record<string, lambda.Function> {
    return this.byPath((c): c is lambda.Function => c instanceof lambda.Function);
  }

  /**
   * One EventBridge Scheduler schedule per entry, invoking the API's GC function with the
   * API Gateway event of `POST /api/v1/repositories/{repository}/gc/runs`: the same
   * validation, "one run at a time" rule and run record as a run started through the API.
   * Invocations the scheduler cannot deliver (after its retries) land in a dead-letter queue.
   */
  private scheduleGc(schedules: GcSchedule[]): void {
    const deadLetters = this.eventDeadLetters;
    const gcFunction = this.api.functions.gc;
    const role = new iam.Role(this, "GcSchedulerRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
      }),
      description: "EventBridge Scheduler: start scheduled Lakeport GC runs",
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [gcFunction.functionArn],
      }),
    );
    deadLetters.grantSendMessages(role);
    const resource = `${API_BASE_PATH}/repositories/{repository}/gc/runs`;
    for (const s of schedules) {
      const mode = s.mode ?? "mark-and-sweep";
      const event = {
        httpMethod: "POST",
        resource,
        path: resource.replace("{repository}", s.repository),
        pathParameters: { repository: s.repository },
        queryStringParameters: null,
        // A busy repository then records a skipped run instead of answering 409.
        headers: { "content-type": "application/json", [SCHEDULED_HEADER]: "schedule" },
        body: JSON.stringify({ mode }),
        isBase64Encoded: false,
      };
      new scheduler.CfnSchedule(this, `GcSchedule-${s.repository}`, {
        description: `Lakeport: ${mode} GC of repository ${s.repository}`,
        scheduleExpression: s.expression,
        scheduleExpressionTimezone: s.timeZone ?? "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: gcFunction.functionArn,
          roleArn: role.roleArn,
          input: JSON.stringify(event),
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          deadLetterConfig: { arn: deadLetters.queueArn },
        },
      });
    }
    // The GC function answers errors as HTTP responses; a crash or timeout goes here.
    this.onFailureToDeadLetters(gcFunction);
  }
}

/** Child executions per distributed map when maxConcurrency is not given. */
const DEFAULT_MAX_CONCURRENCY = 50;

/** Fails synthesis with a message naming the bad prop. */
export function validateProps(props: LakeportProps): void {
  // Not repeated: the URL's password would be in the message.
  if (!Token.isUnresolved(props.lakeFsEndpoint) && hasUserInfo(props.lakeFsEndpoint)) {
    throw new Error(
      "lakeFsEndpoint: must not carry credentials (user:password@): lakeFsSecret holds lakeFS's key pair",
    );
  }
  if (
    !Token.isUnresolved(props.lakeFsEndpoint) &&
    !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(props.lakeFsEndpoint)
  ) {
    throw new Error(`lakeFsEndpoint: "${props.lakeFsEndpoint}" is not an http(s) URL`);
  }
  for (const [field, buckets] of [
    ["storageBuckets", props.storageBuckets],
    ["exportBuckets", props.exportBuckets],
  ] as const) {
    if (buckets.length === 0) throw new Error(`${field}: at least one bucket`);
    for (const { bucketName: b } of buckets) {
      // A token (a bucket of this app, an imported value) is named by CloudFormation.
      if (!Token.isUnresolved(b) && !isBucketName(b)) {
        throw new Error(`${field}: "${b}" is not a valid S3 bucket name`);
      }
    }
  }
  if (props.securityGroups?.length && !props.vpc) {
    throw new Error("securityGroups: given without vpc");
  }
  if (props.vpcSubnets && !props.vpc) throw new Error("vpcSubnets: given without vpc");
  const positive = (field: string, v: number | undefined, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) {
      throw new Error(`${field}: must be a whole number from 1 to ${max} (got ${v})`);
    }
  };
  positive("maxConcurrency", props.maxConcurrency, 10000);
  positive("reservedConcurrency", props.reservedConcurrency, 10000);
  // A distributed map's children invoke one function synchronously, maxConcurrency at a time:
  // Lambda throttles those beyond its reserved concurrency at once, and a child's throttle
  // retries (about two minutes) end before a running batch (up to 15 minutes) frees a slot.
  const maxConcurrency = props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  if (props.reservedConcurrency !== undefined && props.reservedConcurrency < maxConcurrency) {
    throw new Error(
      `reservedConcurrency: ${props.reservedConcurrency} is below maxConcurrency (${maxConcurrency}); a distributed map's children would be throttled: lower maxConcurrency or raise reservedConcurrency`,
    );
  }
  positive("apiRateLimit", props.apiRateLimit, 10000);
  if (props.stuckExportAfter && !props.stuckExportAfter.isUnresolved()) {
    const minutes = props.stuckExportAfter.toMinutes({ integral: false });
    if (minutes < 15 || minutes > 24 * 60) {
      throw new Error(
        `stuckExportAfter: must be from 15 minutes to 24 hours (got ${props.stuckExportAfter.toHumanString()})`,
      );
    }
  }
  const age = props.maxMarkAgeHours;
  if (age !== undefined && (!Number.isInteger(age) || age < 1 || age > MAX_MARK_AGE_HOURS_LIMIT)) {
    throw new Error(
      `maxMarkAgeHours: must be a whole number of hours from 1 to ${MAX_MARK_AGE_HOURS_LIMIT} (got ${age})`,
    );
  }
  const seen = new Set<string>();
  for (const [i, s] of (props.gcSchedules ?? []).entries()) {
    const field = `gcSchedules[${i}]`;
    if (!REPOSITORY_ID.test(s.repository)) {
      throw new Error(`${field}.repository: "${s.repository}" is not a lakeFS repository id`);
    }
    if (seen.has(s.repository)) throw new Error(`${field}.repository: "${s.repository}" twice`);
    seen.add(s.repository);
    if (!SCHEDULE_EXPRESSION.test(s.expression)) {
      throw new Error(
        `${field}.expression: "${s.expression}" is not a schedule expression like cron(0 3 ? * SUN *) or rate(1 day)`,
      );
    }
    if (s.mode !== undefined && !GC_MODES.includes(s.mode as GcMode)) {
      throw new Error(`${field}.mode: must be one of ${GC_MODES.join(", ")}`);
    }
  }
}

/** S3 bucket naming rules (general purpose buckets). */
export function isBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.endsWith("-s3alias")
  );
}
