// lakeFS's GC deletes only under the namespace's `data/` and at its top level; an object
// linked elsewhere in the namespace (written there by another tool) it never deletes. On the
// real Lakeport app (test/support/lakeport-env.ts): an object at `raw/file.csv` in the
// namespace, linked on main and then deleted there, survives a mark-and-sweep run that
// deletes what lakeFS wrote under `data/` for the same expired commit.
import { createHash } from "node:crypto";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { gcAppRuns } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const DAY = 86_400;
const env = useLakeportEnvironment();

const { read } = gcAppRuns(() => env);

it("never deletes an object linked outside data/ in the namespace, only expired commits holding it", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const { id, bucket } = repo;
  const rawKey = `repos/${id}/raw/file.csv`;
  const body = "raw bytes another tool wrote";
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: rawKey, Body: body }));
  await env.lakefs.linkPhysicalAddress(id, "main", "raw.csv", {
    physicalAddress: `s3://${bucket}/${rawKey}`,
    checksum: createHash("md5").update(body).digest("hex"),
    sizeBytes: body.length,
  });
  await env.lakefs.uploadObject(id, "main", "a", { content: "A0" });
  const now = Math.floor(Date.now() / 1000);
  const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY })).id;
  await env.lakefs.deleteObject(id, "main", "raw.csv");
  await env.lakefs.uploadObject(id, "main", "a", { content: "A1" });
  await env.lakefs.commit(id, "main", { message: "c1", date: now - 10 * DAY });
  const rules = await env.api.put(`/repositories/${id}/settings/gc_rules`, {
    default_retention_days: 3,
    branches: [],
  });
  expect(rules.status).toBe(204);

  const start = await env.api.post(`/repositories/${id}/gc/runs`, {});
  expect(start.status, start.text).toBe(202);
  const until = Date.now() + 90_000;
  let run = start.body;
  for (;;) {
    run = (await env.api.get(`/repositories/${id}/gc/runs/${start.body.run_id}`)).body;
    if (run.status !== "running") break;
    if (Date.now() > until) throw new Error("GC run still running");
    await new Promise((res) => setTimeout(res, 100));
  }
  expect(run.status, JSON.stringify(run)).toBe("succeeded");
  // A0 (under data/) goes, so the run swept; raw/file.csv stays, readable through c0.
  expect(run.counts).toMatchObject({ markedAddresses: 1 });
  expect(await read(id, c0, "a")).toBe(410);
  expect(await read(id, c0, "raw.csv")).toBe(body);
  const left = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: rawKey }));
  expect(await left.Body!.transformToString()).toBe(body);
});
