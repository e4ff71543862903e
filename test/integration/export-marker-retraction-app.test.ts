// A success marker is a promise that its directory holds the exported commit. Through the real
// app: while an export changes a directory, the markers above the change are gone (a job that
// triggers on one would read a mix of two commits), the markers of directories it does not touch
// stay; at its end the markers are back; a marker the plan cannot retract fails the export
// before anything of the commit reaches the export path.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { commitOnMain, exportEnded, exportOrRepairMain, startExport } from "../support/export-hook";
import {
  createLakeFsRepository,
  eventually,
  type TestRepository,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("retract-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

async function listKeys(prefix: string): Promise<string[]> {
  const page = await env.s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
}

async function text(key: string): Promise<string> {
  const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return got.Body!.transformToString("utf8");
}

async function configure(repo: TestRepository) {
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}/out`,
    exportStatusPath: `s3://${outBucket}/${repo.id}/status`,
    lastKeysInPrefixRegexp: ["^[a-z]/$", "^a/x/$"],
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
}

const FIRST = { "a/1": "a1", "a/x/1": "ax1", "b/1": "b1", "c/1": "c1" };

/** A repository whose first commit (FIRST) is exported; its export path's prefix. */
async function exportedFirst(): Promise<{ repo: TestRepository; out: string }> {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await configure(repo);
  await commitOnMain(env, repo.id, FIRST);
  expect((await exportOrRepairMain(env, repo.id)).state).toBe("exported-successfully");
  return { repo, out: `${repo.id}/out/` };
}

/** Holds the next CopyObject to `key`: `held()` waits until it arrives, `release()` lets it go. */
async function holdCopyTo(key: string) {
  const hold = await env.s3Admin.hold({
    count: 1,
    operation: "CopyObject",
    bucket: outBucket,
    prefix: key,
  });
  return {
    held: () =>
      eventually(`the copy to ${key} held`, async () =>
        (await env.s3Admin.listHoldRules()).find((r) => r.id === hold.id)?.held === 1
          ? true
          : undefined,
      ),
    release: () => env.s3Admin.releaseHold(hold.id),
  };
}
const ALL_MARKERS = [
  "a/_lakefs_success",
  "a/x/_lakefs_success",
  "b/_lakefs_success",
  "c/_lakefs_success",
];

/** b/ holds its object and no marker; a/, a/x/ and c/ keep the first export's. */
async function expectMarkersBesideB(out: string) {
  expect(await listKeys(`${out}b/`)).toEqual(["1"]);
  expect((await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"))).toEqual([
    "a/_lakefs_success",
    "a/x/_lakefs_success",
    "c/_lakefs_success",
  ]);
}
it("while an export copies into a directory, its marker and those above are gone; the others stay", async () => {
  const { repo, out } = await exportedFirst();
  expect((await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"))).toEqual(ALL_MARKERS);

  const head = await commitOnMain(env, repo.id, { "a/x/1": "ax1 changed", "c/1": null });
  const hold = await holdCopyTo(`${out}a/x/1`);
  const { exportId } = await startExport(env, repo.id);
  try {
    await hold.held();
    // The copy is in flight: a/x/ and a/ above it have no marker; b/ (untouched) keeps its own.
    // c/ has only a delete under it, still to come or done: no marker either.
    const during = await listKeys(out);
    expect(during.filter((k) => k.endsWith("_lakefs_success"))).toEqual(["b/_lakefs_success"]);
    // Before: a/_lakefs_success and a/x/_lakefs_success said "complete" over a/x/1 being
    // replaced (and c/_lakefs_success over c/1 being deleted).
  } finally {
    await hold.release();
  }
  expect((await exportEnded(env, repo.id, exportId)).state).toBe("exported-successfully");
  expect(await listKeys(out)).toEqual([
    "a/1",
    "a/_lakefs_success",
    "a/x/1",
    "a/x/_lakefs_success",
    "b/1",
    "b/_lakefs_success",
  ]);
  expect(await text(`${out}a/x/1`)).toBe("ax1 changed");
  const line = await text(`${repo.id}/status/${repo.id}-main-${head}`);
  expect(line).toBe("status: exported-successfully, signalled_errors: 0\n");
}, 120_000);

it("a marker the plan cannot retract fails the export before anything changes; the repair puts all back", async () => {
  const { repo, out } = await exportedFirst();
  const before = await listKeys(out);

  const head = await commitOnMain(env, repo.id, { "a/2": "a2", "b/1": "b1 changed" });
  const rule = await env.s3Admin.deny({ bucket: outBucket, prefix: `${out}a/_lakefs_success` });
  let ended: Record<string, unknown>;
  try {
    ended = await exportOrRepairMain(env, repo.id);
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
  expect(ended.state).toBe("export-failed");
  expect(String(ended.errorMessage)).toContain(
    `AccessDenied: retracting the success marker s3://${outBucket}/${out}a/_lakefs_success before its directory changes`,
  );
  // Nothing copied: a/2 is not there, b/1 is the first commit's. The plan's shard holding b/1
  // was written before the retraction failed, so b/'s marker may be gone; a/'s stayed.
  const after = await listKeys(out);
  expect(after).not.toContain("a/2");
  expect(after.filter((k) => !k.endsWith("_lakefs_success"))).toEqual(
    before.filter((k) => !k.endsWith("_lakefs_success")),
  );
  expect(await text(`${out}b/1`)).toBe("b1");
  expect(await text(`${repo.id}/status/${repo.id}-main-${head}`)).toMatch(
    /^status: export-failed, /,
  );

  expect((await exportOrRepairMain(env, repo.id, {})).state).toBe("export-repaired");
  expect(await listKeys(out)).toEqual([
    "a/1",
    "a/2",
    "a/_lakefs_success",
    "a/x/1",
    "a/x/_lakefs_success",
    "b/1",
    "b/_lakefs_success",
    "c/1",
    "c/_lakefs_success",
  ]);
  expect(await text(`${out}b/1`)).toBe("b1 changed");
}, 120_000);

it("repair --full takes away only the markers above what it changes, while it changes it", async () => {
  const { repo, out } = await exportedFirst();
  // From outside: b/1 changed in the export path; the repair copies it back.
  await env.s3.send(new PutObjectCommand({ Bucket: outBucket, Key: `${out}b/1`, Body: "junk" }));
  const hold = await holdCopyTo(`${out}b/1`);
  const run = exportOrRepairMain(env, repo.id, { full: true });
  try {
    await hold.held();
    // Every marker is a key the commit lacks (a delete the markers step settles), but only
    // b/'s goes: a/, a/x/ and c/ are unchanged and keep theirs throughout.
    const during = (await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"));
    expect(during).toEqual(["a/_lakefs_success", "a/x/_lakefs_success", "c/_lakefs_success"]);
  } finally {
    await hold.release();
  }
  expect((await run).state).toBe("export-repaired");
  expect((await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"))).toEqual(ALL_MARKERS);
  expect(await text(`${out}b/1`)).toBe("b1");
}, 120_000);

it("a committed object where a selected directory's marker goes fails the export, and takes that marker away", async () => {
  const { repo, out } = await exportedFirst();
  await commitOnMain(env, repo.id, { "b/_lakefs_success": "data, not a marker" });
  const ended = await exportOrRepairMain(env, repo.id);
  expect(ended.state).toBe("export-failed");
  // b/ has a failed operation below it (MarkerCollision): no marker, not the first export's.
  await expectMarkersBesideB(out);
}, 120_000);

it("repair --full of a committed empty object at a selected directory's marker fails the export, and takes that marker away", async () => {
  const { repo, out } = await exportedFirst();
  // Empty, as the marker is: the same ETag and size, so repair --full keeps it (no copy), yet
  // it is the commit's data where b/'s marker goes, refused as a MarkerCollision.
  const head = await commitOnMain(env, repo.id, { "b/_lakefs_success": "" });
  const ended = await exportOrRepairMain(env, repo.id, { full: true });
  expect(ended.state).toBe("export-failed");
  expect(String(ended.errorMessage)).toContain("MarkerCollision");
  expect(await text(`${repo.id}/status/${repo.id}-main-${head}`)).toMatch(
    /^status: export-failed, /,
  );
  // b/ and nothing else had a failed operation: its earlier marker is gone, the others stay.
  await expectMarkersBesideB(out);
}, 120_000);

it("keys needing URL encoding, the root selected, a directory with only a delete and one deleted whole: retracted while copying, right after", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}/out`,
    lastKeysInPrefixRegexp: ["^$", "^d %2F\\+x/$", "sub\\?#/$", "^e\t/$", "^e\r/$"],
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
  const sub = "d %2F+x/sub?#/";
  const files = { "d %2F+x/1": "1", [`${sub}1`]: "1", "e\t/1": "1", "e\t/2": "2", "e\r/1": "1" };
  await commitOnMain(env, repo.id, { ...files, "o/1": "1" });
  expect((await exportOrRepairMain(env, repo.id)).state).toBe("exported-successfully");
  const out = `${repo.id}/out/`;
  // Listed URL-encoded: a carriage return in plain XML reads as a line feed.
  const markers = async () => {
    const page = await env.s3.send(
      new ListObjectsV2Command({ Bucket: outBucket, Prefix: out, EncodingType: "url" }),
    );
    return (page.Contents ?? [])
      .map((o) => decodeURIComponent(o.Key!.replace(/\+/g, " ")).slice(out.length))
      .filter((k) => k.endsWith("_lakefs_success"))
      .sort();
  };
  const m = (dir: string) => `${dir}_lakefs_success`;
  expect(await markers()).toEqual(["", "d %2F+x/", sub, "e\t/", "e\r/"].map(m).sort());

  // e\t/ loses one of two objects, e\r/ its only one, sub?#/ is deleted whole; o/1 changes.
  await commitOnMain(env, repo.id, { "e\t/1": null, "e\r/1": null, [`${sub}1`]: null, "o/1": "2" });
  const hold = await holdCopyTo(`${out}o/1`);
  const { exportId } = await startExport(env, repo.id);
  try {
    await hold.held();
    expect(await markers()).toEqual([]);
  } finally {
    await hold.release();
  }
  expect((await exportEnded(env, repo.id, exportId)).state).toBe("exported-successfully");
  expect(await markers()).toEqual(["", "d %2F+x/", "e\t/"].map(m).sort());
  expect(await listKeys(`${out}e\t/`)).toEqual(["2", "_lakefs_success"]);
}, 120_000);

it("a marker repair --full cannot write below a directory unchanged otherwise: that directory keeps no earlier marker", async () => {
  const { repo, out } = await exportedFirst();
  // From outside: a/x/'s marker is deleted, and a policy refuses writing it.
  await env.s3.send(
    new DeleteObjectCommand({ Bucket: outBucket, Key: `${out}a/x/_lakefs_success` }),
  );
  const rule = await env.s3Admin.deny({
    bucket: outBucket,
    prefix: `${out}a/x/_lakefs_success`,
    access: "put",
  });
  let ended: Record<string, unknown>;
  try {
    ended = await exportOrRepairMain(env, repo.id, { full: true });
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
  expect(ended.state).toBe("export-failed");
  // a/x/ has no marker, so a/ above it (whose marker says those below have theirs) has none.
  expect((await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"))).toEqual([
    "b/_lakefs_success",
    "c/_lakefs_success",
  ]);
  expect((await exportOrRepairMain(env, repo.id, {})).state).toBe("export-repaired");
  expect((await listKeys(out)).filter((k) => k.endsWith("_lakefs_success"))).toEqual(ALL_MARKERS);
}, 120_000);
