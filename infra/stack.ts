import { CfnOutput, Stack, type StackProps, Token } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { isBucketName, Lakeport, type LakeportProps } from "./lakeport";

/**
 * What infra/app.ts reads from its settings: names and ARNs, which the stack turns into the
 * references the Lakeport construct takes.
 */
export interface LakeportStackSettings
  extends Omit<LakeportProps, "alarmTopic" | "lakeFsSecret" | "storageBuckets" | "exportBuckets"> {
  /** Complete ARN of the secret with the lakeFS credentials. */
  lakeFsSecretArn: string;
  storageBuckets: string[];
  exportBuckets: string[];
}

export interface LakeportStackProps extends StackProps {
  lakeport: LakeportStackSettings;
  /** An existing SNS topic for alarm notifications. */
  alarmTopicArn?: string;
}

const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

/** Fails synthesis with a message naming the bad setting. */
export function validateSettings(settings: LakeportStackSettings): void {
  const arn = settings.lakeFsSecretArn;
  if (!Token.isUnresolved(arn) && !SECRET_ARN.test(arn)) {
    throw new Error(
      `lakeFsSecretArn: "${arn}" is not a complete Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`,
    );
  }
  for (const [field, names] of [
    ["storageBuckets", settings.storageBuckets],
    ["exportBuckets", settings.exportBuckets],
  ] as const) {
    for (const b of names) {
      if (!Token.isUnresolved(b) && !isBucketName(b)) {
        throw new Error(`${field}: "${b}" is not a valid S3 bucket name`);
      }
    }
  }
}

export class LakeportStack extends Stack {
  readonly lakeport: Lakeport;

  constructor(scope: Construct, id: string, props: LakeportStackProps) {
    super(scope, id, props);
    const { lakeFsSecretArn, storageBuckets, exportBuckets, ...rest } = props.lakeport;
    validateSettings(props.lakeport);
    const bucket = (kind: string) => (name: string, i: number) =>
      s3.Bucket.fromBucketName(this, `${kind}Bucket${i}`, name);
    this.lakeport = new Lakeport(this, "Lakeport", {
      ...rest,
      lakeFsSecret: secrets.Secret.fromSecretCompleteArn(this, "LakeFsSecret", lakeFsSecretArn),
      storageBuckets: storageBuckets.map(bucket("Storage")),
      exportBuckets: exportBuckets.map(bucket("Export")),
      ...(props.alarmTopicArn
        ? { alarmTopic: sns.Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn) }
        : {}),
    });
    new CfnOutput(this, "ApiUrl", { value: this.lakeport.api.restApi.url });
    new CfnOutput(this, "WebhookSecretArn", { value: this.lakeport.webhookSecret.secretArn });
    new CfnOutput(this, "WorkBucketName", { value: this.lakeport.storage.workBucket.bucketName });
    new CfnOutput(this, "DashboardName", {
      value: this.lakeport.monitoring.dashboard.dashboardName,
    });
  }
}
