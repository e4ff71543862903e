// Every Lakeport Lambda entry point is built here, the same way: middy with Powertools'
// Lambda context on the logger (function, request id, cold start; appended keys reset after
// each invocation), the keys of the export or GC run the event belongs to, a start line and an
// end line with what the invocation did at INFO, and a thrown error at ERROR (with those keys)
// before Lambda reports it. With tracing on, the invocation is an X-Ray subsegment.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy, { type MiddyfiedHandler } from "@middy/core";
import type { Context } from "aws-lambda";
import { appendLogKeys, type LogKeys, logger } from "./logger";
import { tracer } from "./tracing";

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
  return (
    middy<E, R, Error, Context>(base, {
      timeoutEarlyInMillis: spec.timeoutEarlyInMillis ?? 0,
    })
      // A subsegment per invocation (a no-op where tracing is off); results can be large.
      .use(captureLambdaHandler(tracer, { captureResponse: false }))
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use({
        // Runs before the context middleware resets the keys (middy runs onError last-in first).
        // A handler that answers errors itself (the API) sets a response first: not a failure.
        onError: (request) => {
          if (request.response === undefined) {
            logger.error(`${spec.name} failed`, request.error as Error);
          }
        },
      })
  );
}
