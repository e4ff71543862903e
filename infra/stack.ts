import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Lakeport, type LakeportProps } from "./lakeport";

export class LakeportStack extends Stack {
  readonly lakeport: Lakeport;

  constructor(scope: Construct, id: string, props: StackProps & { lakeport: LakeportProps }) {
    super(scope, id, props);
    this.lakeport = new Lakeport(this, "Lakeport", props.lakeport);
    new CfnOutput(this, "ApiUrl", { value: this.lakeport.api.restApi.url });
    new CfnOutput(this, "WebhookSecretArn", { value: this.lakeport.webhookSecret.secretArn });
  }
}
