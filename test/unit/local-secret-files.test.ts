// The embedded environment's files that hold secrets (the webhook token, the lakeFS key pair)
// are readable by their owner only, as tokens.json always was: endpoints.json and lakeFS's
// credentials.json were written with the umask's mode (0644: anyone on the machine).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { resolveEndpoint, UsageError } from "../../cli/endpoint";
import { loadOrCreateApiTokens } from "../../local/api/component";
import { endpointsPath, writeEndpoints } from "../../local/endpoints";
import { generateLakeFsKeys, loadOrCreateLakeFsKeys } from "../../local/lakefs/local-credentials";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lakeport-secret-files-"));
  dirs.push(dir);
  return dir;
}

/** The permission bits others than the owner have. */
const notOwnerBits = (file: string) => statSync(file).mode & 0o077;

it("writes endpoints.json, lakeFS's credentials.json and tokens.json for the owner only", async () => {
  const dir = tempDir();
  const keys = loadOrCreateLakeFsKeys(path.join(dir, "lakefs"));
  const { webhookToken } = await loadOrCreateApiTokens(path.join(dir, "api"));
  await writeEndpoints(dir, {
    region: "us-east-1",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    s3: "http://127.0.0.1:1",
    dynamodb: "http://127.0.0.1:2",
    lakefsAccessKeyId: keys.accessKeyId,
    lakefsSecretAccessKey: keys.secretAccessKey,
    webhookToken,
  });
  expect(notOwnerBits(endpointsPath(dir))).toBe(0);
  expect(notOwnerBits(path.join(dir, "lakefs", "credentials.json"))).toBe(0);
  expect(notOwnerBits(path.join(dir, "api", "tokens.json"))).toBe(0);
});

it("makes lakeFS's credentials.json of an older run owner-only when it reads it", () => {
  const dir = tempDir();
  const file = path.join(dir, "credentials.json");
  const keys = generateLakeFsKeys();
  writeFileSync(file, JSON.stringify(keys));
  chmodSync(file, 0o644);
  expect(loadOrCreateLakeFsKeys(dir)).toEqual(keys);
  expect(notOwnerBits(file)).toBe(0);
});

it("the CLI refuses an endpoints.json that is not JSON without quoting it (it holds the keys)", () => {
  const dir = tempDir();
  const secret = "lakefs-local-secret-9a3f0c";
  mkdirSync(path.join(dir, ".local"));
  // Cut short while written: JSON.parse's message quotes the text around the fault.
  writeFileSync(
    path.join(dir, ".local", "endpoints.json"),
    `{"api":"http://127.0.0.1:1","lakefsSecretAccessKey":${secret}}`,
  );
  let err: unknown;
  try {
    resolveEndpoint(undefined, {}, dir);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toContain("endpoints.json");
  expect(`${(err as Error).message}\n${(err as Error).stack}`).not.toContain(secret.slice(0, 8));
});
