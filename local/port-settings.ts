// The ports `npm run local` asks for: a flag (--s3-port, --port-base) wins over its environment
// variable (LAKEPORT_S3_PORT, ..., LAKEPORT_PORT_BASE); resolvePorts fills in the rest.
import { COMPONENT_NAMES, type ComponentName } from "./component";

function envPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${name} must be a port number, got "${raw}"`);
  }
  return n;
}

/** `flags`: commander's parsed options (`s3Port`, ..., `portBase`, already checked). */
export function portSettings(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { ports: Partial<Record<ComponentName, number>>; portBase: number | undefined } {
  const ports: Partial<Record<ComponentName, number>> = {};
  for (const name of COMPONENT_NAMES) {
    const port =
      (flags[`${name}Port`] as number | undefined) ??
      envPort(env, `LAKEPORT_${name.toUpperCase()}_PORT`);
    if (port !== undefined) ports[name] = port;
  }
  const portBase = (flags.portBase as number | undefined) ?? envPort(env, "LAKEPORT_PORT_BASE");
  return { ports, portBase };
}
