// A repository deleted in lakeFS keeps its Lakeport configuration in DynamoDB: it must still be
// possible to delete it. Its export path otherwise stays taken for good (a PUT of another
// branch to the same path is refused as overlapping it), and its GC rules stay behind.
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const gone = "repo-deleted-later";
const kept = "repo-kept";

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(gone, `s3://lakefs-data/${gone}`, { main: "g1" });
  fake.lakefs.addRepository(kept, `s3://lakefs-data/${kept}`, { main: "k1" });
});
afterAll(() => fake.stop());

test("the export configuration and GC rules of a repository deleted in lakeFS can be deleted", async () => {
  const path = { exportPath: "s3://export-bucket/reused" };
  const cfg = `/repositories/${gone}/branches/main/continuous-export`;
  const rules = `/repositories/${gone}/settings/gc_rules`;
  expect((await call("PUT", cfg, path)).status).toBe(200);
  expect((await call("PUT", rules, { default_retention_days: 7, branches: [] })).status).toBe(204);
  fake.lakefs.repositories.delete(gone);

  const other = `/repositories/${kept}/branches/main/continuous-export`;
  const refused = await call("PUT", other, path);
  expect(refused.status).toBe(400);
  expect(refused.body.message).toMatch(
    /overlaps the export path .* of lakefs:\/\/repo-deleted-later@main/,
  );

  expect((await call("DELETE", cfg)).status).toBe(204);
  expect(await fake.deps.stores.exports.getConfig(gone, "main")).toBeUndefined();
  expect((await call("DELETE", cfg)).status).toBe(404);
  expect((await call("DELETE", rules)).status).toBe(204);
  expect(await fake.deps.stores.gc.getRules(gone)).toBeUndefined();
  expect((await call("PUT", other, path)).status).toBe(200);
});
