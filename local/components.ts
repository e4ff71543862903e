// The components of the local environment, in one list. Adding one (lakeFS dev server, Step
// Functions runner, EventBridge, API server) = one entry in COMPONENTS: a name with a default
// port in COMPONENT_PORTS, and a start() that returns the endpoints.json keys it provides and
// a stop(). Components start in waves: each after the ones named in `after`.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { apiComponent } from "./api/component";
import { startDynamoDbServer } from "./dynamodb/server";
import type { Endpoints } from "./endpoints";
import { LOCAL_S3_CREDENTIALS } from "./s3/credentials";
import { startS3Server } from "./s3/server";

/** Stable default ports; `--port-base N` moves them all to N + offset, in this order. */
export const COMPONENT_PORTS = {
  s3: 7070,
  dynamodb: 7071,
  lakefs: 7072,
  api: 7073,
  stepfunctions: 7074,
  eventbridge: 7075,
} as const;

export type ComponentName = keyof typeof COMPONENT_PORTS;
export const COMPONENT_NAMES = Object.keys(COMPONENT_PORTS) as ComponentName[];

export interface ComponentContext {
  /** This component's own data directory, `<dir>/<name>`, kept across restarts. */
  dataDir: string;
  port: number;
  /** Endpoints of the components started before this one (see `after`). */
  endpoints: Readonly<Partial<Endpoints>>;
  log(message: string): void;
}

export interface RunningComponent {
  /** The endpoints.json keys this component provides. */
  endpoints: Partial<Endpoints>;
  /** Where its data lives, for the summary. */
  dataDir?: string;
  stop(): Promise<void>;
}

export interface Component {
  name: ComponentName;
  /** Components that must be up first (their endpoints are in ctx.endpoints). */
  after?: ComponentName[];
  start(ctx: ComponentContext): Promise<RunningComponent>;
}

const s3: Component = {
  name: "s3",
  async start(ctx) {
    const server = await startS3Server({ port: ctx.port, directory: ctx.dataDir });
    return {
      endpoints: {
        s3: server.endpoint,
        accessKeyId: LOCAL_S3_CREDENTIALS.accessKeyId,
        secretAccessKey: LOCAL_S3_CREDENTIALS.secretAccessKey,
      },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
};

const dynamodb: Component = {
  name: "dynamodb",
  async start(ctx) {
    await mkdir(ctx.dataDir, { recursive: true });
    const server = await startDynamoDbServer({ port: ctx.port, directory: ctx.dataDir });
    return {
      endpoints: { dynamodb: server.endpoint },
      dataDir: ctx.dataDir,
      stop: () => server.stop(),
    };
  },
};

/**
 * Every component `npm run local` starts. Still to come from their owners: lakefs (keys lakefs,
 * lakefsAccessKeyId, lakefsSecretAccessKey; after s3), stepfunctions, eventbridge, api (keys
 * api, apiToken, webhookToken).
 */
export const COMPONENTS: Component[] = [s3, dynamodb, apiComponent];

export const componentDataDir = (dir: string, name: ComponentName) => path.join(dir, name);
