// cdk-nag (AWS Solutions) findings Lakeport accepts, each with the reason it is accepted.
//
// cdk-nag 3 acknowledges exact finding ids only (no prefixes), and IAM5 finding ids embed
// logical ids and bucket ARNs. So the accepted findings are patterns (rule id + construct
// path below the Lakeport construct), built from references to Lakeport's own resources (their
// logical ids and ARNs as cdk-nag renders them), matched against a dry run of the checks on
// the Lakeport construct; each match is acknowledged on its resource with CDK's Validations
// API, which the real check at synthesis honours and records. The Lakeport construct does this
// itself when the app is synthesized, wherever it sits in the construct tree. A finding no
// pattern matches stays and fails `cdk synth`.
import {
  type CfnElement,
  type IPolicyValidationPlugin,
  type Stack,
  Validations,
} from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { EXPORT_WORK_ROOT } from "../lambdas/export/domain/work-layout";
import { BACKUP_RECORD_NAME } from "../lambdas/gc/domain/backup-record";
import { GC_OUTPUT_PREFIXES, GC_WORK_ROOT } from "../lambdas/gc/domain/paths";

export interface AcceptedFinding {
  /** The finding id, e.g. AwsSolutions-IAM5[Resource::*]. */
  rule: RegExp;
  /** Construct path of the flagged resource, below the Lakeport construct. */
  path: RegExp;
  reason: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const LAKEPORT_FUNCTION = /^(Api|Export|Gc)\/\w+Function\//;
/** Function roles of the export and GC workflows (not the API). */
const WORKFLOW_FUNCTION_POLICY = /^(Export|Gc)\/\w+Function\/ServiceRole\/DefaultPolicy\//;
const STATE_MACHINE_POLICY =
  /^(Export|Gc)\/\w*StateMachine\/(Role\/DefaultPolicy|DistributedMapPolicy)\//;

/** Lakeport's resources the accepted findings name. */
export interface LakeportNagReferences {
  stack: Stack;
  /** Storage and export buckets. */
  buckets: s3.IBucket[];
  storageBuckets: s3.IBucket[];
  workBucket: s3.IBucket;
  table: dynamodb.ITable;
  functions: lambda.IFunction[];
  stateMachines: sfn.StateMachine[];
}

/**
 * A value (an ARN with tokens) as cdk-nag writes it in a finding id: Fn::Join joined,
 * `<LogicalId.Attr>` for Fn::GetAtt, `<LogicalId>` for Ref, anything else as JSON.
 */
export function nagText(stack: Stack, value: unknown): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return "";
    if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
    const n = node as Record<string, unknown>;
    if (n["Fn::Join"]) {
      const [delimiter, items] = n["Fn::Join"] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (n["Fn::Sub"]) return visit(n["Fn::Sub"]);
    if (n["Fn::GetAtt"]) {
      const [resource, attribute] = n["Fn::GetAtt"] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (n["Fn::ImportValue"]) return visit(n["Fn::ImportValue"]);
    if (n.Ref) return `<${visit(n.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}

const logicalIdOf = (stack: Stack, c: IConstruct) =>
  stack.resolve((c.node.defaultChild as CfnElement).logicalId) as string;
const oneOf = (texts: string[]) => `(${[...new Set(texts)].map(esc).join("|")})`;

/** Accepted findings that name no resource of a particular deployment. */
const FIXED_ACCEPTED_FINDINGS: AcceptedFinding[] = [
  {
    rule: /^AwsSolutions-L1$/,
    path: LAKEPORT_FUNCTION,
    reason:
      "Node.js 22 is the runtime Lakeport is built and tested for (esbuild target node22); moving to a newer runtime is a tested change, not a default.",
  },
  {
    rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole\]$/,
    path: LAKEPORT_FUNCTION,
    reason:
      "AWSLambdaBasicExecutionRole only allows writing the function's own CloudWatch logs (CreateLogGroup/CreateLogStream/PutLogEvents).",
  },
  {
    rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/AWSXRayDaemonWriteAccess\]$/,
    path: LAKEPORT_FUNCTION,
    reason: "Only sends traces and reads sampling rules; X-Ray has no resource-level ARNs.",
  },
  {
    rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaVPCAccessExecutionRole\]$/,
    path: LAKEPORT_FUNCTION,
    reason:
      "AWSLambdaVPCAccessExecutionRole only allows managing the network interfaces of a function in a VPC (the functions that reach lakeFS in the given VPC) and writing its logs.",
  },
  {
    rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AmazonAPIGatewayPushToCloudWatchLogs\]$/,
    path: /^Api\/RestApi\/CloudWatchRole\//,
    reason:
      "The account-level role API Gateway uses to write execution and access logs; AWS's managed policy is the documented way to grant it.",
  },
  {
    rule: /^AwsSolutions-COG4$/,
    path: /^Api\/RestApi\/Default\//,
    reason:
      "The API authenticates with IAM (SigV4) instead of Cognito: its callers are AWS principals (CLI users, CI roles) granted execute-api:Invoke; the lakeFS webhook authenticates with its token.",
  },
  {
    rule: /^AwsSolutions-APIG4$/,
    path: /^Api\/RestApi\/Default\/api\/v1\/webhooks\/lakefs\/POST\//,
    reason:
      "lakeFS webhooks cannot sign requests with SigV4; the webhook function compares the X-Lakeport-Token header with the secret in Secrets Manager (constant time) and rejects the request otherwise.",
  },
  {
    rule: /^AwsSolutions-APIG2$/,
    path: /^Api\/RestApi\/Resource$/,
    reason:
      "Request parameters are validated by API Gateway; bodies by the functions, against the same schemas as the methods' models, because API Gateway's validator answers without naming the field (\"[instance type (integer) does not match ...]\") and the functions answer 400 naming it.",
  },
  {
    rule: /^AwsSolutions-APIG3$/,
    path: /^Api\/RestApi\/DeploymentStage\.\w+\//,
    reason:
      "Every route but the token-checked webhook requires IAM auth and the stage is throttled; a WAF web ACL (extra cost) can be associated with the stage by the platform team.",
  },
  {
    rule: /^AwsSolutions-SMG4$/,
    path: /^WebhookSecret\//,
    reason:
      "The webhook token is also written in the _lakefs_actions files of the repositories; rotating it means updating those files, so it is rotated by hand (README).",
  },
  {
    rule: /^AwsSolutions-SQS3$/,
    path: /^EventDeadLetters\//,
    reason:
      "This queue is itself a dead-letter queue (of EventBridge Scheduler targets / rule targets and asynchronous invocations).",
  },
];

/** The findings Lakeport accepts, naming its own resources and the buckets it was given. */
export function acceptedFindings(r: LakeportNagReferences): AcceptedFinding[] {
  const { stack } = r;
  const bucketObjects = oneOf(r.buckets.map((b) => nagText(stack, b.arnForObjects("*"))));
  const backupRecords = oneOf(
    r.buckets.map((b) => nagText(stack, b.arnForObjects(`*${BACKUP_RECORD_NAME}`))),
  );
  const storageNamespaces = oneOf(r.storageBuckets.map((b) => nagText(stack, b.arnForObjects(""))));
  // GC's reports and logs: `_lakefs\/retention\/gc\/|_lakefs\/logs\/gc\/`.
  const gcOutputs = GC_OUTPUT_PREFIXES.map(esc).join("|");
  const functionArns = oneOf(r.functions.map((f) => nagText(stack, f.functionArn)));
  const stateMachineIds = oneOf(r.stateMachines.map((sm) => logicalIdOf(stack, sm)));
  const work = esc(logicalIdOf(stack, r.workBucket));
  const workRoots = [EXPORT_WORK_ROOT, GC_WORK_ROOT].map(esc).join("|");
  return [
    ...FIXED_ACCEPTED_FINDINGS,
    {
      rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
      path: STATE_MACHINE_POLICY,
      reason:
        "CloudWatch Logs delivery (logs:*LogDelivery, PutResourcePolicy, Describe*) and X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) support no resource-level permissions.",
    },
    {
      rule: new RegExp(`^AwsSolutions-IAM5\\[Resource::${functionArns}:\\*\\]$`),
      path: STATE_MACHINE_POLICY,
      reason:
        "lambda:InvokeFunction on the workflow's own functions, including their versions and aliases (the :* qualifier), as CDK's LambdaInvoke grants it.",
    },
    {
      rule: new RegExp(
        `^AwsSolutions-IAM5\\[Resource::arn:(<AWS::Partition>|aws[a-z-]*):states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\\d{12}):(execution|mapRun):${esc('{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"')}${stateMachineIds}${esc('"}]}]}')}(\\/\\w+)?(:\\*|\\/\\*)\\]$`,
      ),
      path: /.*/,
      reason:
        "Executions and map runs of Lakeport's own state machines: their names are generated at run time, so only the state machine part of the ARN is fixed.",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::arn:(<AWS::Partition>|aws[a-z-]*):states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\d{12}):execution:[A-Za-z0-9_-]+-Export:\*\]$/,
      path: /^Export\/(StuckCheck|Watchdog|Trigger)Function\/ServiceRole\/DefaultPolicy\//,
      reason:
        "Executions of Lakeport's own export state machine, addressed by its name (the functions are created before it): execution names are export ids generated at run time.",
    },
    {
      rule: new RegExp(
        `^AwsSolutions-IAM5\\[Resource::(<${work}\\.Arn>|arn:<AWS::Partition>:s3:::<${work}>)\\/(${workRoots})?\\*\\]$`,
      ),
      path: /.*/,
      reason:
        "Objects of Lakeport's own work bucket: the functions' under their workflow's prefix (exports/ or gc/), the state machines' map readers' anywhere (CDK's grant for a key read from the state); keys are generated per run.",
    },
    {
      rule: new RegExp(`^AwsSolutions-IAM5\\[Resource::${bucketObjects}\\]$`),
      path: WORKFLOW_FUNCTION_POLICY,
      reason:
        "Objects of the storage/export buckets the deployment names: the storage namespaces and export paths inside them are repository data known only at run time.",
    },
    {
      rule: new RegExp(`^AwsSolutions-IAM5\\[Resource::${backupRecords}\\]$`),
      path: /^Gc\/Copy(Plan|End)Function\/ServiceRole\/DefaultPolicy\//,
      reason:
        "The GC backup record (_lakeport_backup.json) of a backup location in the storage/export buckets: locations are given per backup at run time, so only the record's name is fixed.",
    },
    {
      rule: new RegExp(
        `^AwsSolutions-IAM5\\[Resource::${storageNamespaces}(\\*\\/)?(${gcOutputs})\\*\\]$`,
      ),
      path: /^Gc\/\w+Function\/ServiceRole\/DefaultPolicy\//,
      reason:
        "GC's own reports and logs (_lakefs/retention/gc/ and _lakefs/logs/gc/) in the storage namespaces of the storage buckets: namespaces sit at any depth of a bucket, and file names carry run and mark ids generated at run time.",
    },
  ];
}

export interface NagFinding {
  rule: string;
  path: string;
  description: string;
}

/** Runs the AWS Solutions checks on a scope; findings not yet acknowledged. */
export function awsSolutionsFindings(scope: IConstruct): NagFinding[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      path: r.constructPath ?? "",
      description: v.description,
    })),
  );
}

/**
 * Acknowledges every finding in `scope` (the Lakeport construct) an accepted pattern matches,
 * with its reason, on the flagged resource itself.
 */
export function acknowledgeAcceptedFindings(scope: IConstruct, accepted: AcceptedFinding[]): void {
  const byPath = new Map(scope.node.findAll().map((c) => [c.node.path, c]));
  const prefix = `${scope.node.path}/`;
  for (const finding of awsSolutionsFindings(scope)) {
    const relative = finding.path.startsWith(prefix)
      ? finding.path.slice(prefix.length)
      : finding.path;
    const match = accepted.find((a) => a.rule.test(finding.rule) && a.path.test(relative));
    const construct = byPath.get(finding.path);
    if (match && construct) {
      Validations.of(construct).acknowledge({ id: finding.rule, reason: match.reason });
    }
  }
}

/** The checks to register on the app: `Validations.of(app).addPlugins(lakeportNagChecks(app))`. */
export function lakeportNagChecks(app: IConstruct): IPolicyValidationPlugin {
  return new AwsSolutionsChecks(app, { verbose: true });
}
