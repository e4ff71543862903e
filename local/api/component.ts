// The API server as a component of `npm run local`: a state table in the embedded DynamoDB,
// handlers built from an environment pointing at the embedded services, and tokens kept in
// the component's data directory so they survive restarts. Listed in
// local/components.ts (after dynamodb, lakefs, stepfunctions, eventbridge).
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import type { LocalDeployment } from "../cloud/deploy";
import type { Component } from "../component";
import { createStateTable } from "../dynamodb/create-table";
import type { Endpoints } from "../endpoints";
import { lambdaApiHandlers } from "./lambda-handlers";
import { startApiServer } from "./server";

export const LOCAL_TABLE_NAME = "lakeport-state";
export const LOCAL_EVENT_BUS_NAME = "lakeport";
export const LOCAL_EXPORT_STATE_MACHINE_ARN =
  "arn:aws:states:us-east-1:000000000000:stateMachine:lakeport-export";
export const LOCAL_GC_STATE_MACHINE_ARN =
  "arn:aws:states:us-east-1:000000000000:stateMachine:lakeport-gc";

export interface LocalApiSettings {
  tableName?: string;
  eventBusName?: string;
  exportStateMachineArn?: string;
  gcStateMachineArn?: string;
  webhookToken: string;
}

/** The handlers' environment (what the CDK construct sets in AWS) for the embedded services. */
export function localApiEnv(
  endpoints: Partial<Endpoints>,
  settings: LocalApiSettings,
): Record<string, string | undefined> {
  return {
    TABLE_NAME: settings.tableName ?? LOCAL_TABLE_NAME,
    EVENT_BUS_NAME: settings.eventBusName ?? LOCAL_EVENT_BUS_NAME,
    EXPORT_STATE_MACHINE_ARN: settings.exportStateMachineArn ?? LOCAL_EXPORT_STATE_MACHINE_ARN,
    GC_STATE_MACHINE_ARN: settings.gcStateMachineArn ?? LOCAL_GC_STATE_MACHINE_ARN,
    WEBHOOK_TOKEN: settings.webhookToken,
    // Any bucket unless LAKEPORT_EXPORT_BUCKETS names them (as for cdk deploy).
    EXPORT_BUCKETS: process.env.LAKEPORT_EXPORT_BUCKETS?.trim() || "*",
    AWS_REGION: endpoints.region ?? "us-east-1",
    AWS_ACCESS_KEY_ID: endpoints.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    LAKEFS_ENDPOINT: endpoints.lakefs,
    LAKEFS_ACCESS_KEY_ID: endpoints.lakefsAccessKeyId,
    LAKEFS_SECRET_ACCESS_KEY: endpoints.lakefsSecretAccessKey,
  };
}

export interface ApiTokens {
  apiToken: string;
  webhookToken: string;
}

/** The API bearer token and the webhook token, kept in `<dataDir>/tokens.json`. */
export async function loadOrCreateApiTokens(dataDir: string): Promise<ApiTokens> {
  const file = path.join(dataDir, "tokens.json");
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    const fresh = {
      apiToken: randomBytes(24).toString("hex"),
      webhookToken: randomBytes(24).toString("hex"),
    };
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 });
    return fresh;
  }
}

export const apiComponent: Component = {
  name: "api",
  after: ["dynamodb", "lakefs", "stepfunctions", "eventbridge"],
  async start(ctx) {
    const { apiToken, webhookToken } = await loadOrCreateApiTokens(ctx.dataDir);
    const env = localApiEnv(ctx.endpoints, { webhookToken });
    const ddb = createDynamoDbClient({
      endpoint: ctx.endpoints.dynamodb,
      region: ctx.endpoints.region ?? "us-east-1",
      ...(ctx.endpoints.accessKeyId && ctx.endpoints.secretAccessKey
        ? {
            credentials: {
              accessKeyId: ctx.endpoints.accessKeyId,
              secretAccessKey: ctx.endpoints.secretAccessKey,
            },
          }
        : {}),
    });
    await createStateTable(ddb, env.TABLE_NAME!);
    ddb.destroy();
    const server = await startApiServer({ port: ctx.port, env, apiToken });
    ctx.log(`API ${server.endpoint}/api/v1 (table ${env.TABLE_NAME})`);
    return {
      endpoints: { api: server.endpoint, apiToken, webhookToken },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
};

/**
 * The API component of the deployed Lakeport stack: routes served by the deployed API
 * functions through the local Lambda runtime (see ./lambda-handlers). Starts after the
 * eventbridge component, which deploys the stack and hands the deployment to `deployment()`.
 */
export function deployedApiComponent(
  deployment: () => LocalDeployment | undefined,
  tokens: (dataDir: string) => Promise<ApiTokens> = loadOrCreateApiTokens,
): Component {
  return {
    name: "api",
    after: ["dynamodb", "lakefs", "stepfunctions", "eventbridge"],
    async start(ctx) {
      const d = deployment();
      if (!d) throw new Error("api starts after the stack is deployed (eventbridge component)");
      const { apiToken, webhookToken } = await tokens(ctx.dataDir);
      const server = await startApiServer({
        port: ctx.port,
        apiToken,
        handlers: lambdaApiHandlers(d, { log: ctx.log }),
      });
      ctx.log(`API ${server.endpoint}/api/v1 (deployed API functions of ${d.stackName})`);
      return {
        endpoints: { api: server.endpoint, apiToken, webhookToken },
        dataDir: ctx.dataDir,
        stop: () => server.stop(),
      };
    },
  };
}
