// "Deploys" a synthesized stack into the embedded environment: buckets and tables in the
// embedded S3 and DynamoDB, functions in the Lambda runtime, state machines in the runner,
// event buses and rules in the EventBridge router.
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from "@aws-sdk/client-s3";
import { createDynamoDbClient, createS3Client } from "../../lambdas/shared/aws/clients";
import { EventRouter, type RuleTarget } from "../eventbridge/router";
import { rateIntervalMs, ScheduleError } from "../eventbridge/schedule";
import { LambdaRuntime } from "../lambda/runtime";
import { type RunnerOptions, StepFunctionsRunner } from "../stepfunctions/runner";
import {
  type CfnResource,
  loadAssemblyTemplate,
  type Physical,
  TemplateError,
  TemplateResolver,
} from "./template";

/** Resource types that have no local meaning and are skipped on purpose. */
export const IGNORED_TYPES = new Set([
  "AWS::IAM::Role",
  "AWS::IAM::Policy",
  "AWS::IAM::ManagedPolicy",
  "AWS::Logs::LogGroup",
  "AWS::CloudWatch::Alarm",
  "AWS::CloudWatch::Dashboard",
  "AWS::Lambda::Permission",
  "AWS::Lambda::EventInvokeConfig",
  "AWS::S3::BucketPolicy",
  "AWS::CDK::Metadata",
  "Custom::S3AutoDeleteObjects",
  "AWS::SNS::Topic",
  "AWS::SNS::Subscription",
]);

export interface LocalS3Options {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}

export interface DeployOptions {
  s3: LocalS3Options;
  dynamodbEndpoint: string;
  /** Stack to deploy when the assembly has several. */
  stackName?: string;
  region?: string;
  accountId?: string;
  /** Extra environment for every function (e.g. LAKEFS_ENDPOINT, WEBHOOK_TOKEN); wins over the template's. */
  lambdaEnv?: Record<string, string>;
  /** Local endpoints the functions' SDK clients use. */
  endpoints?: {
    stepfunctions?: string;
    eventbridge?: string;
    scheduler?: string;
    secretsManager?: string;
  };
  /** Concurrent warm workers per function (default 4). */
  concurrencyPerFunction?: number;
  runnerOptions?: Omit<
    RunnerOptions,
    "lambda" | "s3" | "dynamodb" | "events" | "region" | "accountId"
  >;
  /** Reuse existing components instead of creating new ones. */
  runner?: StepFunctionsRunner;
  runtime?: LambdaRuntime;
  router?: EventRouter;
}

export interface DeployedResource {
  logicalId: string;
  type: string;
  physicalId: string;
  arn?: string;
}

