// The lakeFS client a Lambda uses: endpoint from LAKEFS_ENDPOINT, credentials resolved once
// per container (see credentials.ts).
import { traced } from "../tracing";
import { LakeFsClient } from "./client";
import { LakeFsCredentialsError, resolveLakeFsCredentials } from "./credentials";
import type { LakeFsClientOptions } from "./transport";

export async function createLakeFsClientFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Omit<LakeFsClientOptions, "endpoint" | "credentials">> = {},
): Promise<LakeFsClient> {
  const endpoint = env.LAKEFS_ENDPOINT;
  if (!endpoint) throw new LakeFsCredentialsError("lakeFS client: LAKEFS_ENDPOINT is not set");
  const credentials = await resolveLakeFsCredentials(env);
  return new LakeFsClient({ endpoint, credentials, traceCall: traced, ...overrides });
}
