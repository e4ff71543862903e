// API Gateway's method selection over a RestApi's resource tree: at each level a literal path
// part wins over a {param}, which wins over a greedy {proxy+}; the method is the request's
// HTTP method, else ANY. No match is not a 404 in API Gateway but its "Missing
// Authentication Token" 403 (the caller sees that, so it is answered by the gateway).
import type { RestApiMethod, RestApiResource } from "./rest-api";

export interface MatchedMethod {
  resource: RestApiResource;
  method: RestApiMethod;
  pathParameters: Record<string, string>;
}

const isParam = (part: string) => /^\{[^}+]+\}$/.test(part);
const isGreedy = (part: string) => /^\{[^}]+\+\}$/.test(part);
const paramName = (part: string) => part.replace(/^\{|\+?\}$/g, "");

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function walk(
  node: RestApiResource,
  segments: string[],
  params: Record<string, string>,
): { resource: RestApiResource; params: Record<string, string> }[] {
  if (segments.length === 0) return [{ resource: node, params }];
  const [head, ...rest] = segments as [string, ...string[]];
  const value = decode(head);
  if (value === undefined || head === "") return [];
  const out: { resource: RestApiResource; params: Record<string, string> }[] = [];
  for (const child of node.children.filter((c) => c.pathPart === value)) {
    out.push(...walk(child, rest, params));
  }
  for (const child of node.children.filter((c) => isParam(c.pathPart))) {
    out.push(...walk(child, rest, { ...params, [paramName(child.pathPart)]: value }));
  }
  for (const child of node.children.filter((c) => isGreedy(c.pathPart))) {
    const whole = decode(segments.join("/"));
    if (whole !== undefined) {
      out.push({ resource: child, params: { ...params, [paramName(child.pathPart)]: whole } });
    }
  }
  return out;
}

/** The method serving `method path` (raw path, without the query), or undefined. */
export function matchMethod(
  root: RestApiResource,
  httpMethod: string,
  rawPath: string,
): MatchedMethod | undefined {
  const segments = rawPath === "/" ? [] : rawPath.replace(/^\//, "").split("/");
  for (const { resource, params } of walk(root, segments, {})) {
    const method = resource.methods.get(httpMethod.toUpperCase()) ?? resource.methods.get("ANY");
    if (method) return { resource, method, pathParameters: params };
  }
  return undefined;
}
