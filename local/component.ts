// What a component of the local environment is: a name with a stable default port, the
// components it starts after, and a start() returning the endpoints.json keys it provides and
// a stop(). The list of components is in ./components.
import path from "node:path";
import type { Endpoints } from "./endpoints";

/** Stable default ports; `--port-base N` moves them all to N + offset, in this order. */
export const COMPONENT_PORTS = {
  s3: 7070,
  dynamodb: 7071,
  lakefs: 7072,
  api: 7073,
  stepfunctions: 7074,
  eventbridge: 7075,
  sqs: 7076,
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

export const componentDataDir = (dir: string, name: ComponentName) => path.join(dir, name);
