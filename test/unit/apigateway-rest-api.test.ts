// The local API Gateway's reading of a template's AWS::ApiGateway::* resources and its
// method selection: literal parts before {param} before {proxy+}, ANY as the fallback
// method, gateway responses with their status, headers and templates; and its answers.
import { describe, expect, test } from "vitest";
import type { ApiEvent } from "../../lambdas/api/http";
import { createGateway } from "../../local/apigateway/gateway";
import { restApiFromTemplate } from "../../local/apigateway/rest-api";
import { matchMethod } from "../../local/apigateway/route-match";
import type { CfnTemplate } from "../../local/cloud/template";

const api = { Ref: "Api" };
const fn = (id: string) => ({
  Type: "AWS_PROXY",
  IntegrationHttpMethod: "POST",
  Uri: {
    "Fn::Join": [
      "",
      ["arn:aws:apigateway:us-east-1:lambda:path/functions/", { "Fn::GetAtt": [id, "Arn"] }],
    ],
  },
});
const resource = (parent: unknown, part: string) => ({
  Type: "AWS::ApiGateway::Resource",
  Properties: { RestApiId: api, ParentId: parent, PathPart: part },
});
const method = (
  res: string,
  verb: string,
  target: string,
  extra: Record<string, unknown> = {},
) => ({
  Type: "AWS::ApiGateway::Method",
  Properties: {
    RestApiId: api,
    ResourceId: { Ref: res },
    HttpMethod: verb,
    AuthorizationType: "NONE",
    Integration: fn(target),
    ...extra,
  },
});

const template: CfnTemplate = {
  Resources: {
    Api: { Type: "AWS::ApiGateway::RestApi", Properties: { Name: "t" } },
    Items: resource({ "Fn::GetAtt": ["Api", "RootResourceId"] }, "items"),
    Item: resource({ Ref: "Items" }, "{id}"),
    Special: resource({ Ref: "Items" }, "special"),
    Files: resource({ "Fn::GetAtt": ["Api", "RootResourceId"] }, "files"),
    Proxy: resource({ Ref: "Files" }, "{proxy+}"),
    GetItem: method("Item", "GET", "ItemFn"),
    GetSpecial: method("Special", "GET", "SpecialFn"),
    AnyProxy: method("Proxy", "ANY", "FilesFn", {
      AuthorizationType: "NONE",
      RequestParameters: { "method.request.querystring.version": true },
      RequestValidatorId: { Ref: "Params" },
    }),
    PutItem: method("Item", "PUT", "ItemFn", {
      RequestValidatorId: { Ref: "Body" },
      RequestModels: { "application/json": { Ref: "ItemModel" } },
    }),
    Params: {
      Type: "AWS::ApiGateway::RequestValidator",
      Properties: { RestApiId: api, ValidateRequestParameters: true },
    },
    Body: {
      Type: "AWS::ApiGateway::RequestValidator",
      Properties: { RestApiId: api, ValidateRequestBody: true },
    },
    ItemModel: {
      Type: "AWS::ApiGateway::Model",
      Properties: {
        RestApiId: api,
        ContentType: "application/json",
        Schema: {
          $schema: "http://json-schema.org/draft-04/schema#",
          type: "object",
          properties: { n: { type: "integer", minimum: 1 } },
          required: ["n"],
          additionalProperties: false,
        },
      },
    },
    Teapot: {
      Type: "AWS::ApiGateway::GatewayResponse",
      Properties: {
        RestApiId: api,
        ResponseType: "MISSING_AUTHENTICATION_TOKEN",
        StatusCode: "404",
        ResponseParameters: { "gatewayresponse.header.x-why": "'no route'" },
        ResponseTemplates: {
          // The braced form of a variable, ${context...}, too.
          "application/json": `{"error": "$context.error.message", "type": "$\{context.error.responseType}"}`,
        },
      },
    },
  },
};

const restApi = restApiFromTemplate(template);

describe("method selection", () => {
  test.each([
    ["GET", "/items/special", "/items/special", {}],
    ["GET", "/items/42", "/items/{id}", { id: "42" }],
    ["GET", "/items/a%20b", "/items/{id}", { id: "a b" }],
    ["DELETE", "/files/a/b/c.txt", "/files/{proxy+}", { proxy: "a/b/c.txt" }],
  ])("%s %s -> %s", (verb, path, resourcePath, params) => {
    const m = matchMethod(restApi.root, verb, path);
    expect(m?.resource.path).toBe(resourcePath);
    expect(m?.pathParameters).toEqual(params);
  });

  test.each([
    ["GET", "/items"],
    ["POST", "/items/42"],
    ["GET", "/files"],
    ["GET", "/nothing"],
    ["GET", "/items/42/more"],
  ])("%s %s has no method", (verb, path) => {
    expect(matchMethod(restApi.root, verb, path)).toBeUndefined();
  });

  test("each method knows its function, validator and models", () => {
    const put = matchMethod(restApi.root, "PUT", "/items/1")!.method;
    expect(put).toMatchObject({
      functionLogicalId: "ItemFn",
      validateBody: true,
      validateParameters: false,
    });
    expect(put.requestModels["application/json"]).toMatchObject({ required: ["n"] });
  });

  test("an integration other than AWS_PROXY is refused when the API is read", () => {
    const bad = structuredClone(template);
    (bad.Resources.GetItem!.Properties!.Integration as { Type: string }).Type = "HTTP";
    expect(() => restApiFromTemplate(bad)).toThrow(/only AWS_PROXY/);
  });
});

