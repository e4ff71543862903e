// The bench runs the lakeFS development server in a thread of its own. In a deployment lakeFS
// is a server of its own beside S3; in one process with the embedded S3 it shared S3's thread,
// the thread that bounds both the S3 ceiling and the export's copies, so every lakeFS call of
// an export (the plan's listing pages, commits, webhooks) took time from the S3 server that
// the ceiling loop, which calls no lakeFS, did not pay. Request counts are read from shared
// memory (synchronously, always current); the rest by message.
import { randomUUID } from "node:crypto";
import { rename } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import type { HookRun } from "../local/lakefs/actions";
import type { LakeFsDevServerOptions, LakeFsDevServerStats } from "../local/lakefs/server";
import { SharedRequestCounts } from "../local/lakefs/shared-request-counts";

export interface ThreadedLakeFsServer {
  endpoint: string;
  stats(): LakeFsDevServerStats;
  resetStats(): void;
  hookRuns(): Promise<HookRun[]>;
  /** Resolves when every webhook started so far has finished. */
  hooksSettled(): Promise<void>;
  stop(): Promise<void>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The worker's entry bundled (worker threads do not inherit tsx's loader); its packages are
 * loaded from node_modules. Written beside and renamed into place: another process starting a
 * lakeFS thread at the same moment (parallel test files) never loads a half-written file. */
async function workerBundle(): Promise<string> {
  const outfile = path.join(root, "node_modules", ".cache", "lakeport-bench", "lakefs-thread.mjs");
  const written = `${outfile}.${process.pid}-${randomUUID()}.tmp`;
  await build({
    entryPoints: [path.join(root, "bench", "lakefs-thread-worker.ts")],
    outfile: written,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
  await rename(written, outfile);
  return outfile;
}

export async function startLakeFsDevServerInThread(
  options: Omit<LakeFsDevServerOptions, "counts">,
): Promise<ThreadedLakeFsServer> {
  const counts = new SharedRequestCounts();
  const worker = new Worker(await workerBundle(), {
    workerData: { options, counts: counts.buffers },
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failed: Error | undefined;
  // Only the listeners added here are removed: a Worker keeps internal ones of its own.
  let onError: (e: Error) => void = () => undefined;
  let onExit: (code: number) => void = () => undefined;
  let onReady: (m: { ready?: true; endpoint?: string }) => void = () => undefined;
  const endpoint = await new Promise<string>((resolve, reject) => {
    onError = reject;
    onExit = (code) => reject(new Error(`lakeFS thread exited (${code}) at start`));
    onReady = (m) => {
      if (m.ready) resolve(m.endpoint as string);
    };
    worker.on("error", onError).on("exit", onExit).on("message", onReady);
  });
  worker.off("error", onError).off("exit", onExit).off("message", onReady);
  const failAll = (error: Error) => {
    failed = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`lakeFS thread exited (${code})`)));
  worker.on("message", (m: { id: number; value?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(`lakeFS thread: ${m.error}`));
    else p.resolve(m.value);
  });
  const ask = <T>(op: "hooksSettled" | "hookRuns" | "stop") =>
    new Promise<T>((resolve, reject) => {
      if (failed) return reject(failed);
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, op });
    });
  return {
    endpoint,
    stats: () => counts.snapshot(),
    resetStats: () => counts.reset(),
    hookRuns: () => ask<HookRun[]>("hookRuns"),
    hooksSettled: () => ask<void>("hooksSettled"),
    stop: async () => {
      await ask<void>("stop").catch(() => undefined);
      await worker.terminate();
    },
  };
}
