// A Step Functions-compatible endpoint (AWS JSON 1.0, X-Amz-Target AWSStepFunctions.*) over
// the local runner, so product code uses @aws-sdk/client-sfn unchanged.
import type { ServerResponse } from "node:http";
import {
  type LocalEndpointHandle,
  listenLocally,
  readBody,
  sendAwsJson,
} from "../aws-json-endpoint";
import { DefinitionError } from "./errors";
import type { ExecutionRecord, MapRunRecord } from "./records";
import { RunnerApiError, type StepFunctionsRunner } from "./runner";

export type StepFunctionsServerHandle = LocalEndpointHandle;

const secs = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

function describe(e: ExecutionRecord) {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: secs(e.startDate),
    stopDate: secs(e.stopDate),
    input: e.input,
    inputDetails: { included: true },
    ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
    ...(e.mapRunArn ? { mapRunArn: e.mapRunArn } : {}),
    redriveCount: 0,
  };
}

function mapRun(m: MapRunRecord) {
  return {
    mapRunArn: m.mapRunArn,
    executionArn: m.executionArn,
    status: m.status,
    startDate: secs(m.startDate),
    stopDate: secs(m.stopDate),
    maxConcurrency: m.maxConcurrency,
    toleratedFailurePercentage: m.toleratedFailurePercentage,
    toleratedFailureCount: m.toleratedFailureCount,
    itemCounts: { ...m.itemCounts, failuresNotRedrivable: 0, pendingRedrive: 0 },
    executionCounts: { ...m.executionCounts, failuresNotRedrivable: 0, pendingRedrive: 0 },
    redriveCount: 0,
  };
}

function page<T>(items: T[], body: Record<string, unknown>): { page: T[]; nextToken?: string } {
  const max = typeof body.maxResults === "number" && body.maxResults > 0 ? body.maxResults : 100;
  const start = typeof body.nextToken === "string" ? Number.parseInt(body.nextToken, 10) || 0 : 0;
  const slice = items.slice(start, start + max);
  return { page: slice, ...(start + max < items.length ? { nextToken: String(start + max) } : {}) };
}

type Handler = (
  runner: StepFunctionsRunner,
  body: Record<string, unknown>,
) => Promise<unknown> | unknown;

const OPERATIONS: Record<string, Handler> = {
  StartExecution: async (r, b) => {
    const out = await r.startExecution({
      stateMachineArn: String(b.stateMachineArn),
      ...(typeof b.input === "string" ? { input: b.input } : {}),
      ...(typeof b.name === "string" ? { name: b.name } : {}),
    });
    return { executionArn: out.executionArn, startDate: secs(out.startDate) };
  },
  DescribeExecution: (r, b) => describe(r.describeExecution(String(b.executionArn))),
  StopExecution: (r, b) => {
    const out = r.stopExecution({
      executionArn: String(b.executionArn),
      ...(typeof b.error === "string" ? { error: b.error } : {}),
      ...(typeof b.cause === "string" ? { cause: b.cause } : {}),
    });
    return { stopDate: secs(out.stopDate) };
  },
  ListExecutions: (r, b) => {
    const all = r.listExecutions({
      ...(typeof b.stateMachineArn === "string" ? { stateMachineArn: b.stateMachineArn } : {}),
      ...(typeof b.mapRunArn === "string" ? { mapRunArn: b.mapRunArn } : {}),
      ...(typeof b.statusFilter === "string" ? { statusFilter: b.statusFilter } : {}),
    });
    const p = page(all, b);
    return {
      executions: p.page.map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: secs(e.startDate),
        stopDate: secs(e.stopDate),
        ...(e.mapRunArn ? { mapRunArn: e.mapRunArn } : {}),
      })),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },
  GetExecutionHistory: (r, b) => {
    const e = r.describeExecution(String(b.executionArn));
    const events = b.reverseOrder ? [...e.history].reverse() : e.history;
    const p = page(events, b);
    return {
      events: p.page.map((h) => ({
        timestamp: secs(h.timestamp),
        type: h.type,
        id: h.id,
        previousEventId: h.previousEventId,
        ...(h.detailsKey ? { [h.detailsKey]: h.details ?? {} } : {}),
      })),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },
  DescribeMapRun: (r, b) => mapRun(r.describeMapRun(String(b.mapRunArn))),
  ListMapRuns: (r, b) => {
    const p = page(r.listMapRuns(String(b.executionArn)), b);
    return {
      mapRuns: p.page.map((m) => ({
        executionArn: m.executionArn,
        mapRunArn: m.mapRunArn,
        stateMachineArn: m.mapRunArn.replace(":mapRun:", ":stateMachine:").replace(/:[^:]+$/, ""),
        startDate: secs(m.startDate),
        stopDate: secs(m.stopDate),
      })),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },
  DescribeStateMachine: (r, b) => {
    const m = r.describeStateMachine(String(b.stateMachineArn));
    return {
      stateMachineArn: m.stateMachineArn,
      name: m.name,
      status: "ACTIVE",
      definition: m.definitionString,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: secs(m.creationDate),
    };
  },
  ListStateMachines: (r, b) => {
    const p = page(r.listStateMachines(), b);
    return {
      stateMachines: p.page.map((m) => ({
        stateMachineArn: m.stateMachineArn,
        name: m.name,
        type: m.type,
        creationDate: secs(m.creationDate),
      })),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },
};

function send(res: ServerResponse, status: number, body: unknown) {
  sendAwsJson(res, "application/x-amz-json-1.0", status, body);
}

function sendError(res: ServerResponse, code: string, message: string, status = 400) {
  send(res, status, { __type: `com.amazonaws.swf.service.v2.model#${code}`, message });
}

export async function startStepFunctionsServer(opts: {
  port?: number;
  runner: StepFunctionsRunner;
}): Promise<StepFunctionsServerHandle> {
  return listenLocally(async (req, res) => {
    try {
      const target = String(req.headers["x-amz-target"] ?? "");
      const op = target.startsWith("AWSStepFunctions.")
        ? target.slice("AWSStepFunctions.".length)
        : "";
      const handler = OPERATIONS[op];
      const text = await readBody(req);
      if (!handler)
        return sendError(
          res,
          "UnknownOperationException",
          `Operation '${target}' is not supported by the local Step Functions endpoint`,
        );
      let body: Record<string, unknown>;
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        return sendError(res, "SerializationException", "Request body is not valid JSON");
      }
      send(res, 200, await handler(opts.runner, body));
    } catch (e) {
      if (e instanceof RunnerApiError) return sendError(res, e.code, e.message);
      if (e instanceof DefinitionError) return sendError(res, "InvalidDefinition", e.message);
      sendError(res, "InternalFailure", (e as Error).message, 500);
    }
  }, opts.port);
}
