// The API Gateway routes served by the deployed API functions: each request becomes the
// REST proxy event API Gateway would send and is invoked through the local Lambda runtime,
// i.e. the esbuild bundle of lambdas/api/handlers/<group>.ts with the environment the
// template gives it. A function error answers 502 like API Gateway's Lambda proxy does.
import type { ApiHandler, ApiResult } from "../../lambdas/api/http";
import type { RouteGroup } from "../../lambdas/api/routes";
import type { LocalDeployment } from "../cloud/deploy";

const GROUPS: RouteGroup[] = ["export", "gc", "webhook", "meta"];

/** Logical id (without CDK's hash) of the API function of a group in the Lakeport stack. */
export function apiFunctionLogicalId(group: RouteGroup, constructPrefix = "LakeportApi"): string {
  return `${constructPrefix}${group[0]!.toUpperCase()}${group.slice(1)}Function`;
}

/** Physical names of the deployed API functions, by route group. */
export function apiFunctionNames(
  deployment: Pick<LocalDeployment, "physicalId">,
  constructPrefix?: string,
): Record<RouteGroup, string> {
  return Object.fromEntries(
    GROUPS.map((g) => [g, deployment.physicalId(apiFunctionLogicalId(g, constructPrefix))]),
  ) as Record<RouteGroup, string>;
}

const gatewayError = (statusCode: number, message: string): ApiResult => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ message }),
});

/** Handlers that invoke the deployed API functions through the deployment's Lambda runtime. */
export function lambdaApiHandlers(
  deployment: Pick<LocalDeployment, "physicalId" | "runtime">,
  opts: { constructPrefix?: string; log?: (message: string) => void } = {},
): Record<RouteGroup, ApiHandler> {
  const names = apiFunctionNames(deployment, opts.constructPrefix);
  const log = opts.log ?? ((m: string) => console.error(m));
  const handler =
    (name: string): ApiHandler =>
    async (event) => {
      let res: Awaited<ReturnType<LocalDeployment["runtime"]["invoke"]>>;
      try {
        res = await deployment.runtime.invoke(name, JSON.stringify(event));
      } catch (err) {
        // Lambda service errors (payload too large, throttled): API Gateway answers 5xx.
        log(`[api] invoking ${name} failed: ${(err as Error).message}`);
        return gatewayError(502, "Internal server error");
      }
      if (res.functionError) {
        log(`[api] ${name} failed: ${res.payload}`);
        return gatewayError(502, "Internal server error");
      }
      const result = JSON.parse(res.payload) as ApiResult | null;
      if (!result || typeof result.statusCode !== "number") {
        log(`[api] ${name} returned no proxy result: ${res.payload.slice(0, 200)}`);
        return gatewayError(502, "Internal server error");
      }
      return result;
    };
  return Object.fromEntries(GROUPS.map((g) => [g, handler(names[g])])) as Record<
    RouteGroup,
    ApiHandler
  >;
}
