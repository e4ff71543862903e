// Traces of every Lakeport Lambda: Powertools for AWS Lambda's Tracer (X-Ray), a subsegment
// per invocation (lambda-handler.ts), per AWS SDK call (aws/clients.ts) and per lakeFS call
// (lakefs/factory.ts). Tracing is on only where an X-Ray daemon listens (Lambda sets
// AWS_XRAY_DAEMON_ADDRESS when the function's tracing is active) and POWERTOOLS_TRACE_ENABLED
// is not "false"; otherwise the tracer does nothing (tests, tools, the embedded environment).
import { Tracer } from "@aws-lambda-powertools/tracer";

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.POWERTOOLS_TRACE_ENABLED !== "false" && Boolean(env.AWS_XRAY_DAEMON_ADDRESS);
}

export const tracer = new Tracer({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || "lakeport",
  enabled: tracingEnabled(),
});

/** Runs `work` in a subsegment of the current segment named `name` (just runs it when off). */
export async function traced<T>(name: string, work: () => Promise<T>): Promise<T> {
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return work();
  // Not made the current segment: calls run concurrently, each closes its own subsegment.
  const sub = parent.addNewSubsegment(name);
  try {
    return await work();
  } catch (err) {
    sub.addError(err as Error);
    throw err;
  } finally {
    sub.close();
  }
}

/** An AWS SDK v3 client whose calls are traced (the client itself when tracing is off). */
export function tracedClient<C>(client: C): C {
  return tracer.isTracingEnabled() ? tracer.captureAWSv3Client(client) : client;
}
