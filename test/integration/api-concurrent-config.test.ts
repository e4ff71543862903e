// Concurrent PUTs of one branch's export configuration: each stored configuration gets its own
// version, so the export that follows a change is a full export to what is stored. Both
// requests are held after reading the stored configuration until the other has read it too.
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-concurrent-config";
const cfg = `/repositories/${repo}/branches/main/continuous-export`;

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
});
afterAll(() => fake.stop());

/** Holds the first `n` calls of `obj[name]` until all `n` have been made. */
function barrier<T extends object>(obj: T, name: keyof T & string, n: number) {
  const original = (obj[name] as (...args: unknown[]) => Promise<unknown>).bind(obj);
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  (obj as Record<string, unknown>)[name] = async (...args: unknown[]) => {
    if (arrived < n) {
      arrived++;
      if (arrived === n) open();
      await opened;
    }
    return original(...args);
  };
  return () => {
    (obj as Record<string, unknown>)[name] = original;
  };
}

test("two changes at once get two versions; the stored one is the version its answer gave", async () => {
  expect((await call("PUT", cfg, { exportPath: "s3://export-bucket/a" })).status).toBe(200);
  const restore = barrier(fake.deps.stores.exports, "getState", 2);
  let answers: { status: number; body: { exportPath: string; configVersion: number } }[];
  try {
    answers = await Promise.all([
      call("PUT", cfg, { exportPath: "s3://export-bucket/b" }),
      call("PUT", cfg, { exportPath: "s3://export-bucket/c" }),
    ]);
  } finally {
    restore();
  }
  for (const a of answers) expect(a.status).toBe(200);
  const versions = answers.map((a) => a.body.configVersion);
  expect(new Set(versions).size).toBe(2);
  const stored = await fake.deps.stores.exports.getConfig(repo, "main");
  const winner = answers.find((a) => a.body.exportPath === stored?.exportPath);
  expect(stored?.configVersion).toBe(winner?.body.configVersion);
  expect(stored?.configVersion).toBe(Math.max(...versions));
});
