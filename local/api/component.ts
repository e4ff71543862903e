// The API server as a component of `npm run local`: the template's API Gateway in front of
// the deployed API functions (deployedApiComponent, listed in local/components.ts after
// dynamodb, lakefs, stepfunctions, eventbridge), or of in-process handlers built from an
// environment pointing at the embedded services (apiComponent). The webhook token is kept in
// the component's data directory so it survives restarts; every other route takes SigV4
// signatures with the environment's credentials.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { restApiFromAssembly } from "../apigateway/rest-api";
import type { LocalDeployment } from "../cloud/deploy";
import type { Component } from "../component";
import { createStateTable } from "../dynamodb/create-table";
import type { Endpoints } from "../endpoints";
import { lambdaIntegration } from "./lambda-handlers";
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
  webhookToken: string;
}

/** The webhook token, kept in `<dataDir>/tokens.json`. */
export async function loadOrCreateApiTokens(dataDir: string): Promise<ApiTokens> {
  const file = path.join(dataDir, "tokens.json");
  try {
    const { webhookToken } = JSON.parse(await readFile(file, "utf8")) as Partial<ApiTokens>;
    if (webhookToken) return { webhookToken };
    throw new Error("no webhook token");
  } catch {
    const fresh = { webhookToken: randomBytes(24).toString("hex") };
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 });
    return fresh;
  }
}

/** In-process handlers behind the API Gateway of the template in `assemblyDir`. */
export const apiComponent = (assemblyDir: string): Component => ({
  name: "api",
  after: ["dynamodb", "lakefs", "stepfunctions", "eventbridge"],
  async start(ctx) {
    const { webhookToken } = await loadOrCreateApiTokens(ctx.dataDir);
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
    const server = await startApiServer({
      port: ctx.port,
      env,
      restApi: restApiFromAssembly(assemblyDir),
      ...signedWith(ctx.endpoints),
    });
    ctx.log(`API ${server.endpoint}/api/v1 (table ${env.TABLE_NAME})`);
    return {
      endpoints: { api: server.endpoint, webhookToken },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
});

/** The credentials and region API Gateway's AWS_IAM methods accept: the environment's. */
function signedWith(e: Partial<Endpoints>) {
  return {
    ...(e.accessKeyId && e.secretAccessKey
      ? { credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } }
      : {}),
    ...(e.region ? { region: e.region } : {}),
  };
}

/**
 * The API component of the deployed Lakeport stack: the stack's API Gateway REST API in front
 * of the deployed API functions, run by the local Lambda runtime (see ./lambda-handlers).
 * Starts after the eventbridge component, which deploys the stack and hands the deployment
 * (and the assembly it came from) to `deployment()`.
 */
export function deployedApiComponent(
  deployment: () => { deployment: LocalDeployment; assemblyDir: string } | undefined,
  tokens: (dataDir: string) => Promise<ApiTokens> = loadOrCreateApiTokens,
): Component {
  return {
    name: "api",
    after: ["dynamodb", "lakefs", "stepfunctions", "eventbridge"],
    async start(ctx) {
      const deployed = deployment();
      if (!deployed) {
        throw new Error("api starts after the stack is deployed (eventbridge component)");
      }
      const d = deployed.deployment;
      const { webhookToken } = await tokens(ctx.dataDir);
      const server = await startApiServer({
        port: ctx.port,
        restApi: restApiFromAssembly(deployed.assemblyDir, d.stackName),
        integration: lambdaIntegration(d, { log: ctx.log }),
        ...signedWith(ctx.endpoints),
        log: ctx.log,
      });
      ctx.log(`API ${server.endpoint}/api/v1 (API Gateway of ${d.stackName}, SigV4)`);
      return {
        endpoints: { api: server.endpoint, webhookToken },
        dataDir: ctx.dataDir,
        stop: () => server.stop(),
      };
    },
  };
}
