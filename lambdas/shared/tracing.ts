// Traces of every Lakeport Lambda: Powertools for AWS Lambda's Tracer (X-Ray), a subsegment
// per invocation (lambda-handler.ts), per AWS SDK call (aws/clients.ts) and per lakeFS call
// (lakefs/factory.ts). Tracing is on only where an X-Ray daemon listens (Lambda sets
// AWS_XRAY_DAEMON_ADDRESS when the function's tracing is active) and POWERTOOLS_TRACE_ENABLED
// is not "false"; otherwise nothing is traced (tests, tools, the embedded environment).
// The tracer is loaded only where tracing is on: loading it loads the X-Ray SDK, whose context
// propagation (cls-hooked) installs async hooks that run on every promise of the process, some
// 15% of a copy Lambda's CPU when measured. A client created before the tracer is loaded is
// captured when it is (captureAWSv3Client adds its middleware to the client in place).
import type { Tracer } from "@aws-lambda-powertools/tracer";

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.POWERTOOLS_TRACE_ENABLED !== "false" && Boolean(env.AWS_XRAY_DAEMON_ADDRESS);
}

const enabled = tracingEnabled();
let tracer: Tracer | undefined;
let loading: Promise<Tracer> | undefined;
const uncaptured: unknown[] = [];

/** The tracer, loaded on first use; undefined where tracing is off. */
export function loadTracer(): Promise<Tracer | undefined> {
  if (!enabled) return Promise.resolve(undefined);
  loading ??= import("@aws-lambda-powertools/tracer").then(({ Tracer }) => {
    const t = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || "lakeport" });
    for (const client of uncaptured.splice(0)) t.captureAWSv3Client(client);
    tracer = t;
    return t;
  });
  return loading;
}

/** Runs `work` in a subsegment of the current segment named `name` (just runs it when off). */
export async function traced<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!enabled) return work();
  const t = await loadTracer();
  const parent = t?.isTracingEnabled() ? t.getSegment() : undefined;
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

/** An AWS SDK v3 client whose calls are traced (the client itself, untouched, when off). */
export function tracedClient<C>(client: C): C {
  if (!enabled) return client;
  if (tracer) return tracer.captureAWSv3Client(client);
  uncaptured.push(client);
  // A failure to load surfaces in the invocation's own subsegment middleware, which awaits it.
  loadTracer().catch(() => undefined);
  return client;
}

/** Whether the X-Ray SDK has been loaded in this process (tests). */
export function tracerLoaded(): boolean {
  return tracer !== undefined;
}
