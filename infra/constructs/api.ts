// The configuration and control API: REST API at /api/v1 with IAM auth on every route but
// the webhook, one function per capability group (lambdas/api/handlers/*), request
// validation from the same zod schemas, throttling, access logs and least-privilege grants.
import { Arn, ArnFormat, Duration, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { z } from "zod";
import { ROUTES, type RouteGroup } from "../../lambdas/api/routes";
import {
  ExportConfigurationSchema,
  GcBackupLocationClaimRequestSchema,
  GcMarkRetireRequestSchema,
  GcRulesBodySchema,
  GcRunRequestSchema,
} from "../../lambdas/api/schemas";
import {
  EXPORT_PATHS_PK,
  EXPORT_PROGRESS_PK_PREFIX,
  GC_BACKUPS_PK,
  GC_LEASE_PK_PREFIX,
  REPO_PK_PREFIX,
  WEBHOOK_PK_PREFIX,
} from "../../lambdas/shared/dynamodb/table";
import { type LakeFsNetwork, lakeportFunction } from "./function";
import { grantItems, grantKindQuery, grantPartitions } from "./table-grants";

export interface ApiProps {
  table: dynamodb.ITable;
  eventBus: events.IEventBus;
  exportStateMachine: sfn.IStateMachine;
  gcStateMachine: sfn.IStateMachine;
  lakeFsEndpoint: string;
  /** JSON {accessKeyId, secretAccessKey} for lakeFS. */
  lakeFsSecret: secrets.ISecret;
  /** The shared secret lakeFS sends in X-Lakeport-Token. */
  webhookSecret: secrets.ISecret;
  /** Names of the buckets export may write to: export paths elsewhere are refused (EXPORT_BUCKETS). */
  exportBucketNames: readonly string[];
  /** Lakeport's work bucket: refused as an export target (WORK_BUCKET; names only, no grant). */
  workBucketName: string;
  /** The VPC placement of the functions that call lakeFS. */
  lakeFsNetwork?: LakeFsNetwork;
  /** Customer managed key of the API's log groups. */
  logsKey?: kms.IKey;
  /** Requests per second across the API (burst twice that). */
  rateLimit?: number;
  /** Retention of the access logs and the functions' logs (default three months). */
  logRetention?: logs.RetentionDays;
  /** A mark older than this cannot be swept (hours); default 24. */
  maxMarkAgeHours?: number;
}

/** Body models (JSON Schema draft 4) for API Gateway's validator, from the zod schemas. */
const BODY_MODELS: Record<string, z.ZodType> = {
  "PUT /api/v1/repositories/{repository}/branches/{branch}/continuous-export":
    ExportConfigurationSchema,
  "PUT /api/v1/repositories/{repository}/settings/gc_rules": GcRulesBodySchema,
  "POST /api/v1/repositories/{repository}/gc/runs": GcRunRequestSchema,
  "POST /api/v1/repositories/{repository}/gc/marks/{markId}/retire": GcMarkRetireRequestSchema,
  "POST /api/v1/repositories/{repository}/gc/backup-locations": GcBackupLocationClaimRequestSchema,
};

export class Api extends Construct {
  readonly restApi: apigw.RestApi;
  readonly functions: Record<RouteGroup, lambda.Function>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const { restApi, validator } = this.createRestApi(props, logRetention);
    this.restApi = restApi;
    this.functions = this.createFunctions(props, logRetention);
    this.grantFunctions(this.functions, props);
    this.addRoutes(validator);
  }

  /** The REST API: IAM auth, throttling, access logs, validation answering {"message"}. */
  private createRestApi(props: ApiProps, logRetention: logs.RetentionDays) {
    const accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: logRetention,
      ...(props.logsKey ? { encryptionKey: props.logsKey } : {}),
    });
    const rate = props.rateLimit ?? 50;
    const restApi = new apigw.RestApi(this, "RestApi", {
      description: "Lakeport configuration and control API",
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: "prod",
        throttlingRateLimit: rate,
        throttlingBurstLimit: rate * 2,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        metricsEnabled: true,
        // Execution logs of failed requests only: bodies may carry configuration details.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
      },
    });
    // Validation failures answer {"message"} naming the problem, like the handlers.
    restApi.addGatewayResponse("BadBody", {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      templates: { "application/json": '{"message": "$context.error.validationErrorString"}' },
    });
    restApi.addGatewayResponse("BadParameters", {
      type: apigw.ResponseType.BAD_REQUEST_PARAMETERS,
      templates: { "application/json": '{"message": "$context.error.validationErrorString"}' },
    });
    // Bodies are checked by the functions, not by API Gateway: its validator's messages do not
    // say which field is wrong ("[instance type (integer) does not match ...]"); the functions'
    // name it ("exportPath: ..."). The models stay on the methods as their documentation.
    const validator = restApi.addRequestValidator("Validator", {
      validateRequestBody: false,
      validateRequestParameters: true,
    });
    return { restApi, validator };
  }

  /** One function per route group, with exactly the settings its routes read. */
  private createFunctions(
    props: ApiProps,
    logRetention: logs.RetentionDays,
  ): Record<RouteGroup, lambda.Function> {
    const env = {
      TABLE_NAME: props.table.tableName,
      EVENT_BUS_NAME: props.eventBus.eventBusName,
      EXPORT_STATE_MACHINE_ARN: props.exportStateMachine.stateMachineArn,
      GC_STATE_MACHINE_ARN: props.gcStateMachine.stateMachineArn,
      LAKEFS_ENDPOINT: props.lakeFsEndpoint,
      LAKEFS_SECRET_ARN: props.lakeFsSecret.secretArn,
      WEBHOOK_SECRET_ARN: props.webhookSecret.secretArn,
      NODE_OPTIONS: "--enable-source-maps",
    };
    const fn = (group: RouteGroup, environment: Record<string, string>) =>
      lakeportFunction(this, `${group[0]!.toUpperCase()}${group.slice(1)}Function`, {
        entry: `lambdas/api/handlers/${group}.ts`,
        memorySize: 512,
        timeout: Duration.seconds(29),
        environment,
        logRetention,
        description: `Lakeport API: ${group} routes`,
        ...(props.lakeFsNetwork ? { lakeFsNetwork: props.lakeFsNetwork } : {}),
        ...(props.logsKey ? { logsKey: props.logsKey } : {}),
      });
    const { TABLE_NAME, LAKEFS_ENDPOINT, LAKEFS_SECRET_ARN, NODE_OPTIONS } = env;
    return {
      export: fn("export", {
        TABLE_NAME,
        LAKEFS_ENDPOINT,
        LAKEFS_SECRET_ARN,
        NODE_OPTIONS,
        EXPORT_STATE_MACHINE_ARN: env.EXPORT_STATE_MACHINE_ARN,
        EXPORT_BUCKETS: props.exportBucketNames.join(","),
        WORK_BUCKET: props.workBucketName,
      }),
      gc: fn("gc", {
        TABLE_NAME,
        LAKEFS_ENDPOINT,
        LAKEFS_SECRET_ARN,
        NODE_OPTIONS,
        GC_STATE_MACHINE_ARN: env.GC_STATE_MACHINE_ARN,
        // Refused as a backup location (backup-location-check); names only, no grant.
        WORK_BUCKET: props.workBucketName,
        ...(props.maxMarkAgeHours !== undefined
          ? { GC_MAX_MARK_AGE_HOURS: String(props.maxMarkAgeHours) }
          : {}),
      }),
      webhook: fn("webhook", {
        TABLE_NAME,
        NODE_OPTIONS,
        EVENT_BUS_NAME: env.EVENT_BUS_NAME,
        WEBHOOK_SECRET_ARN: env.WEBHOOK_SECRET_ARN,
      }),
      meta: fn("meta", { NODE_OPTIONS }),
    };
  }

  /** Least privilege: each function gets exactly what its routes use. */
  private grantFunctions(functions: Record<RouteGroup, lambda.Function>, props: ApiProps): void {
    const stack = Stack.of(this);
    const { export: exportFn, gc: gcFn, webhook: webhookFn } = functions;
    // The export routes (ExportStore, the progress store) read and write a branch's
    // configuration and export state, starts included (the repository's partition), write and
    // query the path claims of every branch (EXPORTPATHS, one partition: a new export path may
    // not overlap another's), list other branches' configurations (the kind index) and read an
    // export's counts.
    grantItems(
      exportFn,
      props.table,
      ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      [REPO_PK_PREFIX],
    );
    grantPartitions(
      exportFn,
      props.table,
      ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"],
      [EXPORT_PATHS_PK],
    );
    grantKindQuery(exportFn, props.table, ["export-config"]);
    // ... and reads the GC backup locations' claims (GCBACKUPS): no export path around one.
    grantPartitions(exportFn, props.table, ["dynamodb:Query"], [GC_BACKUPS_PK]);
    grantItems(exportFn, props.table, ["dynamodb:GetItem"], [EXPORT_PROGRESS_PK_PREFIX]);
    // Storing or deleting a configuration (ExportStore replaceConfig, deleteConfig) and a start
    // (compareAndSetState) are transactions with a ConditionCheck on the branch's export state
    // or configuration: IAM authorizes that item as dynamodb:ConditionCheckItem. Both items
    // live in the repository's partition.
    grantItems(exportFn, props.table, ["dynamodb:ConditionCheckItem"], [REPO_PK_PREFIX]);
    // The GC routes (GcStore) read and write a repository's rules, runs and marks (REPO#, a
    // Query of its runs included) and its GC lease (GCLEASE#): no other item, no index.
    const gcActions = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"];
    grantItems(
      gcFn,
      props.table,
      gcActions.map((a) => `dynamodb:${a}`),
      [REPO_PK_PREFIX, GC_LEASE_PK_PREFIX],
    );
    // The backup location check reads every branch's export and status paths (the path
    // claims' partition and the configurations' kind index), read-only.
    grantPartitions(gcFn, props.table, ["dynamodb:Query"], [EXPORT_PATHS_PK]);
    grantKindQuery(gcFn, props.table, ["export-config"]);
    // The backup location routes claim, list and release locations (GCBACKUPS, one partition;
    // a refused put reads the claim it found, ALL_OLD: GetItem too).
    grantPartitions(
      gcFn,
      props.table,
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
      ],
      [GC_BACKUPS_PK],
    );
    // The webhook claims a delivery (conditional PutItem), reads a claim it did not win back
    // (GetItem: its own, when a lost answer was resent, or another delivery's) and gives it
    // back when publishing failed (DeleteItem): its dedupe records only, in their own
    // partitions.
    grantItems(
      webhookFn,
      props.table,
      ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
      [WEBHOOK_PK_PREFIX],
    );
    props.lakeFsSecret.grantRead(exportFn);
    props.lakeFsSecret.grantRead(gcFn);
    props.webhookSecret.grantRead(webhookFn);
    props.eventBus.grantPutEventsTo(webhookFn);
    for (const [f, sm] of [
      [exportFn, props.exportStateMachine],
      [gcFn, props.gcStateMachine],
    ] as const) {
      sm.grantStartExecution(f);
      const smName = Arn.split(sm.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["states:DescribeExecution", "states:ListMapRuns"],
          resources: [
            stack.formatArn({
              service: "states",
              resource: "execution",
              resourceName: `${smName}:*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["states:DescribeMapRun"],
          resources: [
            stack.formatArn({
              service: "states",
              resource: "mapRun",
              resourceName: `${smName}/*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }
  }

  /** Every route of the table, on its group's function, with its body model. */
  private addRoutes(validator: apigw.RequestValidator): void {
    const integrations = new Map<RouteGroup, apigw.LambdaIntegration>();
    for (const route of ROUTES) {
      const resource = this.restApi.root.resourceForPath(route.resource);
      let integration = integrations.get(route.group);
      if (!integration) {
        integration = new apigw.LambdaIntegration(this.functions[route.group]);
        integrations.set(route.group, integration);
      }
      const params = Object.fromEntries(
        [...route.resource.matchAll(/\{(\w+)\}/g)].map((m) => [
          `method.request.path.${m[1]}`,
          true,
        ]),
      );
      const bodySchema = BODY_MODELS[`${route.method} ${route.resource}`];
      const requestModels = bodySchema
        ? {
            "application/json": this.restApi.addModel(
              `${route.method}${route.resource.replace(/[^A-Za-z]/g, "")}Model`,
              {
                contentType: "application/json",
                schema: apiGatewayModel(bodySchema),
              },
            ),
          }
        : undefined;
      resource.addMethod(route.method, integration, {
        authorizationType: route.authenticated
          ? apigw.AuthorizationType.IAM
          : apigw.AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: params,
        ...(requestModels ? { requestModels } : {}),
      });
    }
  }

  /** Lets a principal (a user, a CI role) call every authenticated route. */
  grantInvoke(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["execute-api:Invoke"],
      resourceArns: [this.restApi.arnForExecuteApi("*", "/*", "*")],
    });
  }
}

/** zod -> JSON Schema draft 4 in the shape CDK's JsonSchema takes ($schema becomes `schema`). */
function apiGatewayModel(schema: z.ZodType): apigw.JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: "draft-4",
    io: "input",
    // An empty metadata registry inlines everything (API Gateway models take no $refs).
    metadata: z.registry<Record<string, unknown>>(),
  }) as Record<string, unknown>;
  return { schema: apigw.JsonSchemaVersion.DRAFT4, ...rest } as apigw.JsonSchema;
}
