// A sweep that stops part way records how far it answered its marked list, and the sweep-only
// run that follows begins there instead of offering every key again (a part that needed more
// than one function's time used to stop at about the same point, run after run). On the real
// Lakeport app (test/support/lakeport-env.ts): 3 000 expired objects marked in two lists of
// some 1 500 keys, two delete requests each; the embedded S3 denies the delete of one key of
// one list's second request.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { gcPaths } from "../../lambdas/gc/domain/paths";
import { DAY, gcAppRuns, setRetention } from "../support/gc-app-runs";
import { createLakeFsRepository, useLakeportEnvironment } from "../support/lakeport-env";

const env = useLakeportEnvironment();
const { gc, read } = gcAppRuns(() => env);

const OBJECTS = 3000;

describe("a sweep-only run after a sweep that stopped part way", () => {
  it("offers only the keys from the first request not answered on, and finishes", async () => {
    const { id, bucket, storageNamespace } = await createLakeFsRepository(env, {
      webhook: false,
    });
    const prefix = storageNamespace.slice(`s3://${bucket}/`.length);
    const now = Math.floor(Date.now() / 1000);
    // c0 (20 days old) links 3 000 objects of their own; c1 (10 days old) points every path at
    // one shared object: c0's 1 500 addresses are marked.
    const own = Array.from({ length: OBJECTS }, (_, i) => `data/own-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < own.length; i += 50) {
      await Promise.all(
        own
          .slice(i, i + 50)
          .map((k) =>
            env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${k}`, Body: k })),
          ),
      );
    }
    await env.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/data/shared`, Body: "shared" }),
    );
    const paths = own.map((_, i) => `f/${String(i).padStart(4, "0")}`);
    await stage(
      id,
      paths.map((p, i) => ({
        path: p,
        physical_address: `${storageNamespace}/${own[i]}`,
        checksum: own[i]!,
      })),
    );
    const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY })).id;
    await stage(
      id,
      paths.map((p) => ({
        path: p,
        physical_address: `${storageNamespace}/data/shared`,
        checksum: "shared",
      })),
    );
    await env.lakefs.commit(id, "main", { message: "c1", date: now - 10 * DAY });
    await setRetention(env, id, 3);

    const mark = await gc(id, { mode: "mark-only", mark_id: "m1" });
    expect(mark, JSON.stringify(mark)).toMatchObject({ status: "succeeded" });
    const lists = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `${prefix}/${gcPaths.addressesTextPrefix("m1")}`,
      }),
    );
    expect(lists.KeyCount, JSON.stringify(lists.Contents)).toBe(2);
    const parts = await Promise.all(
      lists.Contents!.map(async (o) => (await text(bucket, o.Key!)).split("\n").filter(Boolean)),
    );
    expect(parts.flat().sort()).toEqual(own);
    const [listed, other] = parts[0]!.length >= parts[1]!.length ? parts : [parts[1]!, parts[0]!];
    expect(listed!.length).toBeGreaterThan(1200);
    // A key of the larger list's second request (its lines 1 001 on) cannot be deleted.
    const denied = listed![1200]!;
    await env.s3Admin.deny({ bucket, prefix: `${prefix}/${denied}`, access: "write" });
    let first: Record<string, unknown>;
    try {
      first = await gc(id, { mode: "sweep-only", mark_id: "m1" });
    } finally {
      await env.s3Admin.clearDenyRules({ bucket });
    }
    expect(first.status, JSON.stringify(first)).toBe("failed");
    expect(String(first.error_message)).toContain("1 marked object(s) could not be deleted");
    expect(await remaining(bucket, `${prefix}/data/`)).toEqual([
      `${prefix}/${denied}`,
      `${prefix}/data/shared`,
    ]);

    const second = await gc(id, { mode: "sweep-only", mark_id: "m1" });
    expect(second, JSON.stringify(second)).toMatchObject({ status: "succeeded" });
    expect(await remaining(bucket, `${prefix}/data/`)).toEqual([`${prefix}/data/shared`]);
    // The run's summary: the other list, answered whole, and the first request's 1 000 keys of
    // this one skipped; the rest of this one offered again.
    const summary = JSON.parse(
      await text(bucket, `${prefix}/${gcPaths.summary(String(second.run_id))}`),
    ) as { counts: Record<string, number> };
    expect(summary.counts).toMatchObject({
      skipped_answered_earlier: 1000 + other!.length,
      deleted_objects: listed!.length - 1000,
      delete_errors: 0,
    });
    // And the run record the API shows.
    expect(second.counts).toMatchObject({
      skippedAnsweredEarlier: 1000 + other!.length,
      deletedObjects: listed!.length - 1000,
      failedDeletes: 0,
    });
    expect(await read(id, c0, "f/0007")).toBe(410);
    expect(await read(id, "main", "f/0007")).toBe("shared");
  }, 240_000);
});

/** Stages entries on main in one request (the development server's bulk staging). */
async function stage(
  id: string,
  entries: { path: string; physical_address: string; checksum: string }[],
) {
  const auth = `Basic ${Buffer.from(`${env.lakefsKeys.accessKeyId}:${env.lakefsKeys.secretAccessKey}`).toString("base64")}`;
  const res = await fetch(
    `${env.lakefsServer.endpoint}/_lakeport/repositories/${id}/branches/main/staging`,
    {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({
        entries: entries.map((e) => ({ ...e, size_bytes: 1 })),
      }),
    },
  );
  expect(res.status, await res.clone().text()).toBe(200);
}

async function text(bucket: string, key: string): Promise<string> {
  const r = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return r.Body!.transformToString();
}

/** The keys under `prefix` (fewer than 1 000 here), in order. */
async function remaining(bucket: string, prefix: string): Promise<string[]> {
  const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  expect(r.IsTruncated).toBeFalsy();
  return (r.Contents ?? []).map((o) => o.Key!);
}
