// Every Lakeport Lambda entry point is built here, the same way: middy with Powertools'
// Lambda context on the logger (function, request id, cold start; appended keys reset after
// each invocation), the keys of the export or GC run the event belongs to, a start line and an
// end line with what the invocation did at INFO, and a thrown error at ERROR (with those keys)
// before Lambda reports it. The event itself is never logged. With tracing on, the invocation is an X-Ray subsegment.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj, type MiddyfiedHandler } from "@middy/core";
import type { Context } from "aws-lambda";
import { appendLogKeys, dropSignatureFields, type LogKeys, logger } from "./logger";
import { loadTracer, tracingEnabled } from "./tracing";

export interface LambdaHandlerSpec<E, R> {
  /** What the function does, as its lines say it: "export plan step", "GC sweep step". */
  name: string;
  run: (event: E, context: Context) => Promise<R>;
  /** The export or GC run the event belongs to. */
  keys?: (event: E) => LogKeys;
  /** What the end line reports; by default the result when it is a small object. */
  summary?: (result: R) => Record<string, unknown>;
  /** middy's abort this long before Lambda's timeout; 0 (the default): none. */
  timeoutEarlyInMillis?: number;
}

/** Results up to this size (as JSON) are the end line's summary. */
const SUMMARY_MAX_CHARS = 2000;

function defaultSummary(result: unknown): Record<string, unknown> {
  if (result === null || typeof result !== "object" || Array.isArray(result)) return {};
  const json = JSON.stringify(result);
  return json.length <= SUMMARY_MAX_CHARS ? { result } : {};
}

export function lambdaHandler<E, R>(
  spec: LambdaHandlerSpec<E, R>,
): MiddyfiedHandler<E, R, Error, Context> {
  const base = async (event: E, context: Context): Promise<R> => {
    if (spec.keys) appendLogKeys(spec.keys(event));
    logger.info(`${spec.name} started`);
    const result = await spec.run(event, context);
    logger.info(`${spec.name} ended`, (spec.summary ?? defaultSummary)(result));
    return result;
  };
  const handler = middy<E, R, Error, Context>(base, {
    timeoutEarlyInMillis: spec.timeoutEarlyInMillis ?? 0,
  });
  if (tracingEnabled()) handler.use(invocationSubsegment());
  // Events are never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says: API Gateway's carry
  // the X-Lakeport-Token and Authorization headers.
  const context = injectLambdaContext(logger, { resetKeys: true, logEvent: false });
  return handler.use(context).use({
    // Runs before the context middleware resets the keys (middy runs onError last-in first).
    // A handler that answers errors itself (the API) sets a response first: not a failure.
    onError: (request) => {
      dropSignatureFields(request.error);
      if (request.response === undefined) {
        logger.error(`${spec.name} failed`, request.error as Error);
      }
    },
  });
}

/**
 * A subsegment per invocation (Powertools' captureLambdaHandler, loaded on the first one); used
 * only where tracing is on. Results can be large: not captured.
 */
function invocationSubsegment(): MiddlewareObj {
  let capture: Promise<MiddlewareObj> | undefined;
  const inner = () => {
    capture ??= Promise.all([
      loadTracer(),
      import("@aws-lambda-powertools/tracer/middleware"),
    ]).then(([tracer, { captureLambdaHandler }]) =>
      tracer ? (captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj) : {},
    );
    return capture;
  };
  return {
    before: async (request) => (await inner()).before?.(request),
    after: async (request) => (await inner()).after?.(request),
    onError: async (request) => (await inner()).onError?.(request),
  };
}
