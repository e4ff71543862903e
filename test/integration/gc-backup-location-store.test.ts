// BackupLocationStore against DynamoDB Local: the claims of one location made at once, a claim
// released while another is being made, and a claim whose answer was lost. A claim must never
// vanish while a backup relies on it (a full export would then be let in around the backup),
// nor be left half written (every export configuration change reads every claim).
import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { BackupLocationStore } from "../../lambdas/gc/adapters/backup-location-store";
import type { BackupLocationClaim } from "../../lambdas/gc/domain/backup-location-claims";
import { createDynamoDbClient } from "../../lambdas/shared/aws/clients";
import { documentClient } from "../../lambdas/shared/dynamodb/document-client";
import { keys } from "../../lambdas/shared/dynamodb/table";
import { createStateTable } from "../../local/dynamodb/create-table";
import { type AnswerLosingProxy, startAnswerLosingProxy } from "../support/answer-losing-proxy";
import { uniqueName } from "../support/clients";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const tableName = uniqueName("backup-claims");
let proxy: AnswerLosingProxy;
let ddb: ReturnType<typeof createDynamoDbClient>;
let doc: DynamoDBDocumentClient;
let store: BackupLocationStore;

beforeAll(async () => {
  proxy = await startAnswerLosingProxy(inject("dynamoDbEndpoint"));
  ddb = createDynamoDbClient({ endpoint: proxy.endpoint, region: "us-east-1", credentials });
  await createStateTable(ddb, tableName);
  doc = documentClient(ddb);
  store = new BackupLocationStore(doc, tableName);
});
afterAll(async () => {
  ddb?.destroy();
  await proxy.stop();
});

const claimOf = (repository: string, location: string, markId: string): BackupLocationClaim => ({
  repository,
  location,
  markId,
  claimedAt: new Date().toISOString(),
  claimToken: randomUUID(),
});

async function claimsOf(repository: string) {
  const out: BackupLocationClaim[] = [];
  for await (const page of store.listOfRepository(repository)) out.push(...page);
  return out;
}

test("a claim another backup of the same location relied on meanwhile is not withdrawn by the call that created it", async () => {
  // Two backups to one location at once: the first creates the claim, the second finds it and
  // goes on (its re-check passed); the first's re-check fails and it withdraws "its" claim.
  // Withdrawn, the second backup would be unprotected: an export path set around it next is
  // let in, and its full export deletes the backup.
  const repo = uniqueName("withdraw");
  const location = `s3://bk-store/${repo}`;
  const first = claimOf(repo, location, "m1");
  const second = claimOf(repo, location, "m2");
  expect(await store.claim(first)).toBe("created");
  expect(await store.claim(second)).toBe("existing");
  expect(await store.release(repo, location, first.claimToken)).toBe(false);
  expect(await claimsOf(repo)).toEqual([expect.objectContaining({ location, markId: "m2" })]);
});

test("a claim released between another call's refused put and its update is created again, whole", async () => {
  // The update of an existing claim must not write an item of its own: one holding only the
  // mark has no location, and every export configuration change reading it would fail.
  const repo = uniqueName("released");
  const location = `s3://bk-store/${repo}`;
  const key = keys.gcBackupLocation(repo, location);
  await doc.send(
    new PutCommand({ TableName: tableName, Item: { ...key, ...claimOf(repo, location, "m1") } }),
  );
  let released = false;
  const racing = {
    send: async (command: unknown) => {
      try {
        return await doc.send(command as PutCommand);
      } catch (err) {
        if (!released && command instanceof PutCommand) {
          released = true;
          await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
        }
        throw err;
      }
    },
  } as unknown as DynamoDBDocumentClient;
  const claim = claimOf(repo, location, "m2");
  expect(await new BackupLocationStore(racing, tableName).claim(claim)).toBe("created");
  expect(released).toBe(true);
  expect(await claimsOf(repo)).toEqual([{ ...claim }]);
});

test("a claim whose answer was lost is answered as created: a failed re-check withdraws it", async () => {
  const repo = uniqueName("lost");
  const location = `s3://bk-store/${repo}`;
  const claim = claimOf(repo, location, "m1");
  proxy.lose({ operation: "PutItem", bodyIncludes: claim.claimToken, mode: "drop", times: 1 });
  expect(await store.claim(claim)).toBe("created");
  expect(await store.release(repo, location, claim.claimToken)).toBe(true);
  expect(await claimsOf(repo)).toEqual([]);
});
