// The REST API a synthesized template declares, read from its AWS::ApiGateway::* resources:
// the Resource tree (path parts, {param}, {proxy+}), each Method (authorization, required
// parameters, its request validator and body models, the Lambda its AWS_PROXY integration
// calls) and the API's gateway responses. This is what the local API Gateway serves; nothing
// of it is taken from Lakeport's own route table.
import {
  type CfnResource,
  type CfnTemplate,
  loadAssemblyTemplate,
  TemplateError,
} from "../cloud/template";

export interface RestApiMethod {
  httpMethod: string;
  /** NONE or AWS_IAM (others are refused when the API is read). */
  authorizationType: "NONE" | "AWS_IAM";
  /** e.g. `method.request.path.repository` -> required. */
  requestParameters: Record<string, boolean>;
  validateBody: boolean;
  validateParameters: boolean;
  /** Content type -> JSON Schema (draft 4) of the Model. */
  requestModels: Record<string, Record<string, unknown>>;
  /** Logical id of the Lambda function the AWS_PROXY integration invokes. */
  functionLogicalId: string;
}

export interface RestApiResource {
  /** Full path, e.g. /api/v1/repositories/{repository}. */
  path: string;
  pathPart: string;
  children: RestApiResource[];
  methods: Map<string, RestApiMethod>;
}

export interface GatewayResponseDefinition {
  statusCode?: number;
  /** Response header name -> value (quoted literals already unquoted). */
  headers: Record<string, string>;
  /** Content type -> mapping template. */
  templates: Record<string, string>;
}

export interface RestApiDefinition {
  logicalId: string;
  root: RestApiResource;
  gatewayResponses: Map<string, GatewayResponseDefinition>;
}

const SUPPORTED_AUTH = new Set(["NONE", "AWS_IAM"]);

/** The logical id a `{Ref}` or `{Fn::GetAtt}` names (or the string itself). */
function referenced(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === "string") return o.Ref;
    const att = o["Fn::GetAtt"];
    if (Array.isArray(att)) return String(att[0]);
  }
  return undefined;
}

/** The function behind an AWS_PROXY integration URI (`.../functions/<GetAtt Arn>/invocations`). */
function integrationFunction(id: string, integration: Record<string, unknown> | undefined): string {
  if (integration?.Type !== "AWS_PROXY") {
    throw new TemplateError(`${id}: only AWS_PROXY (Lambda proxy) integrations are served locally`);
  }
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const att = (v as Record<string, unknown>)["Fn::GetAtt"];
      if (Array.isArray(att) && att[1] === "Arn") found.push(String(att[0]));
      else Object.values(v).forEach(walk);
    }
  };
  walk(integration.Uri);
  if (found.length !== 1)
    throw new TemplateError(`${id}: no Lambda function in the integration URI`);
  return found[0]!;
}

function ofType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Unquotes a gateway response header value (`'literal'`, as CloudFormation wants them). */
function literal(v: unknown): string {
  const s = String(v);
  return s.length >= 2 && s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
}

function readMethod(
  template: CfnTemplate,
  id: string,
  props: Record<string, unknown>,
): RestApiMethod {
  const auth = String(props.AuthorizationType ?? "NONE");
  if (!SUPPORTED_AUTH.has(auth)) {
    throw new TemplateError(`${id}: authorization ${auth} is not supported locally`);
  }
  const validatorId = referenced(props.RequestValidatorId);
  const validator = validatorId ? template.Resources[validatorId]?.Properties : undefined;
  const requestModels: Record<string, Record<string, unknown>> = {};
  for (const [contentType, ref] of Object.entries(
    (props.RequestModels ?? {}) as Record<string, unknown>,
  )) {
    const model = template.Resources[referenced(ref) ?? ""];
    if (!model) throw new TemplateError(`${id}: request model ${JSON.stringify(ref)} not found`);
    requestModels[contentType.toLowerCase()] = model.Properties?.Schema as Record<string, unknown>;
  }
  return {
    httpMethod: String(props.HttpMethod).toUpperCase(),
    authorizationType: auth as RestApiMethod["authorizationType"],
    requestParameters: (props.RequestParameters ?? {}) as Record<string, boolean>,
    validateBody: validator?.ValidateRequestBody === true,
    validateParameters: validator?.ValidateRequestParameters === true,
    requestModels,
    functionLogicalId: integrationFunction(id, props.Integration as Record<string, unknown>),
  };
}

/** The REST API of a template (the only one, or the one of `restApiLogicalId`). */
export function restApiFromTemplate(
  template: CfnTemplate,
  restApiLogicalId?: string,
): RestApiDefinition {
  const apis = ofType(template, "AWS::ApiGateway::RestApi").map(([id]) => id);
  const apiId = restApiLogicalId ?? (apis.length === 1 ? apis[0] : undefined);
  if (!apiId || !apis.includes(apiId)) {
    throw new TemplateError(
      `no single AWS::ApiGateway::RestApi in the template (have: ${apis.join(", ") || "none"})`,
    );
  }
  const ofApi = (type: string) =>
    ofType(template, type).filter(([, r]) => referenced(r.Properties?.RestApiId) === apiId);
  const root: RestApiResource = { path: "/", pathPart: "", children: [], methods: new Map() };
  const byId = new Map<string, RestApiResource>([[apiId, root]]);
  const resources = ofApi("AWS::ApiGateway::Resource");
  // Parents first: resolve until every resource hangs in the tree.
  let pending = resources;
  while (pending.length > 0) {
    const next = pending.filter(([id, r]) => {
      const parent = byId.get(referenced(r.Properties?.ParentId) ?? "");
      if (!parent) return true;
      const pathPart = String(r.Properties?.PathPart);
      const node: RestApiResource = {
        path: `${parent.path === "/" ? "" : parent.path}/${pathPart}`,
        pathPart,
        children: [],
        methods: new Map(),
      };
      parent.children.push(node);
      byId.set(id, node);
      return false;
    });
    if (next.length === pending.length) {
      throw new TemplateError(`resources without a parent: ${next.map(([id]) => id).join(", ")}`);
    }
    pending = next;
  }
  for (const [id, r] of ofApi("AWS::ApiGateway::Method")) {
    const props = r.Properties ?? {};
    const resource = byId.get(referenced(props.ResourceId) ?? "");
    if (!resource) throw new TemplateError(`${id}: resource ${JSON.stringify(props.ResourceId)}`);
    const method = readMethod(template, id, props);
    resource.methods.set(method.httpMethod, method);
  }
  const gatewayResponses = new Map<string, GatewayResponseDefinition>();
  for (const [, r] of ofApi("AWS::ApiGateway::GatewayResponse")) {
    const p = r.Properties ?? {};
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((p.ResponseParameters ?? {}) as Record<string, unknown>)) {
      const m = /^gatewayresponse\.header\.(.+)$/.exec(k);
      if (m) headers[m[1]!] = literal(v);
    }
    gatewayResponses.set(String(p.ResponseType), {
      ...(p.StatusCode !== undefined ? { statusCode: Number(p.StatusCode) } : {}),
      headers,
      templates: (p.ResponseTemplates ?? {}) as Record<string, string>,
    });
  }
  return { logicalId: apiId, root, gatewayResponses };
}

/** The REST API of the stack template in a cloud assembly (cdk.out). */
export function restApiFromAssembly(assemblyDir: string, stackName?: string): RestApiDefinition {
  return restApiFromTemplate(loadAssemblyTemplate(assemblyDir, stackName).template);
}
