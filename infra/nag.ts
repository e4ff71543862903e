// cdk-nag (AWS Solutions) findings Lakeport accepts, each with the reason it is accepted.
//
// cdk-nag 3 acknowledges exact finding ids only (no prefixes), and IAM5 finding ids embed
// logical ids and bucket names. So the accepted findings are patterns (rule id + construct
// path), matched against a dry run of the checks; each match is acknowledged on its resource
// with CDK's Validations API, which the real check at synthesis (infra/app.ts) honours and
// records. A finding no pattern matches stays and fails `cdk synth`.
import { type IPolicyValidationPlugin, type Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { GC_OUTPUT_PREFIXES } from "../lambdas/gc/domain/paths";

export interface AcceptedFinding {
  /** The finding id, e.g. AwsSolutions-IAM5[Resource::*]. */
  rule: RegExp;
  /** Construct path of the flagged resource, below the stack. */
  path: RegExp;
  reason: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const LAKEPORT_FUNCTION = /^[^/]+\/(Api|Export|Gc)\/\w+Function\//;
/** Function roles of the export and GC workflows (not the API). */
const WORKFLOW_FUNCTION_POLICY = /^[^/]+\/(Export|Gc)\/\w+Function\/ServiceRole\/DefaultPolicy\//;
const STATE_MACHINE_POLICY =
  /^[^/]+\/(Export|Gc)\/\w*StateMachine\/(Role\/DefaultPolicy|DistributedMapPolicy)\//;

/** The findings Lakeport accepts; bucket names come from the Lakeport props. */
export function acceptedFindings(buckets: {
  storageBuckets: string[];
  exportBuckets: string[];
}): AcceptedFinding[] {
  const bucketAlternatives = [...buckets.storageBuckets, ...buckets.exportBuckets]
    .map(esc)
    .join("|");
  // GC's reports and logs: `_lakefs\/retention\/gc\/|_lakefs\/logs\/gc\/`.
  const gcOutputs = GC_OUTPUT_PREFIXES.map(esc).join("|");
  return [
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
      rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AmazonAPIGatewayPushToCloudWatchLogs\]$/,
      path: /^[^/]+\/Api\/RestApi\/CloudWatchRole\//,
      reason:
        "The account-level role API Gateway uses to write execution and access logs; AWS's managed policy is the documented way to grant it.",
    },
    {
      rule: /^AwsSolutions-COG4$/,
      path: /^[^/]+\/Api\/RestApi\/Default\//,
      reason:
        "The API authenticates with IAM (SigV4) instead of Cognito: its callers are AWS principals (CLI users, CI roles) granted execute-api:Invoke; the lakeFS webhook authenticates with its token.",
    },
    {
      rule: /^AwsSolutions-APIG4$/,
      path: /^[^/]+\/Api\/RestApi\/Default\/api\/v1\/webhooks\/lakefs\/POST\//,
      reason:
        "lakeFS webhooks cannot sign requests with SigV4; the webhook function compares the X-Lakeport-Token header with the secret in Secrets Manager (constant time) and rejects the request otherwise.",
    },
    {
      rule: /^AwsSolutions-APIG3$/,
      path: /^[^/]+\/Api\/RestApi\/DeploymentStage\.\w+\//,
      reason:
        "Every route but the token-checked webhook requires IAM auth and the stage is throttled; a WAF web ACL (extra cost) can be associated with the stage by the platform team.",
    },
    {
      rule: /^AwsSolutions-SMG4$/,
      path: /^[^/]+\/WebhookSecret\//,
      reason:
        "The webhook token is also written in the _lakefs_actions files of the repositories; rotating it means updating those files, so it is rotated by hand (README).",
    },
    {
      rule: /^AwsSolutions-SQS3$/,
      path: /^[^/]+\/EventDeadLetters\//,
      reason:
        "This queue is itself a dead-letter queue (of EventBridge Scheduler targets / rule targets and asynchronous invocations).",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
      path: STATE_MACHINE_POLICY,
      reason:
        "CloudWatch Logs delivery (logs:*LogDelivery, PutResourcePolicy, Describe*) and X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) support no resource-level permissions.",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::<Lakeport\w+Function\w+\.Arn>:\*\]$/,
      path: STATE_MACHINE_POLICY,
      reason:
        "lambda:InvokeFunction on the workflow's own functions, including their versions and aliases (the :* qualifier), as CDK's LambdaInvoke grants it.",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::arn:(<AWS::Partition>|aws[a-z-]*):states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\d{12}):(execution|mapRun):\{"Fn::Select":\[6,\{"Fn::Split":\[":",\{"Ref":"Lakeport\w+StateMachine\w+"\}\]\}\]\}(\/\w+)?(:\*|\/\*)\]$/,
      path: /.*/,
      reason:
        "Executions and map runs of Lakeport's own state machines: their names are generated at run time, so only the state machine part of the ARN is fixed.",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::arn:(<AWS::Partition>|aws[a-z-]*):states:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|\d{12}):execution:[A-Za-z0-9_-]+-Export:\*\]$/,
      path: /^[^/]+\/Export\/(StuckCheck|Watchdog|Trigger)Function\/ServiceRole\/DefaultPolicy\//,
      reason:
        "Executions of Lakeport's own export state machine, addressed by its name (the functions are created before it): execution names are export ids generated at run time.",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::(<Lakeport\w*StorageWork\w+\.Arn>|arn:<AWS::Partition>:s3:::<Lakeport\w*StorageWork\w+>)\/\*\]$/,
      path: /.*/,
      reason:
        "Objects of Lakeport's own work bucket (temporary shards under exports/ and gc/, keys generated per run).",
    },
    {
      rule: /^AwsSolutions-IAM5\[Resource::<Lakeport\w*StorageState\w+\.Arn>\/index\/\*\]$/,
      path: /.*/,
      reason: "The indexes of Lakeport's own state table (CDK's table grant includes them).",
    },
    ...(bucketAlternatives
      ? [
          {
            rule: new RegExp(
              `^AwsSolutions-IAM5\\[Resource::arn:aws:s3:::(${bucketAlternatives})\\/\\*\\]$`,
            ),
            path: WORKFLOW_FUNCTION_POLICY,
            reason:
              "Objects of the storage/export buckets the deployment names: the storage namespaces and export paths inside them are repository data known only at run time.",
          },
          {
            rule: new RegExp(
              `^AwsSolutions-IAM5\\[Resource::arn:aws:s3:::(${bucketAlternatives})\\/(\\*\\/)?(${gcOutputs})\\*\\]$`,
            ),
            path: /^[^/]+\/Gc\/\w+Function\/ServiceRole\/DefaultPolicy\//,
            reason:
              "GC's own reports and logs (_lakefs/retention/gc/ and _lakefs/logs/gc/) in the storage namespaces of the storage buckets: namespaces sit at any depth of a bucket, and file names carry run and mark ids generated at run time.",
          },
        ]
      : []),
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

/** Acknowledges every finding in `stack` an accepted pattern matches, with its reason. */
export function suppressAcceptedFindings(stack: Stack, accepted: AcceptedFinding[]): void {
  const byPath = new Map(stack.node.findAll().map((c) => [c.node.path, c]));
  const prefix = `${stack.node.path}/`;
  for (const finding of awsSolutionsFindings(stack)) {
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
