// Keys of the local lakeFS development server: generated once in lakeFS's format (an
// AKIAJ... access key id, a 40-character secret), kept in the data directory so a restart
// keeps them, and written by `npm run local` to .local/endpoints.json.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "./file-store";

export interface LakeFsKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function randomString(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function generateLakeFsKeys(): LakeFsKeys {
  return {
    accessKeyId: `AKIAJ${randomString(15, ALPHANUM)}`,
    secretAccessKey: randomBytes(30).toString("base64").replace(/[+/=]/g, "x").slice(0, 40),
  };
}

export function loadOrCreateLakeFsKeys(dataDir: string): LakeFsKeys {
  const file = path.join(dataDir, "credentials.json");
  // The secret key: for the owner only (a file of an older run was anyone's to read).
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return JSON.parse(readFileSync(file, "utf8")) as LakeFsKeys;
  }
  const keys = generateLakeFsKeys();
  writeFileAtomic(file, JSON.stringify(keys, null, 2), 0o600);
  return keys;
}

/** The fields `npm run local` writes to .local/endpoints.json for lakeFS. */
export function lakeFsEndpointsEntry(endpoint: string, keys: LakeFsKeys) {
  return {
    lakefs: endpoint,
    lakefsAccessKeyId: keys.accessKeyId,
    lakefsSecretAccessKey: keys.secretAccessKey,
  };
}
