// The Lakeport construct: everything Lakeport deploys, for `cdk deploy` of infra/app.ts or for
// adding Lakeport to an existing CDK app as one construct.
import { RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { Api } from "./constructs/api";
import { ExportWorkflow } from "./constructs/export";
import { GcWorkflow } from "./constructs/gc";
import { Storage } from "./constructs/storage";

export interface LakeportProps {
  /** lakeFS API endpoint reachable from Lambda, e.g. https://lakefs.example.com */
  lakeFsEndpoint: string;
  /** Secrets Manager secret with JSON {"accessKeyId", "secretAccessKey"} of a lakeFS user. */
  lakeFsSecretArn: string;
  /** Buckets holding the repositories' storage namespaces (read by export, cleaned by GC). */
  storageBuckets: string[];
  /** Buckets continuous export may write to. */
  exportBuckets: string[];
  /** Concurrent child executions per distributed map (default 50). */
  maxConcurrency?: number;
  logRetention?: logs.RetentionDays;
  /** Keep (default) or destroy the table and work bucket when the stack is deleted. */
  removalPolicy?: RemovalPolicy;
}

export class Lakeport extends Construct {
  readonly storage: Storage;
  readonly eventBus: events.EventBus;
  readonly exportWorkflow: ExportWorkflow;
  readonly gcWorkflow: GcWorkflow;
  readonly api: Api;
  readonly webhookSecret: secrets.Secret;

  constructor(scope: Construct, id: string, props: LakeportProps) {
    super(scope, id);
    if (props.storageBuckets.length === 0) throw new Error("storageBuckets: at least one bucket");
    if (props.exportBuckets.length === 0) throw new Error("exportBuckets: at least one bucket");
    this.storage = new Storage(this, "Storage", {
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.eventBus = new events.EventBus(this, "Bus", {});
    const lakeFsSecret = secrets.Secret.fromSecretCompleteArn(
      this,
      "LakeFsSecret",
      props.lakeFsSecretArn,
    );
    this.webhookSecret = new secrets.Secret(this, "WebhookSecret", {
      description: "Shared secret lakeFS sends to the Lakeport webhook in X-Lakeport-Token",
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });
    const workflowProps = {
      table: this.storage.table,
      workBucket: this.storage.workBucket,
      eventBus: this.eventBus,
      lakeFsEndpoint: props.lakeFsEndpoint,
      lakeFsSecret,
      storageBuckets: props.storageBuckets,
      exportBuckets: props.exportBuckets,
      maxConcurrency: props.maxConcurrency ?? 50,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    };
    this.exportWorkflow = new ExportWorkflow(this, "Export", workflowProps);
    this.gcWorkflow = new GcWorkflow(this, "Gc", workflowProps);
    this.api = new Api(this, "Api", {
      table: this.storage.table,
      eventBus: this.eventBus,
      exportStateMachine: this.exportWorkflow.stateMachine,
      gcStateMachine: this.gcWorkflow.stateMachine,
      lakeFsEndpoint: props.lakeFsEndpoint,
      lakeFsSecret,
      webhookSecret: this.webhookSecret,
    });
  }
}
