import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { Lakeport, type LakeportProps } from "./lakeport";

export interface LakeportStackProps extends StackProps {
  lakeport: Omit<LakeportProps, "alarmTopic">;
  /** An existing SNS topic for alarm notifications. */
  alarmTopicArn?: string;
}

export class LakeportStack extends Stack {
  readonly lakeport: Lakeport;

  constructor(scope: Construct, id: string, props: LakeportStackProps) {
    super(scope, id, props);
    this.lakeport = new Lakeport(this, "Lakeport", {
      ...props.lakeport,
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
