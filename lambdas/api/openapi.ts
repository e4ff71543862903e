// The OpenAPI 3.1 description of the API, produced from the route table and the same zod
// schemas the handlers validate with. `npm run openapi` writes openapi.json.
import { z } from "zod";
import { API_BASE_PATH, ROUTES, type RouteDef } from "./routes";
import * as schemas from "./schemas";

const NAMED = [
  schemas.ErrorSchema,
  schemas.ExportConfigurationSchema,
  schemas.ExportStatusSchema,
  schemas.GcRulesBodySchema,
  schemas.GcRunListSchema,
  schemas.GcRunRequestSchema,
  schemas.GcRunSchema,
  schemas.LakeFsWebhookEventSchema,
  schemas.RepairExportRequestSchema,
  schemas.StartExportResponseSchema,
  schemas.WebhookResponseSchema,
];

const ref = (schema: z.ZodType) => {
  const id = z.globalRegistry.get(schema)?.id;
  if (!id) throw new Error("schema without an id");
  return { $ref: `#/components/schemas/${id}` };
};

function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const add = (s: z.ZodType) => {
    const meta = z.globalRegistry.get(s) as { id: string } | undefined;
    if (meta?.id) registry.add(s, { ...meta, id: meta.id });
  };
  for (const s of NAMED) add(s);
  // Nested named schemas too (e.g. ExecutionProgress inside ExportStatus).
  add(schemas.ExportStatusSchema.shape.execution.unwrap());
  add(schemas.ExportStatusSchema.shape.progress.unwrap());
  const out = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
    io: "input",
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const s of Object.values(out.schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return out.schemas;
}

const json = (schema: z.ZodType) => ({ content: { "application/json": { schema: ref(schema) } } });
const error = (description: string) => ({ description, ...json(schemas.ErrorSchema) });

/** What any route may answer; each route adds its own below. */
function commonResponses(route: RouteDef): Record<string, unknown> {
  return {
    "400": error("Bad request: the message names the field"),
    "404": error("Repository, branch or resource not found"),
    "502": error(
      "lakeFS failed, could not be reached, or refused Lakeport's credentials (the message says which)",
    ),
    "504": error(
      "The request did not finish in time; its change may or may not be stored (read it back)",
    ),
    ...(route.authenticated
      ? { "403": error("Not allowed") }
      : { "401": error("Wrong or missing token") }),
  };
}

/** Query parameters a route cannot do without (the others are optional). */
const REQUIRED_QUERY = new Set(["location"]);

function operation(route: RouteDef) {
  const params: Record<string, unknown>[] = [
    ...[...route.resource.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    })),
    ...(Array.isArray(route.query) ? route.query : []).map((name) => ({
      name,
      in: "query",
      required: REQUIRED_QUERY.has(name),
      schema: { type: "string" },
    })),
  ];
  const responses: Record<string, unknown> = commonResponses(route);
  const key = `${route.method} ${route.resource.slice(API_BASE_PATH.length)}`;
  const requestBody = key.includes("/branches/{branch}/")
    ? describeExportRoute(key, responses)
    : describeOtherRoute(key, responses, params);
  return {
    summary: route.summary,
    operationId: operationId(route),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
    ...(route.authenticated ? {} : { security: [] }),
  };
}

/** An export route's answers; its request body, if any. */
function describeExportRoute(key: string, responses: Record<string, unknown>): unknown {
  let requestBody: unknown;
  switch (key) {
    case "GET /repositories/{repository}/branches/{branch}/continuous-export":
      responses["200"] = {
        description: "The configuration",
        ...json(schemas.ExportConfigurationSchema),
      };
      break;
    case "PUT /repositories/{repository}/branches/{branch}/continuous-export":
      requestBody = { required: true, ...json(schemas.ExportConfigurationSchema) };
      responses["200"] = {
        description:
          "Stored (with configVersion; fullExportNext when the next export is a full one, previousExportPath when the path changed: the old path is left as it is); a continuous export also starts exporting",
      };
      responses["409"] = error(
        "The configuration kept changing under other requests during this one (read it and try again), or it moves the export or status path while the branch's export may still write to it",
      );
      responses["415"] = error("Not JSON");
      break;
    case "DELETE /repositories/{repository}/branches/{branch}/continuous-export":
      responses["204"] = { description: "Deleted" };
      responses["409"] = error(
        "The branch's export is running, or an aborted one may still write to its paths: delete once it has ended",
      );
      break;
    case "POST /repositories/{repository}/branches/{branch}/repair-export":
      requestBody = { required: false, ...json(schemas.RepairExportRequestSchema) };
      responses["202"] = {
        description: "Export started",
        ...json(schemas.StartExportResponseSchema),
      };
      responses["409"] = error(
        "Not failed (repair with full reconciles anyway), or an export is in progress",
      );
      responses["502"] = error(
        "The export workflow could not be started (the branch is export-failed), or lakeFS failed (the message says which)",
      );
      break;
    case "POST /repositories/{repository}/branches/{branch}/export-hook":
      responses["202"] = {
        description: "Export started",
        ...json(schemas.StartExportResponseSchema),
      };
      responses["200"] = {
        description: "Already up to date",
        ...json(schemas.StartExportResponseSchema),
      };
      responses["409"] = error(
        "Export in progress, export failed (repair first), nothing to repair, or a failed export's functions may still be writing (repair after `settlesAt`)",
      );
      responses["502"] = error(
        "The export workflow could not be started (the branch is export-failed), or lakeFS failed (the message says which)",
      );
      break;
    case "GET /repositories/{repository}/branches/{branch}/export-status":
      responses["200"] = { description: "Export state", ...json(schemas.ExportStatusSchema) };
      break;
  }
  return requestBody;
}

