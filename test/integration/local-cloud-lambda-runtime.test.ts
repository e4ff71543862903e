// The local Lambda runtime: worker threads, per-function environment, warm reuse, Lambda's
// error shapes, timeouts, payload limits, fault injection and memory statistics.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LambdaFunctionError, LambdaRuntime } from "../../local/lambda/runtime";
import { StepFunctionsRunner } from "../../local/stepfunctions";

const codeDir = path.join(__dirname, "../fixtures/asl/lambda-handler");
const runtime = new LambdaRuntime({
  concurrencyPerFunction: 2,
  baseEnvironment: {
    AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1",
    LAKEPORT_S3_FORCE_PATH_STYLE: "true",
  },
});
runtime.register({
  name: "fixture",
  logicalId: "FixtureFnAB12CD34",
  codeDir,
  handler: "index.handler",
  environment: { TABLE_NAME: "tbl" },
  timeoutSeconds: 1,
});
runtime.register({ name: "other", codeDir, handler: "index.handler", timeoutSeconds: 5 });
runtime.register({
  name: "esm",
  codeDir: path.join(__dirname, "../fixtures/asl/lambda-esm"),
  handler: "index.handler",
});
runtime.register({ name: "missing-export", codeDir, handler: "index.nothere" });
runtime.register({ name: "small", codeDir, handler: "index.handler", memorySizeMb: 128 });
for (const [name, nodeOptions] of [
  ["default-young", "--enable-source-maps"],
  ["large-young", "--enable-source-maps --max-semi-space-size=128"],
]) {
  runtime.register({
    name: name as string,
    codeDir,
    handler: "index.handler",
    memorySizeMb: 512,
    environment: { NODE_OPTIONS: nodeOptions as string },
  });
}

afterAll(() => runtime.close());

const payloadOf = async (p: Promise<{ payload: string; functionError?: string }>) => {
  const r = await p;
  return { ...r, doc: JSON.parse(r.payload) };
};

