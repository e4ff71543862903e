// API Gateway's basic request validation: required request parameters (query string,
// headers) and the body against the method's Model for the request's content type, a JSON
// Schema draft 4 checked here with Ajv's draft-04 class. A failure carries the text API
// Gateway puts in $context.error.validationErrorString: a bracketed list of the messages of
// its JSON Schema validator, whose wording is reproduced for the keywords models use.
import type { ErrorObject, ValidateFunction } from "ajv-draft-04";
import Ajv from "ajv-draft-04";
import type { RestApiMethod } from "./rest-api";

export type ValidationFailure =
  | { type: "BAD_REQUEST_PARAMETERS"; validationErrorString: string }
  | { type: "BAD_REQUEST_BODY"; validationErrorString: string };

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    // API Gateway ignores $schema/$id/title metadata for validation purposes.
    const { $schema: _s, ...rest } = schema;
    v = ajv.compile(rest);
    compiled.set(schema, v);
  }
  return v;
}

const list = (xs: unknown[]) => `[${xs.map((x) => JSON.stringify(x)).join(",")}]`;

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The message API Gateway's validator gives for one failed keyword. */
function messageOf(e: ErrorObject, data: unknown): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return `object has missing required properties (${list([p.missingProperty])})`;
    case "additionalProperties":
      return `object instance has properties which are not allowed by the schema: ${list([p.additionalProperty])}`;
    case "type": {
      const allowed = String(p.type).split(",");
      return `instance type (${typeOf(data)}) does not match any allowed primitive type (allowed: ${list(allowed)})`;
    }
    case "pattern":
      return `ECMA 262 regex "${p.pattern}" does not match input string ${JSON.stringify(data)}`;
    case "enum":
      return `instance value (${JSON.stringify(data)}) not found in enum (possible values: ${list(p.allowedValues as unknown[])})`;
    case "minimum":
      return `numeric instance is lower than the required minimum (minimum: ${p.limit}, found: ${data})`;
    case "maximum":
      return `numeric instance is greater than the required maximum (maximum: ${p.limit}, found: ${data})`;
    case "minLength":
      return `string ${JSON.stringify(data)} is too short (length: ${String(data).length}, required minimum: ${p.limit})`;
    case "maxLength":
      return `string ${JSON.stringify(data)} is too long (length: ${String(data).length}, maximum allowed: ${p.limit})`;
    case "minItems":
      return `array is too short: must have at least ${p.limit} elements but instance has ${(data as unknown[]).length} elements`;
    case "maxItems":
      return `array is too long: must have at most ${p.limit} elements but instance has ${(data as unknown[]).length} elements`;
  }
  return e.message ?? e.keyword;
}

/** The value at a JSON pointer of the instance (Ajv's instancePath). */
function at(data: unknown, pointer: string): unknown {
  let v = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

/** Body errors of one instance, in API Gateway's validationErrorString format. */
export function bodyValidationErrors(
  schema: Record<string, unknown>,
  body: unknown,
): string | undefined {
  const validate = validatorOf(schema);
  if (validate(body)) return undefined;
  const messages = (validate.errors ?? []).map((e) => messageOf(e, at(body, e.instancePath)));
  return `[${[...new Set(messages)].join(", ")}]`;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? "application/json").split(";")[0]!.trim().toLowerCase();
}

/**
 * Validates a request against its method, as the method's request validator says; undefined
 * when it passes. A body whose content type has no model is not validated (API Gateway passes
 * it to the proxy integration); an empty body is validated as an empty object.
 */
export function validateRequest(
  method: RestApiMethod,
  req: {
    headers: Record<string, string | undefined>;
    query: URLSearchParams;
    contentType: string | undefined;
    body: Buffer;
  },
): ValidationFailure | undefined {
  if (method.validateParameters) {
    const missing = Object.entries(method.requestParameters)
      .filter(([, required]) => required)
      .map(([name]) => /^method\.request\.(querystring|header)\.(.+)$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .filter(([, where, name]) =>
        where === "querystring" ? !req.query.get(name!) : !req.headers[name!.toLowerCase()]?.trim(),
      )
      .map(([, , name]) => name!);
    if (missing.length > 0) {
      return {
        type: "BAD_REQUEST_PARAMETERS",
        validationErrorString: `Missing required request parameters: [${missing.join(", ")}]`,
      };
    }
  }
  if (!method.validateBody) return undefined;
  const schema = method.requestModels[mediaType(req.contentType)];
  if (!schema) return undefined;
  let parsed: unknown = {};
  if (req.body.length > 0) {
    try {
      parsed = JSON.parse(req.body.toString("utf8"));
    } catch {
      return { type: "BAD_REQUEST_BODY", validationErrorString: "Invalid request body" };
    }
  }
  const errors = bodyValidationErrors(schema, parsed);
  return errors ? { type: "BAD_REQUEST_BODY", validationErrorString: errors } : undefined;
}
