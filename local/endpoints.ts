// The contract between `npm run local` and every client (CLI, demo, tests, other tools):
// `<dir>/endpoints.json`, with every URL, the region and the credentials a client needs.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export const LOCAL_REGION = "us-east-1";
export const ENDPOINTS_FILE = "endpoints.json";

export interface Endpoints {
  region: string;
  /**
   * AWS credentials the embedded services accept: S3 checks the key id, the API's AWS_IAM
   * routes verify SigV4 signatures made with them; the others accept any.
   */
  accessKeyId: string;
  secretAccessKey: string;
  s3: string;
  dynamodb: string;
  // Set by the components that register them in ./components (absent until they exist).
  lakefs?: string;
  lakefsAccessKeyId?: string;
  lakefsSecretAccessKey?: string;
  api?: string;
  webhookToken?: string;
  stepfunctions?: string;
  eventbridge?: string;
  /** SQS (AWS JSON 1.0 protocol): the deployment's queues, e.g. its dead-letter queue. */
  sqs?: string;
}

export function endpointsPath(dir: string): string {
  return path.join(dir, ENDPOINTS_FILE);
}

/**
 * Written atomically (temp file + rename), so a reader never sees half a file; for its owner
 * only, as it holds the webhook token and lakeFS's secret key.
 */
export async function writeEndpoints(dir: string, endpoints: Endpoints): Promise<string> {
  const file = endpointsPath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await writeFile(tmp, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return file;
}

export async function removeEndpoints(dir: string): Promise<void> {
  await rm(endpointsPath(dir), { force: true });
}

export class EndpointsNotFoundError extends Error {
  constructor(readonly file: string) {
    super(`${file} not found: start the local environment with \`npm run local\``);
    this.name = "EndpointsNotFoundError";
  }
}

export async function readEndpoints(dir: string): Promise<Endpoints> {
  const file = endpointsPath(dir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new EndpointsNotFoundError(file);
  }
  return JSON.parse(text) as Endpoints;
}

/**
 * The environment variables that point the AWS SDK (and so product code, through
 * lambdas/shared/aws/clients.ts) at the local endpoints.
 */
export function endpointsToEnv(e: Endpoints): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: e.region,
    AWS_ACCESS_KEY_ID: e.accessKeyId,
    AWS_SECRET_ACCESS_KEY: e.secretAccessKey,
    AWS_ENDPOINT_URL_S3: e.s3,
    AWS_ENDPOINT_URL_DYNAMODB: e.dynamodb,
    LAKEPORT_S3_FORCE_PATH_STYLE: "true",
  };
  if (e.stepfunctions) env.AWS_ENDPOINT_URL_SFN = e.stepfunctions;
  if (e.eventbridge) env.AWS_ENDPOINT_URL_EVENTBRIDGE = e.eventbridge;
  if (e.sqs) env.AWS_ENDPOINT_URL_SQS = e.sqs;
  if (e.lakefs) env.LAKEFS_ENDPOINT = e.lakefs;
  if (e.lakefsAccessKeyId) env.LAKEFS_ACCESS_KEY_ID = e.lakefsAccessKeyId;
  if (e.lakefsSecretAccessKey) env.LAKEFS_SECRET_ACCESS_KEY = e.lakefsSecretAccessKey;
  if (e.webhookToken) env.WEBHOOK_TOKEN = e.webhookToken;
  return env;
}
