// The answers API Gateway gives itself (gateway responses): each type's default status and
// body, replaced by what the API's AWS::ApiGateway::GatewayResponse of that type (or of
// DEFAULT_4XX / DEFAULT_5XX) declares: status, headers and the application/json mapping
// template, in which the $context variables are substituted.
import type { ApiResult } from "../../lambdas/api/http";
import type { GatewayResponseDefinition } from "./rest-api";

export type GatewayResponseType =
  | "MISSING_AUTHENTICATION_TOKEN"
  | "INVALID_SIGNATURE"
  | "ACCESS_DENIED"
  | "BAD_REQUEST_PARAMETERS"
  | "BAD_REQUEST_BODY"
  | "REQUEST_TOO_LARGE"
  | "API_CONFIGURATION_ERROR"
  | "INTEGRATION_FAILURE"
  | "INTEGRATION_TIMEOUT";

const DEFAULT_STATUS: Record<GatewayResponseType, number> = {
  MISSING_AUTHENTICATION_TOKEN: 403,
  INVALID_SIGNATURE: 403,
  ACCESS_DENIED: 403,
  BAD_REQUEST_PARAMETERS: 400,
  BAD_REQUEST_BODY: 400,
  REQUEST_TOO_LARGE: 413,
  API_CONFIGURATION_ERROR: 500,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
};

/** The x-amzn-ErrorType API Gateway sets on its own error answers. */
const ERROR_TYPE: Partial<Record<GatewayResponseType, string>> = {
  MISSING_AUTHENTICATION_TOKEN: "MissingAuthenticationTokenException",
  INVALID_SIGNATURE: "InvalidSignatureException",
  ACCESS_DENIED: "AccessDeniedException",
  BAD_REQUEST_PARAMETERS: "BadRequestException",
  BAD_REQUEST_BODY: "BadRequestException",
  REQUEST_TOO_LARGE: "RequestTooLargeException",
};

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

export interface GatewayError {
  type: GatewayResponseType;
  /** $context.error.message */
  message: string;
  /** $context.error.validationErrorString */
  validationErrorString?: string;
}

/** A string's JSON escaping without the quotes, as mapping templates insert variables. */
const escaped = (s: string) => JSON.stringify(s).slice(1, -1);

function render(template: string, error: GatewayError, requestId: string): string {
  const vars: Record<string, string> = {
    "context.error.messageString": JSON.stringify(error.message),
    "context.error.message": escaped(error.message),
    "context.error.validationErrorString": escaped(error.validationErrorString ?? ""),
    "context.error.responseType": error.type,
    "context.requestId": requestId,
  };
  return template.replace(
    /\$\{(context(?:\.[A-Za-z]+)+)\}|\$(context(?:\.[A-Za-z]+)+)/g,
    (m, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      return name in vars ? vars[name]! : m;
    },
  );
}

/** The gateway response of `error`, as the API's gateway responses shape it. */
export function gatewayResponse(
  responses: ReadonlyMap<string, GatewayResponseDefinition>,
  error: GatewayError,
  requestId: string,
): ApiResult {
  const status = DEFAULT_STATUS[error.type];
  const custom =
    responses.get(error.type) ?? responses.get(status >= 500 ? "DEFAULT_5XX" : "DEFAULT_4XX");
  const template = custom?.templates["application/json"] ?? DEFAULT_TEMPLATE;
  const errorType = ERROR_TYPE[error.type];
  return {
    statusCode: custom?.statusCode ?? status,
    headers: {
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      ...(errorType ? { "x-amzn-errortype": errorType } : {}),
      ...(custom?.headers ?? {}),
    },
    body: render(template, error, requestId),
  };
}
