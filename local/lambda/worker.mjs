// One Lambda execution environment: loads a function's bundled handler once and runs one
// invocation at a time for the runtime in runtime.ts. Plain JavaScript so it runs as is
// in a worker thread, whatever loader the parent uses.
import { readFileSync, readlinkSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { GCProfiler, getHeapStatistics } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";

// This thread's heap in use, as process.memoryUsage().heapUsed, without the resident-set read
// (a /proc read) that memoryUsage() also does.
const heapUsed = () => getHeapStatistics().used_heap_size;

// The heap's peak during an invocation: the heap in use is highest right before a collection,
// which V8 reports to a GC profiler; so the peak is exact and costs nothing between collections
// (a timer sampling every 5 ms cost the copy function some 3 % of its CPU, and missed peaks).
// The profiler keeps a record per collection until stopped, so a long invocation folds them
// into the peak every second.
class HeapPeak {
  #profiler = new GCProfiler();
  #peak;
  #timer;
  constructor(start) {
    this.#peak = start;
    this.#profiler.start();
    this.#timer = setInterval(() => {
      // Restarted before folding: folding allocates, and a collection it caused while no
      // profiler ran would go unseen.
      const folded = this.#profiler.stop();
      this.#profiler.start();
      this.#fold(folded);
    }, 1000);
  }
  #fold(profile) {
    for (const gc of profile?.statistics ?? []) {
      this.#peak = Math.max(this.#peak, gc.beforeGC.heapStatistics.usedHeapSize);
    }
  }
  /** Stops measuring; the peak including the heap in use now. */
  end(now) {
    clearInterval(this.#timer);
    this.#fold(this.#profiler.stop());
    return Math.max(this.#peak, now);
  }
}

const { file, exportName, extraNodePaths } = workerData;

// This thread's Linux thread id (where /proc exists): the bench tells the Lambdas' CPU time
// apart from the S3 server's and V8's helper threads by it.
const linuxThreadId = (() => {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return undefined;
  }
})();

// CPU time this thread has run, in ns (Linux's schedstat; undefined elsewhere): the bench
// reports each function's CPU beside its wall time. One small read per invocation.
const threadCpuNanos = () => {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  } catch {
    return undefined;
  }
};

async function loadHandler() {
  let mod;
  if (file.endsWith(".mjs")) {
    mod = await import(pathToFileURL(file).href);
  } else {
    // Bundles are CommonJS; compile them as such even under a "type": "module" package.json.
    const m = new Module(file);
    m.filename = file;
    m.paths = [...Module._nodeModulePaths(path.dirname(file)), ...extraNodePaths];
    m._compile(readFileSync(file, "utf8"), file);
    mod = m.exports;
  }
  const fn = mod?.[exportName] ?? mod?.default?.[exportName];
  if (typeof fn !== "function") {
    const err = new Error(`${path.basename(file)}.${exportName} is undefined or not exported`);
    err.name = "Runtime.HandlerNotFound";
    throw err;
  }
  return fn;
}

let handlerPromise;

function errorDoc(e) {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    errorType: err.name || "Error",
    errorMessage: err.message,
    trace: String(err.stack ?? "").split("\n"),
  };
}

/** The thread's CPU time since `before`, when it can be read. */
function cpuOf(before) {
  const now = threadCpuNanos();
  return before !== undefined && now !== undefined ? { cpuNanos: now - before } : {};
}

parentPort.on("message", async (msg) => {
  const { id, event, context, fault } = msg;
  const heapBefore = heapUsed();
  const heapPeak = new HeapPeak(heapBefore);
  const cpuBefore = threadCpuNanos();
  const ctx = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadlineMs - Date.now()),
    done: () => {},
    succeed: () => {},
    fail: () => {},
  };
  try {
    if (fault?.kind === "crash") process.exit(1);
    if (fault?.kind === "timeout") await new Promise(() => {});
    if (fault?.kind === "oom") {
      // Keeps allocating until the heap limit (the function's memory size) ends the worker.
      const hold = [];
      for (;;) hold.push(new Array(1_000_000).fill(hold.length));
    }
    if (fault?.kind === "error") {
      const err = new Error(fault.errorMessage ?? "Injected fault");
      err.name = fault.errorType ?? "InjectedFault";
      throw err;
    }
    handlerPromise ??= loadHandler();
    const handler = await handlerPromise;
    const result =
      handler.length >= 3
        ? await new Promise((resolve, reject) => {
            const r = handler(event, ctx, (err, value) => (err ? reject(err) : resolve(value)));
            if (r && typeof r.then === "function") r.then(resolve, reject);
          })
        : await handler(event, ctx);
    const heapAfter = heapUsed();
    const peak = heapPeak.end(heapAfter);
    parentPort.postMessage({
      id,
      ok: true,
      payload: result === undefined ? "null" : JSON.stringify(result),
      memory: {
        heapUsedBefore: heapBefore,
        heapUsedAfter: heapAfter,
        peakHeapUsed: peak,
        ...(linuxThreadId ? { linuxThreadId } : {}),
        ...cpuOf(cpuBefore),
      },
    });
  } catch (e) {
    const heapAfter = heapUsed();
    const peak = heapPeak.end(heapAfter);
    parentPort.postMessage({
      id,
      ok: false,
      payload: JSON.stringify(errorDoc(e)),
      memory: {
        heapUsedBefore: heapBefore,
        heapUsedAfter: heapAfter,
        peakHeapUsed: peak,
        ...(linuxThreadId ? { linuxThreadId } : {}),
        ...cpuOf(cpuBefore),
      },
    });
  }
});