describe("the gateway's answers", () => {
  const seen: ApiEvent[] = [];
  const gateway = createGateway({
    api: restApi,
    integration: () => async (event) => {
      seen.push(event);
      return { statusCode: 200, body: "ok" };
    },
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    region: "us-east-1",
    log: () => undefined,
  });
  const request = (
    method: string,
    path: string,
    body = "",
    headers: Record<string, string> = {},
  ) => {
    const [rawPath, rawQuery = ""] = path.split("?") as [string, string?];
    return gateway({
      method,
      rawPath,
      rawQuery,
      rawHeaders: Object.entries(headers).flat(),
      headers,
      body: Buffer.from(body),
      sourceIp: "127.0.0.1",
      protocol: "HTTP/1.1",
    });
  };

  test("no method: the template's MISSING_AUTHENTICATION_TOKEN response", async () => {
    const r = await request("GET", "/nothing");
    expect(r.statusCode).toBe(404);
    expect(r.headers?.["x-why"]).toBe("no route");
    expect(JSON.parse(r.body)).toEqual({
      error: "Missing Authentication Token",
      type: "MISSING_AUTHENTICATION_TOKEN",
    });
  });

  test("a required query parameter missing: 400 BAD_REQUEST_PARAMETERS", async () => {
    const r = await request("GET", "/files/x");
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      message: "Missing required request parameters: [version]",
    });
    expect((await request("GET", "/files/x?version=2")).statusCode).toBe(200);
  });

  test("a body against the model: the default BAD_REQUEST_BODY response", async () => {
    const json = { "content-type": "application/json" };
    const r = await request("PUT", "/items/1", '{"n": 0, "m": true}', json);
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ message: "Invalid request body" });
    expect((await request("PUT", "/items/1", '{"n": 3}', json)).statusCode).toBe(200);
  });

  test("a body under 10 MB whose proxy event Lambda refuses (over 6 MB): 413, no function", async () => {
    seen.length = 0;
    // 3.5 MiB of JSON made of escaped quotes: the event's body string escapes each byte again.
    const body = JSON.stringify({ m: '"'.repeat(1.75 * 1024 * 1024) });
    const r = await request("PUT", "/items/1", body, { "content-type": "text/plain" });
    expect(r.statusCode).toBe(413);
    expect(JSON.parse(r.body)).toEqual({ message: "Request Too Long" });
    expect(seen).toEqual([]);
    // The same size without escapes reaches the function.
    const plain = JSON.stringify({ m: "m".repeat(3.5 * 1024 * 1024) });
    expect(
      (await request("PUT", "/items/1", plain, { "content-type": "text/plain" })).statusCode,
    ).toBe(200);
  });

  test("a function answering after the integration timeout: 504, the function runs on", async () => {
    let ended = false;
    const slow = createGateway({
      api: restApi,
      integration: () => async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        ended = true;
        return { statusCode: 200, body: "late" };
      },
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
      region: "us-east-1",
      log: () => undefined,
      integrationTimeoutMs: 50,
    });
    const r = await slow({
      method: "GET",
      rawPath: "/files/x",
      rawQuery: "version=2",
      rawHeaders: [],
      headers: {},
      body: Buffer.alloc(0),
      sourceIp: "127.0.0.1",
      protocol: "HTTP/1.1",
    });
    expect(r.statusCode).toBe(504);
    expect(JSON.parse(r.body)).toEqual({ message: "Endpoint request timed out" });
    expect(ended).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ended).toBe(true);
  });

  test("the proxy event carries the resource, the path and the decoded parameters", async () => {
    seen.length = 0;
    await request("GET", "/items/a%20b?x=1&x=2");
    expect(seen[0]).toMatchObject({
      resource: "/items/{id}",
      path: "/items/a b",
      httpMethod: "GET",
      pathParameters: { id: "a b" },
      queryStringParameters: { x: "2" },
      multiValueQueryStringParameters: { x: ["1", "2"] },
      requestContext: { resourcePath: "/items/{id}", identity: { accessKey: null } },
    });
  });
});
