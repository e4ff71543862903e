// Composition root of the API handlers: everything they need, built once per container from
// the function's environment (process.env in Lambda, the caller's env in the local server).
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { leaseSecondsFrom } from "../gc/domain/lease";
import { parseMaxMarkAgeHours } from "../gc/domain/mark-lifecycle";
import { SWEEP_FUNCTION_TIMEOUT_SECONDS } from "../gc/domain/restore-after-sweep";
import {
  type ClientOptions,
  createDynamoDbClient,
  createEventBridgeClient,
  createSecretsManagerClient,
  createSfnClient,
} from "../shared/aws/clients";
import { SfnWorkflowStarter } from "../shared/aws/sfn-workflow-starter";
import { type Env, required, secondsOr } from "../shared/env";
import { createLakeFsClientFromEnv } from "../shared/lakefs/factory";
import type { LakeFsApi, ListOptions, Page, Repository } from "../shared/lakefs/types";
import type { WorkflowStarter } from "../shared/workflow-starter";
import { EventBridgePublisher, type EventPublisher } from "./event-publisher";
import { createStateStores, type StateStores } from "./state-stores";
import { type ExportBucketRule, exportBucketRuleOf } from "./validation";

/**
 * What the API reads from lakeFS: existence, storage namespaces (of every repository, to keep
 * export locations out of all of them), branch heads.
 */
export type ApiLakeFs = Pick<LakeFsApi, "getRepository" | "getBranch"> & {
  listRepositories(opts?: ListOptions): AsyncIterable<Page<Repository>>;
};

export interface ApiDeps {
  stores: StateStores;
  lakefs: ApiLakeFs;
  workflows: WorkflowStarter;
  events: EventPublisher;
  exportStateMachineArn: string;
  gcStateMachineArn: string;
  /** GC_LEASE_SECONDS, GC_MAX_MARK_AGE_HOURS and GC_SWEEP_SETTLE_SECONDS; defaults when unset. */
  gcSettings?: { leaseSeconds?: number; maxMarkAgeHours?: number; sweepSettleSeconds?: number };
  /** Buckets export may write to (EXPORT_BUCKETS, the deployment's exportBuckets setting). */
  exportBuckets: ExportBucketRule;
  /** Lakeport's work bucket (WORK_BUCKET), never an export target; unset: not checked. */
  workBucket?: string;
  /**
   * The webhook's shared secret; undefined when none is configured (webhook then refuses).
   * `refresh`: read it again unless it was read less than a minute ago (it may have been
   * rotated since).
   */
  webhookToken: (opts?: { refresh?: boolean }) => Promise<string | undefined>;
  now: () => Date;
}

/** Endpoint/region/credentials taken from `env` so an in-process caller can pass its own. */
function clientOptions(env: Env, endpointVar: string): ClientOptions {
  return {
    ...(env[endpointVar] ? { endpoint: env[endpointVar] } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

/** A rotated webhook secret is read again at most this often per container. */
const WEBHOOK_TOKEN_REFRESH_MS = 60_000;

export async function depsFromEnv(env: Env): Promise<ApiDeps> {
  const ddb = createDynamoDbClient(clientOptions(env, "AWS_ENDPOINT_URL_DYNAMODB"));
  const sfn = createSfnClient(clientOptions(env, "AWS_ENDPOINT_URL_SFN"));
  const events = createEventBridgeClient(clientOptions(env, "AWS_ENDPOINT_URL_EVENTBRIDGE"));
  let secret: Promise<string | undefined> | undefined;
  let secretReadAt = 0;
  return {
    stores: createStateStores(ddb, required("TABLE_NAME", env)),
    lakefs: lazyLakeFs(env),
    workflows: new SfnWorkflowStarter(sfn),
    events: new EventBridgePublisher(events, env.EVENT_BUS_NAME ?? "default"),
    exportStateMachineArn: env.EXPORT_STATE_MACHINE_ARN ?? "",
    gcStateMachineArn: env.GC_STATE_MACHINE_ARN ?? "",
    gcSettings: {
      leaseSeconds: leaseSecondsFrom(env.GC_LEASE_SECONDS),
      maxMarkAgeHours: parseMaxMarkAgeHours(env.GC_MAX_MARK_AGE_HOURS, "GC_MAX_MARK_AGE_HOURS"),
      sweepSettleSeconds: secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS, env),
    },
    exportBuckets: exportBucketRuleOf(env.EXPORT_BUCKETS),
    ...(env.WORK_BUCKET?.trim() ? { workBucket: env.WORK_BUCKET.trim() } : {}),
    webhookToken: (opts) => {
      // Read once per container, again on request at most once a minute; a failed read is not
      // kept (the next delivery reads again).
      if (opts?.refresh && Date.now() - secretReadAt >= WEBHOOK_TOKEN_REFRESH_MS)
        secret = undefined;
      if (!secret) {
        secretReadAt = Date.now();
        secret = webhookSecret(env).catch((err) => {
          secret = undefined;
          throw err;
        });
      }
      return secret;
    },
    now: () => new Date(),
  };
}

/**
 * The lakeFS client, created on first use: the webhook function has no lakeFS settings (it
 * never calls lakeFS) and must still start.
 */
/**
 * An API request has 29 seconds (API Gateway's limit, the functions' timeout): a lakeFS call
 * that hangs must fail as a 502 well before, not run into the timeout (answered 500, the
 * request's work then resuming when the function runs next). Five attempts (as elsewhere) of
 * 3 s, waits of at most a second (Retry-After included): transient 500s and 429s still pass,
 * a hanging lakeFS fails within 19 s.
 */
export const API_LAKEFS_LIMITS = {
  timeoutMs: 3_000,
  retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
};

function lazyLakeFs(env: Env): ApiLakeFs {
  let client: Promise<LakeFsApi & Pick<ApiLakeFs, "listRepositories">> | undefined;
  const get = () => {
    client ??= createLakeFsClientFromEnv(env as NodeJS.ProcessEnv, API_LAKEFS_LIMITS).catch(
      (err) => {
        client = undefined;
        throw err;
      },
    );
    return client;
  };
  return {
    getRepository: async (repository) => (await get()).getRepository(repository),
    getBranch: async (repository, branch) => (await get()).getBranch(repository, branch),
    listRepositories: async function* (opts) {
      yield* (await get()).listRepositories(opts);
    },
  };
}

async function webhookSecret(env: Env): Promise<string | undefined> {
  if (env.WEBHOOK_TOKEN) return env.WEBHOOK_TOKEN;
  if (!env.WEBHOOK_SECRET_ARN) return undefined;
  const sm = createSecretsManagerClient(clientOptions(env, "AWS_ENDPOINT_URL_SECRETS_MANAGER"));
  const out = await sm.send(new GetSecretValueCommand({ SecretId: env.WEBHOOK_SECRET_ARN }));
  return out.SecretString;
}

/** Builds deps lazily once (per Lambda container), retrying after a failed build. */
export function lazyDeps(build: () => Promise<ApiDeps>): () => Promise<ApiDeps> {
  let pending: Promise<ApiDeps> | undefined;
  return () => {
    pending ??= build().catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
