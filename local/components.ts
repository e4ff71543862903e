// The components of the local environment, in one list. Adding one (lakeFS dev server, Step
// Functions runner, EventBridge, API server) = one entry here and a name with a default port
// in COMPONENT_PORTS (./component). Components start in waves: each after the ones named in
// `after`.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { deployedApiComponent, loadOrCreateApiTokens } from "./api/component";
import { localCloudComponents } from "./cloud/component";
import type { LocalDeployment } from "./cloud/deploy";
import { type Component, type ComponentContext, componentDataDir } from "./component";
import { startDynamoDbServer } from "./dynamodb/server";
import { lakeFsEndpointsEntry, loadOrCreateLakeFsKeys } from "./lakefs/local-credentials";
import { startLakeFsDevServer } from "./lakefs/server";
import { WEBHOOK_TOKEN_ACTION_VARIABLE } from "./lakeport-action";
import {
  cdkSettingsFromEnvironment,
  LOCAL_STACK_NAME,
  localLambdaEnv,
  synthesizeLakeport,
} from "./lakeport-assembly";
import { LOCAL_S3_CREDENTIALS } from "./s3/credentials";
import { startS3Server } from "./s3/server";

const s3: Component = {
  name: "s3",
  async start(ctx) {
    const server = await startS3Server({ port: ctx.port, directory: ctx.dataDir });
    return {
      endpoints: {
        s3: server.endpoint,
        accessKeyId: LOCAL_S3_CREDENTIALS.accessKeyId,
        secretAccessKey: LOCAL_S3_CREDENTIALS.secretAccessKey,
      },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
};

const dynamodb: Component = {
  name: "dynamodb",
  async start(ctx) {
    await mkdir(ctx.dataDir, { recursive: true });
    const server = await startDynamoDbServer({ port: ctx.port, directory: ctx.dataDir });
    return {
      endpoints: { dynamodb: server.endpoint },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
};

/**
 * The lakeFS development server. `actionEnv` is lakeFS's environment for action files'
 * `{{ ENV.NAME }}` references (default: this process's environment).
 */
function lakefsComponent(
  actionEnv?: (ctx: ComponentContext) => Promise<Record<string, string | undefined>>,
): Component {
  return {
    name: "lakefs",
    after: ["s3"],
    async start(ctx) {
      const keys = loadOrCreateLakeFsKeys(ctx.dataDir);
      const e = ctx.endpoints;
      const server = await startLakeFsDevServer({
        port: ctx.port,
        dataDir: ctx.dataDir,
        s3: {
          endpoint: e.s3!,
          region: e.region ?? "us-east-1",
          credentials: { accessKeyId: e.accessKeyId!, secretAccessKey: e.secretAccessKey! },
        },
        credentials: keys,
        ...(actionEnv ? { actionEnv: { values: await actionEnv(ctx) } } : {}),
      });
      return {
        endpoints: lakeFsEndpointsEntry(server.endpoint, keys),
        dataDir: ctx.dataDir,
        stop: () => server.stop(),
      };
    },
  };
}

export interface LakeportComponentsOptions {
  /**
   * A synthesized Lakeport assembly to deploy as is; default: the app synthesized into
   * `<dir>/cdk.out` (skipped when infra/, lambdas/ and the lock file did not change).
   */
  assemblyDir?: string;
  /** Receives the deployment (Lambda runtime stats, runner, router) once it exists. */
  onDeployed?: (deployment: LocalDeployment) => void;
  /**
   * Show the deployed functions' output lines on this terminal (`npm run local`); default:
   * only kept (deployment.runtime.logs()), so tests and the demo print none.
   */
  echoLambdaOutput?: boolean;
}

/**
 * Every component of the embedded environment with the real Lakeport app deployed on it:
 * s3, dynamodb, lakefs, stepfunctions + eventbridge (deploy the synthesized stack, its
 * functions get the lakeFS endpoint and keys and the webhook token), and the API served by
 * the stack's API Gateway in front of the deployed API functions. Synthesis starts with the first component, in parallel.
 */
export function lakeportComponents(opts: LakeportComponentsOptions = {}): Component[] {
  let deployment: LocalDeployment | undefined;
  let deployedAssemblyDir: string | undefined;
  let assembly: Promise<string> | undefined;
  let webhookToken: string | undefined;
  const rootOf = (ctx: ComponentContext) => path.dirname(ctx.dataDir);
  const prepareAssembly = (ctx: ComponentContext) => {
    assembly ??= opts.assemblyDir
      ? Promise.resolve(opts.assemblyDir)
      : // The same LAKEPORT_* settings as `cdk deploy` (e.g. LAKEPORT_GC_SCHEDULES).
        cdkSettingsFromEnvironment()
          .then((cdkSettings) =>
            synthesizeLakeport(
              path.join(rootOf(ctx), "cdk.out"),
              { cdkSettings },
              { log: ctx.log },
            ),
          )
          .then((r) => r.assemblyDir);
    // Awaited by the deployment; a failure is reported there.
    assembly.catch(() => undefined);
    return assembly;
  };
  const withSynthesis = (c: Component): Component => ({
    ...c,
    start: (ctx) => {
      void prepareAssembly(ctx);
      return c.start(ctx);
    },
  });
  const cloud = localCloudComponents({
    stackName: LOCAL_STACK_NAME,
    deployAfter: ["lakefs"],
    assemblyDir: async (ctx) => {
      const dir = await prepareAssembly(ctx);
      webhookToken = (await loadOrCreateApiTokens(componentDataDir(rootOf(ctx), "api")))
        .webhookToken;
      ctx.log(`deploying ${dir}`);
      deployedAssemblyDir = dir;
      return dir;
    },
    lambdaEnv: (e) =>
      localLambdaEnv({
        lakeFsEndpoint: e.lakefs ?? "",
        lakeFsAccessKeyId: e.lakefsAccessKeyId ?? "",
        lakeFsSecretAccessKey: e.lakefsSecretAccessKey ?? "",
        webhookToken: webhookToken ?? "",
      }),
    onDeployed: (d) => {
      deployment = d;
      opts.onDeployed?.(d);
    },
    ...(opts.echoLambdaOutput ? { echoLambdaOutput: true } : {}),
  });
  // lakeFS runs Lakeport's action with the webhook token from its environment, as a lakeFS
  // deployment would: the action file in the repository holds only the variable's name.
  const lakefs = lakefsComponent(async (ctx) => ({
    ...process.env,
    [WEBHOOK_TOKEN_ACTION_VARIABLE]: (
      await loadOrCreateApiTokens(componentDataDir(rootOf(ctx), "api"))
    ).webhookToken,
  }));
  return [
    withSynthesis(s3),
    dynamodb,
    lakefs,
    ...cloud,
    deployedApiComponent(() =>
      deployment && deployedAssemblyDir
        ? { deployment, assemblyDir: deployedAssemblyDir }
        : undefined,
    ),
  ];
}

/** The S3 and DynamoDB components alone (no app deployed). */
export const STORAGE_COMPONENTS: Component[] = [s3, dynamodb];

/**
 * Fresh components for one environment (they hold the deployment): what `npm run local`
 * starts. LAKEPORT_LOCAL_ASSEMBLY names a prebuilt assembly to deploy instead of
 * synthesizing (the tests pass the one their run synthesized).
 */
export function defaultComponents(
  opts: Pick<LakeportComponentsOptions, "echoLambdaOutput"> = {},
): Component[] {
  const prebuilt = process.env.LAKEPORT_LOCAL_ASSEMBLY;
  return lakeportComponents({ ...opts, ...(prebuilt ? { assemblyDir: prebuilt } : {}) });
}
