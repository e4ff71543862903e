// lakeFS credentials for Lambdas: from LAKEFS_ACCESS_KEY_ID/LAKEFS_SECRET_ACCESS_KEY (local)
// or from the Secrets Manager secret named by LAKEFS_SECRET_ARN (AWS), whose value is JSON
// {"accessKeyId": "...", "secretAccessKey": "..."}. Resolved once per container.
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { createSecretsManagerClient } from "../aws/clients";
import type { LakeFsCredentials } from "./transport";

export class LakeFsCredentialsError extends Error {
  override name = "LakeFsCredentialsError";
}

const SecretValueSchema = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});

let cached: { source: string; credentials: Promise<LakeFsCredentials> } | undefined;

/** Forgets the cached credentials (tests, or after lakeFS answered 401 to rotated keys). */
export function resetLakeFsCredentialsCache(): void {
  cached = undefined;
}

/** Where the credentials come from: an environment naming others is resolved anew. */
function sourceOf(env: NodeJS.ProcessEnv): string {
  return JSON.stringify([
    env.LAKEFS_ACCESS_KEY_ID ?? "",
    env.LAKEFS_SECRET_ACCESS_KEY ?? "",
    env.LAKEFS_SECRET_ARN ?? "",
  ]);
}

export function resolveLakeFsCredentials(
  env: NodeJS.ProcessEnv = process.env,
  secretsManager?: Pick<SecretsManagerClient, "send">,
): Promise<LakeFsCredentials> {
  const source = sourceOf(env);
  if (cached?.source !== source) {
    const entry = { source, credentials: load(env, secretsManager) };
    cached = entry;
    // A failed lookup is not cached: the next invocation tries again.
    entry.credentials.catch(() => {
      if (cached === entry) cached = undefined;
    });
  }
  return cached.credentials;
}

async function load(
  env: NodeJS.ProcessEnv,
  secretsManager?: Pick<SecretsManagerClient, "send">,
): Promise<LakeFsCredentials> {
  const accessKeyId = env.LAKEFS_ACCESS_KEY_ID;
  const secretAccessKey = env.LAKEFS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey };
  const secretArn = env.LAKEFS_SECRET_ARN;
  if (!secretArn) {
    throw new LakeFsCredentialsError(
      "lakeFS credentials: set LAKEFS_SECRET_ARN, or LAKEFS_ACCESS_KEY_ID and LAKEFS_SECRET_ACCESS_KEY",
    );
  }
  const client = secretsManager ?? createSecretsManagerClient();
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!out.SecretString) {
    throw new LakeFsCredentialsError(`lakeFS credentials: secret ${secretArn} has no SecretString`);
  }
  let json: unknown;
  try {
    json = JSON.parse(out.SecretString);
  } catch {
    throw new LakeFsCredentialsError(`lakeFS credentials: secret ${secretArn} is not JSON`);
  }
  const parsed = SecretValueSchema.safeParse(json);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? "(value)");
    throw new LakeFsCredentialsError(
      `lakeFS credentials: secret ${secretArn}: ${field} must be a non-empty string`,
    );
  }
  return parsed.data;
}