describe("LambdaRuntime", () => {
  it("runs the handler with its own environment and a Lambda context, reusing warm workers", async () => {
    const a = await runtime.invokeJson<Record<string, unknown>>("fixture", { action: "env" });
    expect(a).toMatchObject({
      table: "tbl",
      fn: "fixture",
      s3: "http://127.0.0.1:1",
      pathStyle: "true",
      arn: "arn:aws:lambda:us-east-1:000000000000:function:fixture",
    });
    expect(a.remaining as number).toBeGreaterThan(0);
    expect(a.remaining as number).toBeLessThanOrEqual(1000);
    const b = await runtime.invokeJson<Record<string, unknown>>("FixtureFn", { action: "env" });
    expect(b.warmInvocations).toBe(2);
    expect(b.requestId).not.toBe(a.requestId);
    const other = await runtime.invokeJson<Record<string, unknown>>(
      "arn:aws:lambda:us-east-1:000000000000:function:other",
      { action: "env" },
    );
    expect(other.table).toBeUndefined();
    expect(await runtime.invokeJson("other:live", { a: 1 })).toEqual({ echo: { a: 1 } });
    expect(await runtime.invokeJson("000000000000:function:other", { a: 2 })).toEqual({
      echo: { a: 2 },
    });
  });

  it("keeps each function's output lines (stdout and stderr), as its log stream", async () => {
    await runtime.invokeJson("other", { action: "log", text: "hello-1" });
    const lines = () => runtime.logs("other").filter((l) => l.includes("hello-1"));
    for (let i = 0; i < 50 && lines().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines().sort()).toEqual(["console hello-1", "error hello-1", "stdout hello-1"]);
    expect(runtime.logs("esm").some((l) => l.includes("hello-1"))).toBe(false);
  });

  it("loads ESM bundles, and reports a missing export as Runtime.HandlerNotFound", async () => {
    expect(await runtime.invokeJson("esm", { a: 1 })).toEqual({ esm: true, event: { a: 1 } });
    const r = await payloadOf(runtime.invoke("missing-export", "{}"));
    expect(r.doc.errorType).toBe("Runtime.HandlerNotFound");
  });

  it("reports handler errors the way Lambda does", async () => {
    const r = await payloadOf(runtime.invoke("fixture", JSON.stringify({ action: "throw" })));
    expect(r.functionError).toBe("Unhandled");
    expect(r.doc.errorType).toBe("CustomError");
    expect(r.doc.errorMessage).toBe("custom failure");
    expect(r.doc.trace[0]).toContain("CustomError: custom failure");
    await expect(runtime.invokeJson("fixture", { action: "throw" })).rejects.toBeInstanceOf(
      LambdaFunctionError,
    );
  });

  it("terminates a function that runs past its Timeout with Sandbox.Timedout, then starts a fresh worker", async () => {
    const r = await payloadOf(
      runtime.invoke("fixture", JSON.stringify({ action: "sleep", ms: 3000 })),
    );
    expect(r.doc.errorType).toBe("Sandbox.Timedout");
    expect(r.doc.errorMessage).toMatch(/Task timed out after 1.00 seconds/);
    expect(await runtime.invokeJson("fixture", { action: "sleep", ms: 1 })).toEqual({ slept: 1 });
    expect(runtime.stats("fixture").timeouts).toBe(1);
  });

  it("fails an invocation that allocates past the memory size with Runtime.OutOfMemory, then replaces the worker", async () => {
    // Under the limit: fine, on the same worker.
    expect(await runtime.invokeJson("small", { action: "hold", mb: 32 })).toEqual({ held: 32 });
    const before = runtime.stats("small");
    const r = await payloadOf(runtime.invoke("small", JSON.stringify({ action: "hold", mb: 400 })));
    expect(r.functionError).toBe("Unhandled");
    expect(r.doc.errorType).toBe("Runtime.OutOfMemory");
    expect(r.doc.errorMessage).toMatch(/Runtime exited with error: signal: killed/);
    const after = runtime.stats("small");
    expect(after.crashes).toBe(before.crashes + 1);
    expect(after.records.at(-1)).toMatchObject({
      outcome: "crash",
      errorType: "Runtime.OutOfMemory",
    });
    // A fresh worker takes the next invocation; a larger memory size lets the same work run.
    expect(await runtime.invokeJson("small", { action: "hold", mb: 32 })).toEqual({ held: 32 });
    runtime.updateFunctionLimits("small", { memorySizeMb: 1024 });
    expect(await runtime.invokeJson("small", { action: "hold", mb: 400 })).toEqual({ held: 400 });
    runtime.updateFunctionLimits("small", { memorySizeMb: 128 });
  }, 60_000);

  it("sizes the heap as Lambda's bootstrap does for the memory size, the young generation from --max-semi-space-size in NODE_OPTIONS", async () => {
    const limit = async (name: string) =>
      (await runtime.invokeJson<{ heapSizeLimit: number }>(name, { action: "heapLimit" }))
        .heapSizeLimit;
    const MiB = 1024 ** 2;
    // 512 MB: old space 461 MiB, semi-spaces of 25 MiB (V8 rounds them up to 32), three of them.
    const base = await limit("default-young");
    expect(base).toBeGreaterThan((461 + 96 - 8) * MiB);
    expect(base).toBeLessThan((461 + 96 + 8) * MiB);
    // Three semi-spaces of 128 MiB instead: 288 MiB more.
    const grown = (await limit("large-young")) - base;
    expect(grown).toBeGreaterThan(280 * MiB);
    expect(grown).toBeLessThan(296 * MiB);
  });

  it("an injected oom fault runs out of the function's memory for real", async () => {
    runtime.injectFault({ function: "small", invocation: "next", kind: "oom" });
    const r = await payloadOf(runtime.invoke("small", "{}"));
    expect(r.doc.errorType).toBe("Runtime.OutOfMemory");
    expect(await runtime.invokeJson("small", { a: 2 })).toEqual({ echo: { a: 2 } });
  }, 60_000);

  it("reports a process exit as Runtime.ExitError", async () => {
    const r = await payloadOf(runtime.invoke("other", JSON.stringify({ action: "exit" })));
    expect(r.doc.errorType).toBe("Runtime.ExitError");
    expect(r.doc.errorMessage).toMatch(/exit status 3/);
  });

  it("enforces the 6 MB request and response limits", async () => {
    await expect(
      runtime.invoke("other", JSON.stringify({ pad: "x".repeat(6 * 1024 * 1024) })),
    ).rejects.toMatchObject({ name: "Lambda.RequestTooLargeException" });
    const r = await payloadOf(runtime.invoke("other", JSON.stringify({ action: "big" })));
    expect(r.doc.errorType).toBe("Function.ResponseSizeTooLarge");
  });

  it("injects crash, error and timeout faults by name or logical id and invocation number", async () => {
    runtime.injectFault({
      function: "other",
      invocation: "next",
      kind: "error",
      errorType: "Injected.Boom",
    });
    const e = await payloadOf(runtime.invoke("other", JSON.stringify({})));
    expect(e.doc.errorType).toBe("Injected.Boom");
    const next = runtime.stats("other").invocations + 2;
    runtime.injectFault({ function: /^other$/, invocation: next, kind: "crash" });
    expect((await payloadOf(runtime.invoke("other", "{}"))).functionError).toBeUndefined();
    expect((await payloadOf(runtime.invoke("other", "{}"))).doc.errorType).toBe(
      "Runtime.ExitError",
    );
    runtime.injectFault({ function: "FixtureFn", invocation: "next", kind: "timeout" });
    expect((await payloadOf(runtime.invoke("fixture", "{}"))).doc.errorType).toBe(
      "Sandbox.Timedout",
    );
    expect(await runtime.invokeJson("fixture", { a: 1 })).toEqual({ echo: { a: 1 } });
  });

  it("measures heap per invocation and counts outcomes", async () => {
    await runtime.invokeJson("other", { action: "allocate" });
    const s = runtime.stats("other");
    const last = s.records.at(-1)!;
    expect(last.peakHeapUsedBytes!).toBeGreaterThanOrEqual(last.heapUsedBeforeBytes!);
    expect(last.peakHeapUsedBytes! - last.heapUsedBeforeBytes!).toBeGreaterThan(1_000_000);
    expect(s.crashes).toBeGreaterThanOrEqual(2);
    expect(s.errors).toBeGreaterThanOrEqual(2);
  });

  it("measures a peak that was collected before the invocation ended, also after a second", async () => {
    // Allocated and collected without yielding: a timer sampling the heap would never see it.
    for (const delayMs of [0, 1_300]) {
      await runtime.invokeJson("other", { action: "transient", mb: 48, delayMs });
      const last = runtime.stats("other").records.at(-1)!;
      expect(last.heapUsedAfterBytes! - last.heapUsedBeforeBytes!).toBeLessThan(16 * 2 ** 20);
      // The heap in use before may hold garbage the allocation's collections took back.
      expect(last.peakHeapUsedBytes! - last.heapUsedAfterBytes!).toBeGreaterThan(40 * 2 ** 20);
    }
  });

  it("records the Linux thread id of the worker that ran each invocation", async () => {
    await runtime.invokeJson("other", { action: "env" });
    const tid = runtime.stats("other").records.at(-1)?.linuxThreadId;
    if (process.platform !== "linux") {
      expect(tid).toBeUndefined();
      return;
    }
    expect(tid).toBeGreaterThan(0);
    expect(tid).not.toBe(process.pid);
    expect(readdirSync("/proc/self/task")).toContain(String(tid));
  });

  it("records the CPU time the worker's thread ran for each invocation, not its wall time", async () => {
    const inHandler = await runtime.invokeJson<{ cpuMs: number | null }>("other", {
      action: "spin",
      ms: 150,
    });
    const spun = runtime.stats("other").records.at(-1)!;
    await runtime.invokeJson("other", { action: "sleep", ms: 150 });
    const slept = runtime.stats("other").records.at(-1)!;
    if (process.platform !== "linux") {
      expect(spun.cpuMs).toBeUndefined();
      return;
    }
    // What the handler's own thread measured, and a little for the invocation around it (CPU
    // time, so the same on a loaded machine; the kernel brings a running thread's figure up to
    // date at scheduler ticks, so either reading may lag by a few ms).
    expect(inHandler.cpuMs).toBeGreaterThan(0);
    expect(spun.cpuMs!).toBeGreaterThan(inHandler.cpuMs! - 10);
    expect(spun.cpuMs!).toBeLessThan(inHandler.cpuMs! + 25);
    expect(spun.cpuMs!).toBeLessThanOrEqual(spun.durationMs + 5);
    // Asleep for as long: next to no CPU.
    expect(slept.durationMs).toBeGreaterThanOrEqual(145);
    expect(slept.cpuMs!).toBeGreaterThanOrEqual(0);
    expect(slept.cpuMs!).toBeLessThan(25);
  });

  it("writes a CPU profile per execution environment under LAKEPORT_LAMBDA_CPU_PROFILE_DIR", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-cpu-prof-"));
    const profiled = new LambdaRuntime({ concurrencyPerFunction: 1 });
    profiled.register({ name: "profiled", codeDir, handler: "index.handler" });
    process.env.LAKEPORT_LAMBDA_CPU_PROFILE_DIR = dir;
    try {
      await profiled.invokeJson("profiled", { action: "allocate" });
    } finally {
      delete process.env.LAKEPORT_LAMBDA_CPU_PROFILE_DIR;
      await profiled.close();
    }
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^profiled-0-\d+\.cpuprofile$/);
    expect(
      JSON.parse(readFileSync(path.join(dir, files[0] as string), "utf8")).nodes.length,
    ).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs invocations of one function in parallel up to its concurrency", async () => {
    // Two overlapping invocations need two warm workers; a third would queue (limit 2).
    await Promise.all(
      [1, 2, 3].map(() => runtime.invokeJson("other", { action: "sleep", ms: 300 })),
    );
    expect(runtime.stats("other").warmWorkers).toBe(2);
  });

  it("runs a function on as many workers as set for it, the rest of its invocations waiting for one", async () => {
    runtime.register({ name: "one-worker", codeDir, handler: "index.handler", timeoutSeconds: 5 });
    expect(() => runtime.setFunctionWorkers("one-worker", 0)).toThrow(
      /workers: expected a positive integer/,
    );
    runtime.setFunctionWorkers("one-worker", 1);
    const t0 = Date.now();
    await Promise.all(
      [1, 2, 3].map(() => runtime.invokeJson("one-worker", { action: "sleep", ms: 200 })),
    );
    // One after another: about 600 ms (three at once would take about 200).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(runtime.stats("one-worker").warmWorkers).toBe(1);
    // Back to two: the next overlapping pair runs side by side on two workers.
    runtime.setFunctionWorkers("one-worker", 2);
    await Promise.all(
      [1, 2].map(() => runtime.invokeJson("one-worker", { action: "sleep", ms: 200 })),
    );
    expect(runtime.stats("one-worker").warmWorkers).toBe(2);
  });

  it("refuses a synchronous invocation beyond the reserved concurrency, as Lambda does; an asynchronous one waits", async () => {
    runtime.register({
      name: "reserved",
      codeDir,
      handler: "index.handler",
      reservedConcurrency: 1,
    });
    const first = runtime.invokeJson("reserved", { action: "sleep", ms: 400 });
    await expect(runtime.invoke("reserved", "{}")).rejects.toMatchObject({
      name: "Lambda.TooManyRequestsException",
    });
    await first;
    // Lambda's queue keeps an event invocation until the function has a free slot.
    const failures: string[] = [];
    const second = runtime.invokeJson("reserved", { action: "sleep", ms: 200 });
    runtime.invokeAsync("reserved", { a: 1 }, (err) => failures.push(err));
    await second;
    await expect.poll(() => runtime.stats("reserved").records.length, { timeout: 5000 }).toBe(3);
    expect(failures).toEqual([]);
    expect(runtime.stats("reserved")).toMatchObject({ invocations: 3, throttles: 1 });
    expect(await runtime.invokeJson("reserved", { a: 2 })).toEqual({ echo: { a: 2 } });
  });

  it("lets Step Functions retry a timed-out Lambda on Sandbox.Timedout", async () => {
    const runner = new StepFunctionsRunner({
      lambda: runtime,
      retryDelayScale: 0.001,
      emitStatusEvents: false,
    });
    const sm = runner.createStateMachine({
      name: "timeouts",
      definition: {
        StartAt: "T",
        States: {
          T: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke",
            Parameters: { FunctionName: "fixture", "Payload.$": "$" },
            Retry: [{ ErrorEquals: ["Sandbox.Timedout"], MaxAttempts: 1 }],
            Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }],
            End: true,
          },
          Caught: { Type: "Pass", End: true },
        },
      },
    });
    const { executionArn } = await runner.startExecution({
      stateMachineArn: sm.stateMachineArn,
      input: JSON.stringify({ action: "sleep", ms: 2000 }),
    });
    const before = runtime.stats("fixture").timeouts;
    const exec = await runner.waitForExecution(executionArn);
    expect(exec.status).toBe("SUCCEEDED");
    expect(JSON.parse(exec.output!).Error).toBe("Sandbox.Timedout");
    expect(runtime.stats("fixture").timeouts - before).toBe(2);
  });
});
