// Task resources: Lambda (direct ARN and the optimized lambda:invoke), DynamoDB, the S3
// aws-sdk calls, states:startExecution and events:putEvents. Errors are named the way Step
// Functions names them so Retry/Catch match like in AWS.
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { StatesError } from "./errors";
import type { Json } from "./paths";

export interface LambdaInvocationResult {
  /** The function's response (or error document), as the JSON text Lambda returns. */
  payload: string;
  /** "Unhandled" when the function failed, as in Lambda's X-Amz-Function-Error. */
  functionError?: string;
  executedVersion: string;
  requestId: string;
}

export interface LambdaInvoker {
  /** Rejects with an Error whose name is e.g. "Lambda.ResourceNotFoundException". */
  invoke(functionNameOrArn: string, payload: string): Promise<LambdaInvocationResult>;
}

export interface EventEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: Date | string;
}

export interface EventSink {
  putEvents(
    entries: EventEntry[],
  ): Promise<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }[]>;
}

export interface IntegrationDeps {
  lambda?: LambdaInvoker;
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
  events?: EventSink;
  startExecution?: (args: {
    stateMachineArn: string;
    input: string;
    name?: string;
  }) => Promise<{ executionArn: string; startDate: Date }>;
}

function need<T>(dep: T | undefined, what: string): T {
  if (!dep) throw new StatesError("States.Runtime", `The local runner has no ${what} configured`);
  return dep;
}

function lambdaFailure(payload: string): StatesError {
  let errorType = "Lambda.Unknown";
  try {
    const doc = JSON.parse(payload) as { errorType?: string };
    if (doc && typeof doc.errorType === "string") errorType = doc.errorType;
  } catch {
    // not JSON: keep Lambda.Unknown
  }
  return new StatesError(errorType, payload);
}

async function invokeLambda(deps: IntegrationDeps, fn: string, payload: Json) {
  const lambda = need(deps.lambda, "Lambda runtime");
  let res: LambdaInvocationResult;
  try {
    res = await lambda.invoke(fn, JSON.stringify(payload ?? null));
  } catch (e) {
    const err = e as Error;
    throw new StatesError(
      err.name?.startsWith("Lambda.") ? err.name : "Lambda.ServiceException",
      err.message,
    );
  }
  if (res.functionError) throw lambdaFailure(res.payload);
  return res;
}

function stripMetadata(out: object): Json {
  const { $metadata: _m, ...rest } = out as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest)) as Json;
}

function serviceError(prefix: string, e: unknown, suffixException: boolean): StatesError {
  const err = e as Error;
  let name = err.name || "UnknownError";
  if (suffixException && !name.endsWith("Exception")) name += "Exception";
  return new StatesError(`${prefix}.${name}`, err.message);
}

export async function runTask(
  resource: string,
  params: Json,
  deps: IntegrationDeps,
): Promise<Json> {
  const p = (params ?? {}) as Record<string, Json>;
  if (/:lambda:[^:]+:\d{12}:function:/.test(resource)) {
    const res = await invokeLambda(deps, resource, params);
    return JSON.parse(res.payload || "null") as Json;
  }
  const m = /^arn:aws[a-z-]*:states:::(.+)$/.exec(resource);
  const action = m?.[1] ?? "";
  switch (action) {
    case "lambda:invoke":
      return lambdaInvokeTask(deps, p);
    case "dynamodb:getItem":
    case "dynamodb:putItem":
    case "dynamodb:updateItem":
    case "dynamodb:deleteItem": {
      const ddb = need(deps.dynamodb, "DynamoDB client");
      const input = p as never;
      const cmd =
        action === "dynamodb:getItem"
          ? new GetItemCommand(input)
          : action === "dynamodb:putItem"
            ? new PutItemCommand(input)
            : action === "dynamodb:updateItem"
              ? new UpdateItemCommand(input)
              : new DeleteItemCommand(input);
      try {
        return stripMetadata(await ddb.send(cmd as never));
      } catch (e) {
        throw serviceError("DynamoDB", e, false);
      }
    }
    case "aws-sdk:s3:putObject":
    case "aws-sdk:s3:getObject":
    case "aws-sdk:s3:listObjectsV2":
      return s3Task(deps, action, p);
    case "states:startExecution": {
      const start = need(deps.startExecution, "Step Functions runner");
      const input = typeof p.Input === "string" ? p.Input : JSON.stringify(p.Input ?? {});
      try {
        const r = await start({
          stateMachineArn: String(p.StateMachineArn),
          input,
          ...(typeof p.Name === "string" ? { name: p.Name } : {}),
        });
        return { ExecutionArn: r.executionArn, StartDate: r.startDate.toISOString() };
      } catch (e) {
        throw serviceError("StepFunctions", e, false);
      }
    }
    case "events:putEvents":
      return putEventsTask(deps, p);
  }
  throw new StatesError("States.Runtime", `Unsupported resource ${resource}`);
}

/** The optimized lambda:invoke integration: the function's result wrapped as the SDK returns it. */
async function lambdaInvokeTask(deps: IntegrationDeps, p: Record<string, Json>): Promise<Json> {
  if (typeof p.FunctionName !== "string")
    throw new StatesError("States.Runtime", "lambda:invoke needs FunctionName");
  const res = await invokeLambda(deps, p.FunctionName, p.Payload ?? null);
  const headers = {
    Connection: "keep-alive",
    "Content-Type": "application/json",
    "X-Amz-Executed-Version": res.executedVersion,
    "x-amzn-Remapped-Content-Length": "0",
    "x-amzn-RequestId": res.requestId,
  };
  return {
    ExecutedVersion: res.executedVersion,
    Payload: JSON.parse(res.payload || "null") as Json,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: res.requestId },
    StatusCode: 200,
  };
}

async function s3Task(
  deps: IntegrationDeps,
  action: string,
  p: Record<string, Json>,
): Promise<Json> {
  const s3 = need(deps.s3, "S3 client");
  try {
    if (action.endsWith("putObject")) {
      const body = typeof p.Body === "string" ? p.Body : JSON.stringify(p.Body ?? "");
      return stripMetadata(
        await s3.send(new PutObjectCommand({ ...(p as object), Body: body } as never)),
      );
    }
    if (action.endsWith("getObject")) {
      const out = await s3.send(new GetObjectCommand(p as never));
      const body = (await out.Body?.transformToString("utf8")) ?? "";
      const meta = stripMetadata({ ...out, Body: undefined }) as Record<string, Json>;
      return { ...meta, Body: body };
    }
    return stripMetadata(await s3.send(new ListObjectsV2Command(p as never)));
  } catch (e) {
    throw serviceError("S3", e, true);
  }
}

async function putEventsTask(deps: IntegrationDeps, p: Record<string, Json>): Promise<Json> {
  const events = need(deps.events, "EventBridge router");
  const entries = (Array.isArray(p.Entries) ? p.Entries : []) as Record<string, Json>[];
  const res = await events.putEvents(
    entries.map((e) => ({
      ...(e as object),
      Detail: typeof e.Detail === "string" ? e.Detail : JSON.stringify(e.Detail ?? {}),
    })) as EventEntry[],
  );
  const failed = res.filter((r) => r.ErrorCode).length;
  if (failed > 0) {
    throw new StatesError(
      "EventBridge.FailedEntry",
      JSON.stringify({ Entries: res, FailedEntryCount: failed }),
    );
  }
  return { Entries: res as Json, FailedEntryCount: 0 };
}
