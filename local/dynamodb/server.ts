// Embedded DynamoDB: AWS's DynamoDB Local (the jar shipped in amplify-dynamodb-simulator),
// run as a child process owned by this module. It needs Java 11+.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface DynamoDbServerHandle {
  endpoint: string;
  port: number;
  /** The java process. */
  pid: number;
  stop(): Promise<void>;
}

export interface DynamoDbServerOptions {
  port?: number;
  /** On-disk database directory; in memory when absent. */
  directory?: string;
}

export class JavaMissingError extends Error {
  constructor() {
    super(
      "DynamoDB Local needs Java 11 or newer on PATH (install a JDK, e.g. `apt-get install openjdk-17-jre-headless`)",
    );
    this.name = "JavaMissingError";
  }
}

export function javaAvailable(): boolean {
  const r = spawnSync("java", ["-version"], { stdio: "ignore" });
  return r.status === 0;
}

export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve("amplify-dynamodb-simulator/package.json"));
  return {
    jar: path.join(pkg, "emulator", "DynamoDBLocal.jar"),
    libDir: path.join(pkg, "emulator", "DynamoDBLocal_lib"),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: "GET" });
      // DynamoDB Local answers 400 to a bare GET: it is up.
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`DynamoDB Local did not start on port ${port} within ${timeoutMs} ms`);
}

export async function startDynamoDbServer(
  opts: DynamoDbServerOptions = {},
): Promise<DynamoDbServerHandle> {
  if (!javaAvailable()) throw new JavaMissingError();
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const { jar, libDir } = dynamoDbLocalJar();
  const args = [
    `-Djava.library.path=${libDir}`,
    "-Xmx512m",
    // Quick JIT only, serial GC, no perf file: starts in ~3 s instead of ~10 s on 2 busy cores.
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-jar",
    jar,
    "-port",
    String(port),
    // One database for every access key and region, as one AWS account would be.
    "-sharedDb",
    // It would otherwise try to report usage to AWS and keep an installation id.
    "-disableTelemetry",
  ];
  if (opts.directory) {
    await mkdir(opts.directory, { recursive: true });
    args.push("-dbPath", opts.directory);
  } else {
    args.push("-inMemory");
  }
  // Its working directory gets a dynamodb-local-metadata.json: never the caller's (the project).
  const cwd = opts.directory ?? tmpdir();
  const child = spawn("java", args, {
    cwd,
    env: { ...process.env, DDB_LOCAL_TELEMETRY: "0" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const releaseGuards = guardAgainstOrphan(child);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  try {
    await waitForPort(port, child, 30_000);
  } catch (err) {
    releaseGuards();
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          releaseGuards();
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}

/**
 * Makes sure the java process never outlives this Node process: killed on a normal exit
 * (process.on("exit")), and on a crash or SIGKILL by a tiny shell watchdog that blocks reading
 * a pipe from us; when we die the pipe closes, `read` returns and the watchdog kills java.
 * Returns the function that disarms both once java has been stopped normally.
 */
function guardAgainstOrphan(child: ChildProcess): () => void {
  const pid = child.pid;
  if (pid === undefined) return () => undefined;
  const onExit = () => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  };
  process.on("exit", onExit);
  const watchdog = spawn("sh", ["-c", 'read _ignored; kill -KILL "$0" 2>/dev/null', String(pid)], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.once("exit", () => watchdog.kill("SIGTERM"));
  return () => {
    process.off("exit", onExit);
    watchdog.kill("SIGTERM");
  };
}