export interface LocalDeployment {
  stackName: string;
  runtime: LambdaRuntime;
  runner: StepFunctionsRunner;
  router: EventRouter;
  resources: DeployedResource[];
  /** Resource types skipped on purpose (IAM, logs, alarms, ...). */
  ignored: { logicalId: string; type: string }[];
  /** Resource types the local environment does not implement. */
  unsupported: { logicalId: string; type: string }[];
  outputs: Record<string, unknown>;
  /** Physical name/ARN of a resource by logical id (or by a logical id prefix, as CDK adds hashes). */
  physicalId(logicalIdOrPrefix: string): string;
  arn(logicalIdOrPrefix: string): string;
  invoke<T = unknown>(functionLogicalIdOrName: string, event: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * Generated physical names end in a hash of stack and logical id, so they are stable across
 * restarts of the local environment (data kept on disk stays reachable), like CloudFormation
 * keeping a resource's physical id for the life of the stack.
 */
const suffixOf = (stack: string, id: string) =>
  createHash("sha256").update(`${stack}/${id}`).digest("hex").slice(0, 8);

function bucketName(stack: string, id: string): string {
  const base = `${stack}-${id}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 54)
    .replace(/-$/, "");
  return `${base}-${suffixOf(stack, id)}`;
}

const projectNodeModules = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../../node_modules",
);

export async function deployLocally(
  assemblyDir: string,
  opts: DeployOptions,
): Promise<LocalDeployment> {
  const region = opts.region ?? opts.s3.region ?? "us-east-1";
  const accountId = opts.accountId ?? "000000000000";
  const { stackName, template } = loadAssemblyTemplate(assemblyDir, opts.stackName);
  const physical = new Map<string, Physical>();
  const parameters: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(template.Parameters ?? {})) parameters[k] = p.Default ?? "";
  const resolver = new TemplateResolver(template, {
    region,
    accountId,
    partition: "aws",
    urlSuffix: "amazonaws.com",
    stackName,
    physical,
    parameters,
  });
  const s3 = createS3Client({
    endpoint: opts.s3.endpoint,
    region,
    credentials: opts.s3.credentials,
  });
  const ddb = createDynamoDbClient({
    endpoint: opts.dynamodbEndpoint,
    region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const runtime =
    opts.runtime ??
    new LambdaRuntime({
      region,
      accountId,
      concurrencyPerFunction: opts.concurrencyPerFunction,
      nodeModulesDirs: [projectNodeModules],
      baseEnvironment: {
        AWS_ACCESS_KEY_ID: opts.s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: opts.s3.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_S3: opts.s3.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: opts.dynamodbEndpoint,
        ...(opts.endpoints?.stepfunctions
          ? { AWS_ENDPOINT_URL_SFN: opts.endpoints.stepfunctions }
          : {}),
        ...(opts.endpoints?.eventbridge
          ? { AWS_ENDPOINT_URL_EVENTBRIDGE: opts.endpoints.eventbridge }
          : {}),
        ...(opts.endpoints?.scheduler
          ? { AWS_ENDPOINT_URL_SCHEDULER: opts.endpoints.scheduler }
          : {}),
        ...(opts.endpoints?.secretsManager
          ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: opts.endpoints.secretsManager }
          : {}),
        LAKEPORT_S3_FORCE_PATH_STYLE: "true",
        ...(opts.lambdaEnv ?? {}),
      },
    });
  const router = opts.router ?? new EventRouter({ region, accountId });
  const runner =
    opts.runner ??
    new StepFunctionsRunner({
      ...(opts.runnerOptions ?? {}),
      region,
      accountId,
      lambda: runtime,
      s3,
      dynamodb: ddb,
      events: router,
    });
  runner.setLambdaInvoker(runtime);
  runner.setEventSink(router);
  router.setDeps({
    startExecution: (a) => runner.startExecution(a),
    invokeAsync: (arn, event, onFailure) => runtime.invokeAsync(arn, event, onFailure),
  });

  const resources = Object.entries(template.Resources).filter(
    ([, r]) => !r.Condition || resolver.condition(r.Condition),
  );
  const ignored: { logicalId: string; type: string }[] = [];
  const unsupported: { logicalId: string; type: string }[] = [];
  const arnOf = (svc: string, rest: string) => `arn:aws:${svc}:${region}:${accountId}:${rest}`;

  // 1. Physical ids for every resource, so any Ref/GetAtt can be resolved afterwards.
  const explicit = (r: CfnResource, prop: string) => {
    const v = r.Properties?.[prop];
    return v === undefined ? undefined : String(resolver.resolve(v));
  };
  for (const [id, r] of resources) {
    const generic = `${stackName}-${id}`.slice(0, 64);
    switch (r.Type) {
      case "AWS::Lambda::Function": {
        const name = `${stackName}-${id}`.slice(0, 55) + `-${suffixOf(stackName, id)}`;
        physical.set(id, { ref: name, attrs: { Arn: arnOf("lambda", `function:${name}`) } });
        break;
      }
      case "AWS::S3::Bucket": {
        const name = bucketName(stackName, id);
        physical.set(id, {
          ref: name,
          attrs: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
            WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
          },
        });
        break;
      }
      case "AWS::DynamoDB::Table": {
        const name = `${stackName}-${id}-${suffixOf(stackName, id)}`;
        physical.set(id, {
          ref: name,
          attrs: {
            Arn: arnOf("dynamodb", `table/${name}`),
            StreamArn: arnOf("dynamodb", `table/${name}/stream/local`),
          },
        });
        break;
      }
      case "AWS::StepFunctions::StateMachine": {
        const name = `${id}-${suffixOf(stackName, id)}`;
        const arn = arnOf("states", `stateMachine:${name}`);
        physical.set(id, { ref: arn, attrs: { Arn: arn, Name: name } });
        break;
      }
      case "AWS::Events::EventBus": {
        const name = `${stackName}-${id}`;
        physical.set(id, {
          ref: name,
          attrs: { Arn: arnOf("events", `event-bus/${name}`), Name: name },
        });
        break;
      }
      case "AWS::IAM::Role":
        physical.set(id, {
          ref: generic,
          attrs: {
            Arn: `arn:aws:iam::${accountId}:role/${generic}`,
            RoleId: `AROA${id.toUpperCase().slice(0, 16)}`,
          },
        });
        break;
      default:
        physical.set(id, {
          ref: generic,
          attrs: { Arn: arnOf("local", `${r.Type.replace(/::/g, "-")}/${generic}`) },
        });
    }
  }
  // Explicit names win; they may reference pseudo parameters or other resources.
  for (const [id, r] of resources) {
    const p = physical.get(id)!;
    const set = (
      name: string | undefined,
      attrs: (n: string) => Record<string, string>,
      refIsArn = false,
    ) => {
      if (!name) return;
      const a = attrs(name);
      physical.set(id, { ref: refIsArn ? a.Arn! : name, attrs: { ...p.attrs, ...a } });
    };
    if (r.Type === "AWS::Lambda::Function")
      set(explicit(r, "FunctionName"), (n) => ({ Arn: arnOf("lambda", `function:${n}`) }));
    if (r.Type === "AWS::S3::Bucket")
      set(explicit(r, "BucketName"), (n) => ({
        Arn: `arn:aws:s3:::${n}`,
        DomainName: `${n}.s3.amazonaws.com`,
        RegionalDomainName: `${n}.s3.${region}.amazonaws.com`,
      }));
    if (r.Type === "AWS::DynamoDB::Table")
      set(explicit(r, "TableName"), (n) => ({
        Arn: arnOf("dynamodb", `table/${n}`),
        StreamArn: arnOf("dynamodb", `table/${n}/stream/local`),
      }));
    if (r.Type === "AWS::StepFunctions::StateMachine")
      set(
        explicit(r, "StateMachineName"),
        (n) => ({ Arn: arnOf("states", `stateMachine:${n}`), Name: n }),
        true,
      );
    if (r.Type === "AWS::Events::EventBus")
      set(explicit(r, "Name"), (n) => ({ Arn: arnOf("events", `event-bus/${n}`), Name: n }));
    if (r.Type === "AWS::IAM::Role")
      set(explicit(r, "RoleName"), (n) => ({ Arn: `arn:aws:iam::${accountId}:role/${n}` }));
  }
  for (const [id, r] of resources) {
    if (r.Type !== "AWS::Events::Rule") continue;
    const bus = r.Properties?.EventBusName
      ? String(resolver.resolve(r.Properties.EventBusName)).replace(/^.*:event-bus\//, "")
      : "default";
    const name = explicit(r, "Name") ?? `${stackName}-${id}`.slice(0, 64);
    physical.set(id, {
      ref: name,
      attrs: { Arn: arnOf("events", bus === "default" ? `rule/${name}` : `rule/${bus}/${name}`) },
    });
  }

  const deployed: DeployedResource[] = [];
  const record = (id: string, type: string) => {
    const p = physical.get(id)!;
    deployed.push({
      logicalId: id,
      type,
      physicalId: p.ref,
      ...(p.attrs.Arn ? { arn: p.attrs.Arn } : {}),
    });
  };
  const props = (r: CfnResource) =>
    (resolver.resolve(r.Properties ?? {}) ?? {}) as Record<string, unknown>;

  // 2. Storage and buses.
  for (const [id, r] of resources) {
    if (r.Type === "AWS::S3::Bucket") {
      await s3.send(new CreateBucketCommand({ Bucket: physical.get(id)!.ref })).catch((e) => {
        if (!(e instanceof BucketAlreadyOwnedByYou) && (e as Error).name !== "BucketAlreadyExists")
          throw e;
      });
      record(id, r.Type);
    } else if (r.Type === "AWS::DynamoDB::Table") {
      await createTable(ddb, physical.get(id)!.ref, props(r), id);
      record(id, r.Type);
    } else if (r.Type === "AWS::Events::EventBus") {
      router.createEventBus(physical.get(id)!.ref);
      record(id, r.Type);
    }
  }
  // 3. Functions.
  for (const [id, r] of resources) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const p = props(r);
    const runtimeName = String(p.Runtime ?? "");
    if (!runtimeName.startsWith("nodejs")) {
      unsupported.push({ logicalId: id, type: `${r.Type} (runtime ${runtimeName || "unknown"})` });
      continue;
    }
    let assetPath = r.Metadata?.["aws:asset:path"];
    const inline = (p.Code as { ZipFile?: string } | undefined)?.ZipFile;
    if (typeof inline === "string") {
      // Inline code (Code.ZipFile) is a single CommonJS file named after the handler.
      const dir = mkdtempSync(path.join(os.tmpdir(), `lakeport-inline-${id}-`));
      writeFileSync(
        path.join(dir, `${String(p.Handler ?? "index.handler").split(".")[0]}.js`),
        inline,
      );
      assetPath = dir;
    }
    if (typeof assetPath !== "string") {
      throw new TemplateError(
        `Function ${id} has no 'aws:asset:path' metadata; synthesize with context { "aws:cdk:enable-asset-metadata": true }`,
      );
    }
    const env = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
    runtime.register({
      name: physical.get(id)!.ref,
      logicalId: id,
      codeDir: path.resolve(assemblyDir, assetPath),
      handler: String(p.Handler ?? "index.handler"),
      // lambdaEnv wins over the template: it carries what is only known locally at runtime
      // (LAKEFS_ENDPOINT of a dev server on a free port, credentials instead of secret ARNs).
      environment: {
        ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
        ...(opts.lambdaEnv ?? {}),
      },
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySizeMb: Number(p.MemorySize ?? 128),
    });
    record(id, r.Type);
  }
  // 4. State machines.
  for (const [id, r] of resources) {
    if (r.Type !== "AWS::StepFunctions::StateMachine") continue;
    const p = props(r);
    let definition =
      typeof p.DefinitionString === "string"
        ? p.DefinitionString
        : p.Definition !== undefined
          ? JSON.stringify(p.Definition)
          : undefined;
    if (definition === undefined)
      throw new TemplateError(`State machine ${id}: DefinitionS3Location is not supported locally`);
    for (const [k, v] of Object.entries(
      (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>,
    )) {
      definition = definition.split(`\${${k}}`).join(String(v));
    }
    runner.createStateMachine({
      name: physical.get(id)!.attrs.Name!,
      definition,
      roleArn: String(p.RoleArn ?? ""),
      type: p.StateMachineType === "EXPRESS" ? "EXPRESS" : "STANDARD",
    });
    record(id, r.Type);
  }
  // 5. Rules.
  for (const [id, r] of resources) {
    if (r.Type !== "AWS::Events::Rule") continue;
    const p = props(r);
    const scheduleExpression =
      p.ScheduleExpression === undefined ? undefined : String(p.ScheduleExpression);
    if (scheduleExpression !== undefined) {
      try {
        rateIntervalMs(scheduleExpression);
      } catch (err) {
        if (!(err instanceof ScheduleError)) throw err;
        unsupported.push({ logicalId: id, type: `${r.Type} (${err.message})` });
        continue;
      }
    }
    const bus = p.EventBusName ? String(p.EventBusName).replace(/^.*:event-bus\//, "") : "default";
    router.putRule({
      name: physical.get(id)!.ref,
      arn: physical.get(id)!.attrs.Arn!,
      eventBusName: bus,
      ...(p.EventPattern
        ? {
            eventPattern: (typeof p.EventPattern === "string"
              ? JSON.parse(p.EventPattern)
              : p.EventPattern) as Record<string, unknown>,
          }
        : {}),
      ...(scheduleExpression !== undefined ? { scheduleExpression } : {}),
      targets: ((p.Targets ?? []) as Record<string, unknown>[]).map((t) => {
        const target: RuleTarget = { Id: String(t.Id), Arn: String(t.Arn) };
        if (t.Input !== undefined) target.Input = String(t.Input);
        if (t.InputPath !== undefined) target.InputPath = String(t.InputPath);
        if (t.InputTransformer !== undefined)
          target.InputTransformer = t.InputTransformer as RuleTarget["InputTransformer"];
        return target;
      }),
      state: p.State === "DISABLED" ? "DISABLED" : "ENABLED",
    });
    record(id, r.Type);
  }
  const handled = new Set([
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::Events::EventBus",
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
  ]);
  for (const [id, r] of resources) {
    if (handled.has(r.Type)) continue;
    (IGNORED_TYPES.has(r.Type) ? ignored : unsupported).push({ logicalId: id, type: r.Type });
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, o] of Object.entries(template.Outputs ?? {})) {
    try {
      outputs[k] = resolver.resolve(o.Value);
    } catch {
      outputs[k] = undefined;
    }
  }
  const lookup = (key: string): Physical => {
    const exact = physical.get(key);
    if (exact) return exact;
    // CDK logical ids are the construct path plus an 8-character hash.
    const hashed = [...physical.keys()].filter(
      (k) =>
        k.length === key.length + 8 &&
        k.startsWith(key) &&
        /^[0-9A-F]{8}$/.test(k.slice(key.length)),
    );
    const matches =
      hashed.length > 0 ? hashed : [...physical.keys()].filter((k) => k.startsWith(key));
    if (matches.length !== 1)
      throw new TemplateError(
        `No single resource with logical id (prefix) '${key}' (matches: ${matches.join(", ") || "none"})`,
      );
    return physical.get(matches[0]!)!;
  };
  return {
    stackName,
    runtime,
    runner,
    router,
    resources: deployed,
    ignored,
    unsupported,
    outputs,
    physicalId: (k) => {
      const p = lookup(k);
      return p.attrs.Name ?? p.ref;
    },
    arn: (k) => {
      const p = lookup(k);
      if (!p.attrs.Arn) throw new TemplateError(`Resource '${k}' has no ARN`);
      return p.attrs.Arn;
    },
    invoke: (k, event) =>
      runtime.invokeJson(runtime.functionNames().includes(k) ? k : lookup(k).ref, event),
    close: async () => {
      router.stopSchedules();
      runner.stopAll();
      await runtime.close();
      s3.destroy();
      ddb.destroy();
    },
  };
}

async function createTable(
  ddb: ReturnType<typeof createDynamoDbClient>,
  name: string,
  p: Record<string, unknown>,
  id: string,
): Promise<void> {
  const gsis = (p.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[];
  const lsis = (p.LocalSecondaryIndexes ?? []) as Record<string, unknown>[];
  const input: CreateTableCommandInput = {
    TableName: name,
    KeySchema: p.KeySchema as CreateTableCommandInput["KeySchema"],
    AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
    BillingMode: "PAY_PER_REQUEST",
    ...(gsis.length
      ? {
          GlobalSecondaryIndexes: gsis.map((g) => ({
            IndexName: String(g.IndexName),
            KeySchema: g.KeySchema as never,
            Projection: g.Projection as never,
          })),
        }
      : {}),
    ...(lsis.length
      ? {
          LocalSecondaryIndexes: lsis.map((l) => ({
            IndexName: String(l.IndexName),
            KeySchema: l.KeySchema as never,
            Projection: l.Projection as never,
          })),
        }
      : {}),
    ...(p.StreamSpecification
      ? {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: (p.StreamSpecification as { StreamViewType: never }).StreamViewType,
          },
        }
      : {}),
  };
  if (!input.KeySchema || !input.AttributeDefinitions)
    throw new TemplateError(`Table ${id}: KeySchema and AttributeDefinitions are required`);
  try {
    await ddb.send(new CreateTableCommand(input));
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  const ttl = p.TimeToLiveSpecification as
    | { AttributeName?: string; Enabled?: boolean }
    | undefined;
  if (ttl?.Enabled && ttl.AttributeName) {
    await ddb
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      )
      .catch((e: Error) => {
        // A restart on kept data: the table exists with TTL already on.
        if (!/already enabled/i.test(e.message)) throw e;
      });
  }
}
