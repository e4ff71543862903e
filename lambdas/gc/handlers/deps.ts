// Composition root of the GC Lambdas: S3, lakeFS and the run records from the function's
// environment (WORK_BUCKET, TABLE_NAME, LAKEFS_ENDPOINT + credentials), built once per container.
import { createLakeFsClientFromEnv } from "../../lakefs/factory";
import { createDynamoDbClient, createS3Client } from "../../shared/aws/clients";
import { createStateStores } from "../../shared/state";
import type { GcStore } from "../../shared/state/gc-store";
import { S3GcObjectStore } from "../adapters/s3-object-store";
import type { GcLakeFs, GcRunRecords, GcStepDeps } from "../ports";

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

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
    listBranches: (...a) => lazyPages(get, (c) => c.listBranches(...a)),
    listTags: (...a) => lazyPages(get, (c) => c.listTags(...a)),
    logCommits: (...a) => lazyPages(get, (c) => c.logCommits(...a)),
    diffBranch: (...a) => lazyPages(get, (c) => c.diffBranch(...a)),
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

/** Only the summary step writes run records (and only it gets TABLE_NAME). */
function lazyRuns(): GcRunRecords {
  let store: GcStore | undefined;
  const get = () => {
    store ??= createStateStores(createDynamoDbClient(), required("TABLE_NAME")).gc;
    return store;
  };
  return {
    getRun: (...a) => get().getRun(...a),
    completeRun: (...a) => get().completeRun(...a),
  };
}

let deps: GcStepDeps | undefined;

export function gcDepsFromEnv(): GcStepDeps {
  deps ??= {
    s3: new S3GcObjectStore(createS3Client()),
    lakefs: lazyLakeFs(),
    runs: lazyRuns(),
    workBucket: required("WORK_BUCKET"),
    now: () => new Date(),
  };
  return deps;
}

/** Lambda context, as much as the steps use. */
export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
}

/** Stop starting new lakeFS pages once less than this is left of the Lambda's time. */
export const TIME_MARGIN_MS = 60_000;
