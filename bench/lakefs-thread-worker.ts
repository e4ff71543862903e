// The lakeFS development server in a worker thread of its own (bench/lakefs-thread.ts starts
// it): options and the shared request counts come in workerData; hooksSettled, hookRuns and stop
// are asked by message ({ id, op }) and answered ({ id, value } or { id, error }).
import { parentPort, workerData } from "node:worker_threads";
import { type LakeFsDevServerOptions, startLakeFsDevServer } from "../local/lakefs/server";
import {
  SharedRequestCounts,
  type SharedRequestCountsBuffers,
} from "../local/lakefs/shared-request-counts";

const data = workerData as {
  options: Omit<LakeFsDevServerOptions, "counts">;
  counts: SharedRequestCountsBuffers;
};
const port = parentPort;
if (!port) throw new Error("bench/lakefs-thread-worker.ts runs in a worker thread");

const server = await startLakeFsDevServer({
  ...data.options,
  counts: new SharedRequestCounts(data.counts),
});

port.on("message", async (m: { id: number; op: "hooksSettled" | "hookRuns" | "stop" }) => {
  try {
    const value =
      m.op === "hookRuns"
        ? server.hookRuns()
        : m.op === "hooksSettled"
          ? await server.hooksSettled()
          : await server.stop();
    port.postMessage({ id: m.id, value });
  } catch (error) {
    port.postMessage({ id: m.id, error: String((error as Error)?.stack ?? error) });
  }
});
port.postMessage({ ready: true, endpoint: server.endpoint });
