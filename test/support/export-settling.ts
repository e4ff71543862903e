// A branch that waits for a failed export's copies (settlesAt, lambdas/export/domain/settling.ts)
// waits up to 16 minutes: once a test knows those copies have ended, it moves the time into the
// past through the state store, as the wait itself would.
import { createStateStores } from "../../lambdas/api/state-stores";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { LOCAL_S3_CREDENTIALS } from "../../local/s3/credentials";
import type { LakeportEnvironment } from "./lakeport-env";

/** Moves the branch's settlesAt 1 s into the past; returns the state it found. */
export async function settleExportNow(
  env: Pick<LakeportEnvironment, "dynamoDbEndpoint" | "region" | "resources">,
  repo: string,
  branch = "main",
): Promise<ExportState> {
  const ddb = createDynamoDbClient({
    endpoint: env.dynamoDbEndpoint,
    region: env.region,
    credentials: LOCAL_S3_CREDENTIALS,
  });
  try {
    const { exports } = createStateStores(ddb, env.resources.tableName);
    const state = await exports.getState(repo, branch);
    if (!state) throw new Error(`no export state for ${repo}@${branch}`);
    const moved = await exports.compareAndSetState(repo, branch, state.version, {
      ...state,
      settlesAt: new Date(Date.now() - 1_000).toISOString(),
      version: state.version + 1,
    });
    if (!moved) throw new Error(`the export state of ${repo}@${branch} changed meanwhile`);
    return state;
  } finally {
    ddb.destroy();
  }
}
