// `npm run local`: starts the embedded environment on stable ports, writes endpoints.json,
// prints a summary and runs until Ctrl-C / SIGTERM, then stops every child (DynamoDB Local's
// java process included).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { COMPONENT_NAMES } from "./component";
import { defaultComponents } from "./components";
import { endpointsToEnv } from "./endpoints";
import { type RunningEnvironment, startEnvironment } from "./environment";
import { portSettings } from "./port-settings";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function portArg(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      throw new InvalidArgumentError(`${flag} must be a port number, got "${value}"`);
    }
    return n;
  };
}

async function main() {
  const program = new Command("npm run local")
    .description("Run Lakeport's embedded cloud (S3, DynamoDB Local, ...) on loopback")
    .option("--dir <dir>", "data and endpoints.json directory", process.env.LAKEPORT_LOCAL_DIR)
    .option("--fresh", "wipe all data before starting", false)
    .option(
      "--port-base <port>",
      "ports become base+0 (s3), +1 (dynamodb), ...",
      portArg("--port-base"),
    )
    .option("--print-env", "also print the shell exports that point the AWS SDK here", false);
  for (const name of COMPONENT_NAMES) {
    program.option(`--${name}-port <port>`, `port of ${name}`, portArg(`--${name}-port`));
  }
  program.parse();
  const o = program.opts<Record<string, unknown>>();

  const { ports, portBase } = portSettings(o, process.env);
  const dir = path.resolve((o.dir as string | undefined) ?? path.join(PROJECT_ROOT, ".local"));

  const t0 = Date.now();
  let env: RunningEnvironment | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.error(`\n${signal} again: exiting now`);
      process.exit(1); // the exit hooks still kill the java child
    }
    stopping = true;
    console.log(`\n${signal}: stopping the local environment...`);
    try {
      await env?.stop();
      process.exit(0);
    } catch (err) {
      console.error(`stop failed: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => void shutdown(sig));
  }

  env = await startEnvironment({
    dir,
    ports,
    ...(portBase !== undefined ? { portBase } : {}),
    fresh: Boolean(o.fresh),
    // The functions' output lines show here, as `sam local` or a log tail would show them.
    components: defaultComponents({ echoLambdaOutput: true }),
    log: (m) => console.log(m),
  });
  if (stopping) return; // a signal arrived while starting; shutdown() finishes the job

  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const e = env.endpoints;
  const lines = [
    `Lakeport local environment is up (${secs} s)`,
    ...env.components.map((c) => {
      const url = (e as unknown as Record<string, string | undefined>)[c.name] ?? "";
      return `  ${c.name.padEnd(14)}${url.padEnd(26)}data: ${path.relative(process.cwd(), c.dataDir) || "."}`;
    }),
    `  region        ${e.region}`,
    `  credentials   ${e.accessKeyId} / ${e.secretAccessKey}  (S3 path-style)`,
    `Endpoints file: ${env.endpointsFile}`,
    `Data is kept in ${env.dir} across restarts; --fresh wipes it.`,
    `Stop with Ctrl-C (or kill -TERM ${process.pid}).`,
  ];
  if (o.printEnv) {
    lines.push("", ...Object.entries(endpointsToEnv(e)).map(([k, v]) => `export ${k}=${v}`));
  }
  console.log(lines.join("\n"));
}

main().catch((err: unknown) => {
  console.error(`npm run local: ${(err as Error).message}`);
  process.exit(1);
});
