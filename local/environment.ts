// Starts the whole embedded environment (every registered component, see ./components), writes
// `<dir>/endpoints.json`, and stops it again. `npm run local` (./main) is a thin CLI over this;
// tests and tools can call startEnvironment directly.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  COMPONENT_NAMES,
  COMPONENT_PORTS,
  type Component,
  type ComponentName,
  componentDataDir,
  type RunningComponent,
} from "./component";
import { defaultComponents } from "./components";
import {
  type Endpoints,
  endpointsPath,
  LOCAL_REGION,
  removeEndpoints,
  writeEndpoints,
} from "./endpoints";

export type { ComponentName } from "./component";

export interface EnvironmentOptions {
  /** Data and endpoints.json live here (`npm run local`: `.local/` in the project root). */
  dir: string;
  /** Per-component port overrides. */
  ports?: Partial<Record<ComponentName, number>>;
  /** Ports become portBase + the component's offset (s3 +0, dynamodb +1, lakefs +2, ...). */
  portBase?: number;
  /** Wipe every component's data before starting. */
  fresh?: boolean;
  /** Components to run; default: all registered. */
  components?: readonly Component[];
  log?: (message: string) => void;
}

export interface RunningComponentInfo {
  name: ComponentName;
  port: number;
  dataDir: string;
}

export interface RunningEnvironment {
  dir: string;
  endpoints: Endpoints;
  endpointsFile: string;
  components: RunningComponentInfo[];
  /** Stops every component (children included), removes endpoints.json and the lock. */
  stop(): Promise<void>;
}

export class EnvironmentAlreadyRunningError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`a local environment is already running on ${dir} (pid ${pid}); stop it first`);
    this.name = "EnvironmentAlreadyRunningError";
  }
}

export class InvalidPortError extends Error {
  constructor(field: string, value: unknown) {
    super(`${field} must be a port number between 1 and 65535, got ${JSON.stringify(value)}`);
    this.name = "InvalidPortError";
  }
}

function checkPort(field: string, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidPortError(field, port);
  return port;
}

/** The port of every component: explicit override, else portBase + offset, else the default. */
export function resolvePorts(
  opts: Pick<EnvironmentOptions, "ports" | "portBase">,
): Record<ComponentName, number> {
  const result = {} as Record<ComponentName, number>;
  COMPONENT_NAMES.forEach((name, offset) => {
    const override = opts.ports?.[name];
    if (override !== undefined) result[name] = checkPort(`${name} port`, override);
    else if (opts.portBase !== undefined) {
      result[name] = checkPort("port base", opts.portBase + offset);
    } else result[name] = COMPONENT_PORTS[name];
  });
  return result;
}

const LOCK_FILE = "environment.pid";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function takeLock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, LOCK_FILE);
  const existing = Number((await readFile(file, "utf8").catch(() => "")).trim());
  if (existing && existing !== process.pid && alive(existing)) {
    throw new EnvironmentAlreadyRunningError(dir, existing);
  }
  await writeFile(file, `${process.pid}\n`);
  return () => rm(file, { force: true });
}

export async function startEnvironment(opts: EnvironmentOptions): Promise<RunningEnvironment> {
  const dir = path.resolve(opts.dir);
  const log = opts.log ?? (() => undefined);
  const ports = resolvePorts(opts);
  const components = opts.components ?? defaultComponents();
  await mkdir(dir, { recursive: true });
  const releaseLock = await takeLock(dir);
  await removeEndpoints(dir);
  if (opts.fresh) {
    for (const name of COMPONENT_NAMES) {
      await rm(componentDataDir(dir, name), { recursive: true, force: true });
    }
    log(`wiped data under ${dir}`);
  }

  const endpoints: Partial<Endpoints> = { region: LOCAL_REGION };
  const waves: { component: Component; running: RunningComponent }[][] = [];
  const started = new Set<ComponentName>();
  const stopAll = async () => {
    for (const wave of [...waves].reverse()) {
      await Promise.allSettled(wave.map((w) => w.running.stop()));
    }
    waves.length = 0;
  };

  try {
    let pending = [...components];
    while (pending.length > 0) {
      const ready = pending.filter((c) =>
        (c.after ?? []).every((dep) => started.has(dep) || !components.some((x) => x.name === dep)),
      );
      if (ready.length === 0) {
        throw new Error(`components wait on each other: ${pending.map((c) => c.name).join(", ")}`);
      }
      const snapshot = { ...endpoints };
      const results = await Promise.allSettled(
        ready.map((c) =>
          c.start({
            dataDir: componentDataDir(dir, c.name),
            port: ports[c.name],
            endpoints: snapshot,
            log: (m) => log(`[${c.name}] ${m}`),
          }),
        ),
      );
      const wave: { component: Component; running: RunningComponent }[] = [];
      results.forEach((r, i) => {
        if (r.status === "fulfilled") wave.push({ component: ready[i]!, running: r.value });
      });
      waves.push(wave);
      const failed = results.findIndex((r) => r.status === "rejected");
      if (failed !== -1) {
        const reason = (results[failed] as PromiseRejectedResult).reason as Error;
        throw Object.assign(new Error(`${ready[failed]!.name} did not start: ${reason.message}`), {
          cause: reason,
        });
      }
      for (const w of wave) {
        Object.assign(endpoints, w.running.endpoints);
        started.add(w.component.name);
      }
      pending = pending.filter((c) => !ready.includes(c));
    }
  } catch (err) {
    await stopAll();
    await releaseLock();
    throw err;
  }

  const complete = endpoints as Endpoints;
  const endpointsFile = await writeEndpoints(dir, complete);
  let stopping: Promise<void> | undefined;
  return {
    dir,
    endpoints: complete,
    endpointsFile,
    components: waves.flat().map((w) => ({
      name: w.component.name,
      port: ports[w.component.name],
      dataDir: w.running.dataDir ?? componentDataDir(dir, w.component.name),
    })),
    stop: () => {
      stopping ??= (async () => {
        await removeEndpoints(dir);
        await stopAll();
        await releaseLock();
      })();
      return stopping;
    },
  };
}

export { endpointsPath };
