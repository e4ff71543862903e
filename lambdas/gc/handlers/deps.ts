// Composition root of the GC Lambdas: S3, lakeFS, the run records and the repository's lease
// from the function's environment (WORK_BUCKET, TABLE_NAME, GC_LEASE_SECONDS, LAKEFS_ENDPOINT +
// credentials), built once per container.

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoDbClient, createS3Client } from "../../shared/aws/clients";
import { documentClient } from "../../shared/dynamodb/document-client";
import { listAllExportPaths } from "../../shared/dynamodb/export-paths";
import { required, secondsOr } from "../../shared/env";
import { createLakeFsClientFromEnv } from "../../shared/lakefs/factory";
import type { LogKeys } from "../../shared/logger";
import { BackupLocationStore } from "../adapters/backup-location-store";
import { GcStore } from "../adapters/gc-store";
import { S3GcObjectStore } from "../adapters/s3-object-store";
import type { CopyEndDeps } from "../app/copy-end";
import type { CopyPlanDeps } from "../app/copy-mark";
import { leaseSecondsFrom } from "../domain/lease";
import { SWEEP_FUNCTION_TIMEOUT_SECONDS } from "../domain/restore-after-sweep";
import { type GcWorkflowInput, GcWorkflowInputSchema } from "../domain/workflow-input";
import type { GcLakeFs, GcLeaseKeeper, GcRunRecords, GcStepDeps } from "../ports";

/** lakeFS is only contacted by the steps that read it (commits, addresses). */
function lazyLakeFs(): GcLakeFs {
  let client: ReturnType<typeof createLakeFsClientFromEnv> | undefined;
  const get = () => {
    client ??= createLakeFsClientFromEnv().catch((err) => {
      client = undefined;
      throw err;
    });
    return client;
  };
  return {
    listRepositories: (...a) => lazyPages(get, (c) => c.listRepositories(...a)),
    listBranches: (...a) => lazyPages(get, (c) => c.listBranches(...a)),
    listTags: (...a) => lazyPages(get, (c) => c.listTags(...a)),
    logCommits: (...a) => lazyPages(get, (c) => c.logCommits(...a)),
    diffBranch: (...a) => lazyPages(get, (c) => c.diffBranch(...a)),
    getCommit: async (...a) => (await get()).getCommit(...a),
    listObjectsPage: async (...a) => (await get()).listObjectsPage(...a),
    statObject: async (...a) => (await get()).statObject(...a),
    diffRefsPage: async (...a) => (await get()).diffRefsPage(...a),
  };
}

async function* lazyPages<C, T>(
  get: () => Promise<C>,
  pages: (client: C) => AsyncIterable<T>,
): AsyncGenerator<T> {
  yield* pages(await get());
}

/** The table is reached only by the steps that use it (every step renews the lease). */
function lazyTable(): () => { doc: DynamoDBDocumentClient; tableName: string } {
  let table: { doc: DynamoDBDocumentClient; tableName: string } | undefined;
  return () => {
    table ??= { doc: documentClient(createDynamoDbClient()), tableName: required("TABLE_NAME") };
    return table;
  };
}

const table = lazyTable();

function lazyStore(): () => GcStore {
  let store: GcStore | undefined;
  return () => {
    const { doc, tableName } = table();
    store ??= new GcStore(doc, tableName);
    return store;
  };
}

/** The copy plan's: a backup claims its location, away from every export path. */
function backupClaims(): Pick<CopyPlanDeps, "backupLocations" | "exportPaths"> {
  let claims: BackupLocationStore | undefined;
  const get = () => {
    const { doc, tableName } = table();
    claims ??= new BackupLocationStore(doc, tableName);
    return claims;
  };
  return {
    backupLocations: {
      claim: (...a) => get().claim(...a),
      release: (...a) => get().release(...a),
      list: () => get().list(),
    },
    exportPaths: () => listAllExportPaths(table().doc, table().tableName),
  };
}

function runRecords(get: () => GcStore): GcRunRecords {
  return {
    getRun: (...a) => get().getRun(...a),
    completeRun: (...a) => get().completeRun(...a),
    getMark: (...a) => get().getMark(...a),
    endMark: (...a) => get().endMark(...a),
    beginSweep: (...a) => get().beginSweep(...a),
    getRules: (...a) => get().getRules(...a),
  };
}

function leaseKeeper(get: () => GcStore): GcLeaseKeeper {
  const seconds = leaseSecondsFrom(process.env.GC_LEASE_SECONDS);
  return {
    renew: (repository, runId) =>
      get().renewLease(repository, runId, Math.floor(Date.now() / 1000), seconds),
  };
}

/** One table client per container, made on first use. */
const store = lazyStore();

let deps: GcStepDeps | undefined;

export function gcDepsFromEnv(): GcStepDeps {
  if (!deps) {
    deps = {
      s3: new S3GcObjectStore(createS3Client()),
      lakefs: lazyLakeFs(),
      runs: runRecords(store),
      lease: leaseKeeper(store),
      workBucket: required("WORK_BUCKET"),
      now: () => new Date(),
    };
  }
  return deps;
}

/** The copy plan's: a restore retires its mark (only that, of the table). */
export function copyPlanDepsFromEnv(): CopyPlanDeps {
  return {
    ...gcDepsFromEnv(),
    ...backupClaims(),
    marks: {
      retireMark: (repository, markId, reason, now) =>
        store().retireMark(
          repository,
          markId,
          reason,
          now,
          secondsOr("GC_SWEEP_SETTLE_SECONDS", SWEEP_FUNCTION_TIMEOUT_SECONDS),
        ),
      getMark: (...a) => store().getMark(...a),
    },
  };
}

/** The copy end step's: it reads the mark (whether a sweep of it began during a backup). */
export function copyEndDepsFromEnv(): CopyEndDeps {
  return { ...gcDepsFromEnv(), marks: { getMark: (...a) => store().getMark(...a) } };
}

/** Stop starting new lakeFS pages once less than this is left of the Lambda's time. */
export const TIME_MARGIN_MS = 60_000;

const RUN_INPUT_KEYS = Object.keys(GcWorkflowInputSchema.shape);

/** The run input of a state that carries step results next to it, validated. */
export function runInputOf(state: object): GcWorkflowInput {
  const s = state as Record<string, unknown>;
  return GcWorkflowInputSchema.parse(Object.fromEntries(RUN_INPUT_KEYS.map((k) => [k, s[k]])));
}

/** The log keys of a GC step's event: the run's input, or a map child's batch context. */
export function gcKeysOf(event: unknown): LogKeys {
  const e = (event ?? {}) as Record<string, unknown>;
  const context = (e.BatchInput ?? e.batch ?? e) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    repository: text(context.repository),
    runId: text(context.runId),
    markId: text(context.markId),
  };
}