/** A GC, webhook or meta route's answers (and parameters); its request body, if any. */
function describeOtherRoute(
  key: string,
  responses: Record<string, unknown>,
  params: Record<string, unknown>[],
): unknown {
  let requestBody: unknown;
  switch (key) {
    case "DELETE /repositories/{repository}/settings/gc_rules":
      responses["204"] = { description: "Deleted" };
      break;
    case "GET /repositories/{repository}/settings/gc_rules":
      responses["200"] = { description: "The rules", ...json(schemas.GcRulesBodySchema) };
      break;
    case "PUT /repositories/{repository}/settings/gc_rules":
      requestBody = { required: true, ...json(schemas.GcRulesBodySchema) };
      responses["204"] = { description: "Stored" };
      responses["415"] = error("Not JSON");
      break;
    case "POST /repositories/{repository}/gc/runs":
      requestBody = { required: false, ...json(schemas.GcRunRequestSchema) };
      responses["202"] = { description: "Run started", ...json(schemas.GcRunSchema) };
      responses["409"] = error("Mark id used, or not from a successful mark run");
      break;
    case "GET /repositories/{repository}/gc/runs":
      responses["200"] = { description: "Runs, newest first", ...json(schemas.GcRunListSchema) };
      break;
    case "GET /repositories/{repository}/gc/runs/{runId}":
      responses["200"] = { description: "The run with progress", ...json(schemas.GcRunSchema) };
      break;
    case "GET /repositories/{repository}/gc/backup-location-check":
      responses["200"] = {
        description: "The location may hold a backup",
        ...json(schemas.GcBackupLocationCheckSchema),
      };
      break;
    case "POST /repositories/{repository}/gc/backup-locations":
      requestBody = { required: true, ...json(schemas.GcBackupLocationClaimRequestSchema) };
      responses["201"] = { description: "Claimed", ...json(schemas.GcBackupLocationClaimSchema) };
      responses["200"] = {
        description: "Already claimed by the repository (the mark recorded on it)",
        ...json(schemas.GcBackupLocationClaimSchema),
      };
      responses["415"] = error("Not JSON");
      break;
    case "GET /repositories/{repository}/gc/backup-locations":
      responses["200"] = {
        description: "The claimed locations, in location order",
        ...json(schemas.GcBackupLocationClaimListSchema),
      };
      break;
    case "DELETE /repositories/{repository}/gc/backup-locations":
      responses["204"] = { description: "Released" };
      break;
    case "POST /webhooks/lakefs":
      params.push({
        name: "X-Lakeport-Token",
        in: "header",
        required: true,
        schema: { type: "string" },
      });
      requestBody = { required: true, ...json(schemas.LakeFsWebhookEventSchema) };
      responses["202"] = { description: "Published", ...json(schemas.WebhookResponseSchema) };
      responses["200"] = {
        description: "Repeated delivery, not published again",
        ...json(schemas.WebhookResponseSchema),
      };
      break;
    case "GET /openapi.json":
      responses["200"] = { description: "This document" };
      break;
  }
  return requestBody;
}

function operationId(route: RouteDef): string {
  const words = route.resource
    .slice(API_BASE_PATH.length)
    .split("/")
    .filter((p) => p && !p.startsWith("{") && p !== "repositories" && p !== "branches");
  return [route.method.toLowerCase(), ...words]
    .join("_")
    .replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
}

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const p = route.resource.slice(API_BASE_PATH.length);
    paths[p] ??= {};
    paths[p][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Lakeport API",
      version: "1.0.0",
      description: "Continuous export and garbage collection for lakeFS repositories.",
    },
    servers: [{ url: API_BASE_PATH }],
    security: [{ sigv4: [] }],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          name: "Authorization",
          in: "header",
          description:
            "AWS SigV4 (service execute-api), in AWS and against the embedded environment",
        },
      },
    },
  };
}

export const openApiJson = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
