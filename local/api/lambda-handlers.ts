// The proxy integrations of the local API Gateway: the function a method's AWS_PROXY
// integration names in the template is invoked with API Gateway's proxy event, either the
// deployed function (its esbuild bundle in the local Lambda runtime, with the environment the
// template gives it) or, for tests, an in-process handler of its route group. A function
// error answers 502 like API Gateway's Lambda proxy does.
import type { ApiHandler, ApiResult } from "../../lambdas/api/http";
import type { RouteGroup } from "../../lambdas/api/routes";
import type { LocalDeployment } from "../cloud/deploy";

const GROUPS: RouteGroup[] = ["export", "gc", "webhook", "meta"];

/** Logical id (without CDK's hash) of the API function of a group in the Lakeport stack. */
export function apiFunctionLogicalId(group: RouteGroup, constructPrefix = "LakeportApi"): string {
  return `${constructPrefix}${group[0]!.toUpperCase()}${group.slice(1)}Function`;
}

/** The route group whose API function has this logical id (CDK's 8-character hash after it). */
export function routeGroupOfFunction(
  functionLogicalId: string,
  constructPrefix?: string,
): RouteGroup | undefined {
  return GROUPS.find((g) => {
    const base = apiFunctionLogicalId(g, constructPrefix);
    return (
      functionLogicalId === base ||
      (functionLogicalId.startsWith(base) &&
        /^[0-9A-F]{8}$/.test(functionLogicalId.slice(base.length)))
    );
  });
}

/** In-process handlers standing in for the API functions, by route group. */
export function groupIntegration(
  handlers: Partial<Record<RouteGroup, ApiHandler>>,
): (functionLogicalId: string) => ApiHandler | undefined {
  return (id) => {
    const group = routeGroupOfFunction(id);
    return group ? handlers[group] : undefined;
  };
}

const gatewayError = (statusCode: number, message: string): ApiResult => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ message }),
});

/** The deployed functions, invoked through the deployment's Lambda runtime. */
export function lambdaIntegration(
  deployment: Pick<LocalDeployment, "physicalId" | "runtime">,
  opts: { log?: (message: string) => void } = {},
): (functionLogicalId: string) => ApiHandler | undefined {
  const log = opts.log ?? ((m: string) => console.error(m));
  return (functionLogicalId) => {
    const name = deployment.physicalId(functionLogicalId);
    return async (event) => {
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
  };
}
