// GET /api/v1/openapi.json
import { type ApiHandler, apiHandler, json, type RouteFn } from "../http";
import { openApiDocument } from "../openapi";
import { API_BASE_PATH, routeKey } from "../routes";

let document: unknown;

export const metaRoutes: Record<string, RouteFn<unknown>> = {
  [routeKey("GET", `${API_BASE_PATH}/openapi.json`)]: async () => {
    document ??= openApiDocument();
    return json(200, document);
  },
};

export function createMetaHandler(): ApiHandler {
  return apiHandler("API meta routes", metaRoutes, () => undefined);
}

export const handler = createMetaHandler();
