// What an export leaves for downstream jobs, checked against S3's listing of the export path
// and lakeFS's listing of the commit, through the real app (test/support/lakeport-env.ts):
// keys whose UTF-16 and UTF-8 orders differ, directories named with regex metacharacters, a
// committed `_lakefs_success` in a directory not selected, objects moved between directories
// (a selected directory emptied), and a change of the marker expressions (a full export). Each
// time: the export path holds the commit's objects and exactly the promised markers, the
// manifest lists every object once with the ETag and size S3 holds, and the status document's
// counts say what changed.

import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import { commitOnMain, exportOrRepairMain } from "../support/export-hook";
import {
  createLakeFsRepository,
  type TestRepository,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("truth-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({
        Bucket: outBucket,
        Prefix: prefix,
        ContinuationToken: token,
        // A carriage return in plain XML reaches the SDK's parser as a line feed.
        EncodingType: "url",
      }),
    );
    keys.push(
      ...(page.Contents ?? []).map((o) => decodeURIComponent(o.Key!.replace(/\+/g, "%20"))),
    );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function text(key: string): Promise<string> {
  const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: key }));
  return got.Body!.transformToString("utf8");
}

async function configure(repo: TestRepository, regexes: string[]) {
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}/out`,
    exportStatusPath: `s3://${outBucket}/${repo.id}/status`,
    lastKeysInPrefixRegexp: regexes,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
}

const exportHead = (repo: TestRepository, repair: false | true | "full" = false) =>
  exportOrRepairMain(env, repo.id, repair === false ? undefined : { full: repair === "full" });

const commit = (repo: TestRepository, files: Record<string, string | null>) =>
  commitOnMain(env, repo.id, files);

/** RE2-like unanchored search, enough for the expressions below (JS and RE2 agree on them). */
function selected(dir: string, regexes: string[]): boolean {
  return regexes.some((r) => new RegExp(r, "u").test(dir));
}

/** The export path against the commit: objects, markers, manifest, status files. */
async function checkTruth(
  repo: TestRepository,
  head: string,
  regexes: string[],
  status = "exported-successfully",
) {
  const page = await env.lakefs.listObjectsPage(repo.id, head, { amount: 1000 });
  const paths = page.results.map((o) => o.path).filter((p) => !p.startsWith("_lakefs_actions/"));
  const out = `${repo.id}/out/`;
  const markers = new Set<string>();
  for (const p of paths) {
    if (selected("", regexes)) markers.add(`${out}_lakefs_success`);
    for (let i = p.indexOf("/"); i !== -1; i = p.indexOf("/", i + 1)) {
      const dir = p.slice(0, i + 1);
      if (selected(dir, regexes)) markers.add(`${out}${dir}_lakefs_success`);
    }
  }
  const expected = [...new Set([...paths.map((p) => out + p), ...markers])].sort();
  expect((await listKeys(out)).sort()).toEqual(expected);
  for (const marker of markers) expect(await text(marker), marker).toBe("");

  const base = `${repo.id}/status/${repo.id}-main-${head}`;
  expect(await text(base)).toBe(`status: ${status}, signalled_errors: 0\n`);
  const index = JSON.parse(await text(`${base}.manifest.json`)) as {
    entries: number;
    totalSize: number;
    parts: { key: string }[];
  };
  const lines: { path: string; key: string; etag: string; size: number }[] = [];
  for (const part of index.parts) {
    for (const l of (await text(part.key)).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
  }
  expect(lines.map((l) => l.path)).toEqual(paths);
  let total = 0;
  for (const l of lines) {
    const head = await env.s3.send(new HeadObjectCommand({ Bucket: outBucket, Key: l.key }));
    expect({ key: l.key, etag: l.etag, size: l.size }).toEqual({
      key: out + l.path,
      etag: head.ETag!.replace(/"/g, ""),
      size: head.ContentLength,
    });
    total += l.size;
  }
  // The Batch Operations twin: the same keys in order, each line `"bucket","url-encoded key"`,
  // every CSV file as listed (size, MD5).
  const batch = JSON.parse(await text(`${base}.manifest.batch-operations.json`)) as {
    fileSchema: string;
    files: { key: string; size: number; MD5checksum: string }[];
  };
  expect(batch.fileSchema).toBe("Bucket, Key");
  const csvKeys: string[] = [];
  for (const f of batch.files) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: f.key }));
    const gz = Buffer.from(await got.Body!.transformToByteArray());
    expect({ size: gz.length, md5: createHash("md5").update(gz).digest("hex") }).toEqual({
      size: f.size,
      md5: f.MD5checksum,
    });
    for (const row of gunzipSync(gz).toString("utf8").split("\n").filter(Boolean)) {
      const m = /^"([^"]*)","([^"]*)"$/.exec(row);
      expect(m, row).not.toBeNull();
      expect(m![1]).toBe(outBucket);
      expect(m![2]).not.toMatch(/[^A-Za-z0-9\-_.!~*'()%]/);
      csvKeys.push(decodeURIComponent(m![2]!));
    }
  }
  expect(csvKeys).toEqual(lines.map((l) => l.key));
  expect({ entries: index.entries, totalSize: index.totalSize }).toEqual({
    entries: lines.length,
    totalSize: total,
  });
  return JSON.parse(await text(`${base}.status.json`)) as {
    counts: Record<string, number>;
    mode: string;
  };
}

it("the export path, manifest and status document say what the commit holds", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = ["^z/$", "^sel\\.a\\+b\\(1\\)/$", "^m/$", "^n/$"];
  await configure(repo, regexes);
  const first = await commit(repo, {
    "z/\u{1F600}": "emoji",
    "z/\uFF5E": "wide tilde",
    "z/\uFF5E/x": "under wide tilde",
    "z/\u{1F600}/x": "under emoji",
    "sel.a+b(1)/f": "metachars",
    "selXa+b(1)/f": "not selected",
    "m/one": "1",
    "m/two": "22",
    "n/keep": "333",
    "u/_lakefs_success": "user data in an unselected directory",
  });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  const doc1 = await checkTruth(repo, first, regexes);
  expect(doc1.counts).toMatchObject({ copied: 10, deleted: 0, failed: 0, markers: 4 });

  // m/ emptied (its objects moved to n/), one emoji-ordered key gone.
  const second = await commit(repo, {
    "m/one": null,
    "m/two": null,
    "n/one": "1",
    "n/two": "22",
    "z/\uFF5E": null,
  });
  const ex2 = await exportHead(repo);
  expect(ex2).toMatchObject({ state: "exported-successfully", mode: "incremental" });
  const doc2 = await checkTruth(repo, second, regexes);
  expect(doc2.counts).toMatchObject({ copied: 2, deleted: 3, failed: 0, copiedBytes: 3 });

  // Marker expressions changed: a full export to the new selection.
  const wider = ["^z/", "^n/$", "^u/$x"];
  await configure(repo, wider);
  const third = await commit(repo, { "z/\u{1F600}": "emoji 2" });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, third, wider);
}, 120_000);

it("a partly failed export says how many operations failed, and the directories above the failure have no marker", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = [".*"];
  await configure(repo, regexes);
  const first = await commit(repo, { "a/1": "a1", "a/2": "a2", "b/1": "b1", "c/x/1": "cx" });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, first, regexes);

  const second = await commit(repo, {
    "a/3": "a3",
    "a/1": null,
    "b/1": null,
    "b2/new": "new",
    "c/x/1": "cx changed",
  });
  const out = `${repo.id}/out/`;
  // Only the copy of a/3 is refused: the delete of a/1 goes through.
  const rule = await env.s3Admin.deny({ bucket: outBucket, prefix: `${out}a/3` });
  try {
    expect((await exportHead(repo)).state).toBe("export-failed");
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
  const base = `${repo.id}/status/${repo.id}-main-${second}`;
  expect(await text(base)).toBe("status: export-failed, signalled_errors: 1\n");
  const doc = JSON.parse(await text(`${base}.status.json`)) as {
    status: string;
    signalledErrors: number;
    counts: Record<string, number>;
    errors: { path: string }[];
    manifest?: string;
  };
  expect(doc).toMatchObject({ status: "export-failed", signalledErrors: 1 });
  expect(doc.counts).toMatchObject({ copied: 2, deleted: 2, failed: 1, copiedBytes: 13 });
  expect(doc.errors.map((e) => e.path)).toEqual(["a/3"]);
  expect(doc.manifest).toBeUndefined();
  // a/ (now neither commit's: a/1 deleted, a/3 not copied) and the root above it lose the
  // markers of the first export before anything changes and get none; b/ emptied loses its
  // marker; b2/, c/ and c/x/ get theirs.
  expect((await listKeys(out)).sort()).toEqual(
    [
      "a/2",
      "b2/_lakefs_success",
      "b2/new",
      "c/_lakefs_success",
      "c/x/1",
      "c/x/_lakefs_success",
    ].map((k) => out + k),
  );

  expect((await exportHead(repo, true)).state).toBe("export-repaired");
  const repaired = await checkTruth(repo, second, regexes, "export-repaired");
  // The repair copies again every path the failed export touched that the head has (a/3,
  // b2/new, c/x/1) and deletes again the others (a/1, b/1).
  expect(repaired.counts).toMatchObject({ copied: 3, deleted: 2, failed: 0 });
}, 120_000);

it("a marker that cannot be written is a signalled error, and holds back the markers above it", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = [".*"];
  await configure(repo, regexes);
  const out = `${repo.id}/out/`;
  const head = await commit(repo, { "c/x/1": "cx", "c/y/1": "cy", "d/1": "d" });
  // PutObject only: the plan's retraction of the marker (a delete) goes through.
  const rule = await env.s3Admin.deny({
    bucket: outBucket,
    prefix: `${out}c/x/_lakefs_success`,
    access: "put",
  });
  try {
    expect((await exportHead(repo)).state).toBe("export-failed");
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
  const base = `${repo.id}/status/${repo.id}-main-${head}`;
  expect(await text(base)).toBe("status: export-failed, signalled_errors: 1\n");
  const doc = JSON.parse(await text(`${base}.status.json`)) as {
    signalledErrors: number;
    counts: Record<string, number>;
    errors: { path: string }[];
  };
  expect(doc.signalledErrors).toBe(1);
  expect(doc.counts).toMatchObject({ copied: 3, failed: 1 });
  expect((await listKeys(out)).sort()).toEqual(
    ["c/x/1", "c/y/1", "c/y/_lakefs_success", "d/1", "d/_lakefs_success"].map((k) => out + k),
  );
  expect((await exportHead(repo, true)).state).toBe("export-repaired");
  await checkTruth(repo, head, regexes, "export-repaired");
}, 120_000);

it("the status document states the commit lakeFS has, and no made-up commit when lakeFS cannot say", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await configure(repo, []);
  await env.lakefs.uploadObject(repo.id, "main", "f", { content: "f" });
  const told = await env.lakefs.commit(repo.id, "main", {
    message: "with metadata",
    metadata: { source: "job-7" },
  });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  const doc1 = JSON.parse(
    await text(`${repo.id}/status/${repo.id}-main-${told.id}.status.json`),
  ) as Record<string, unknown>;
  expect(doc1).toMatchObject({
    commitId: told.id,
    commit: {
      message: "with metadata",
      committer: told.committer,
      creationDate: new Date(told.creation_date * 1000).toISOString(),
      metadata: { source: "job-7" },
    },
  });

  // lakeFS answers 500 to every commit read while the status is written: the export itself
  // succeeded, but nothing says what the commit's message, committer, date or metadata are.
  await env.lakefs.uploadObject(repo.id, "main", "g", { content: "g" });
  const unread = await env.lakefs.commit(repo.id, "main", {
    message: "unread",
    metadata: { source: "job-8" },
  });
  env.lakefsServer.faults.add({ operation: "getCommit", status: 500, count: 1000 });
  try {
    expect((await exportHead(repo)).state).toBe("exported-successfully");
  } finally {
    env.lakefsServer.faults.clear();
  }
  const base = `${repo.id}/status/${repo.id}-main-${unread.id}`;
  expect(await text(base)).toBe("status: exported-successfully, signalled_errors: 0\n");
  const doc2 = JSON.parse(await text(`${base}.status.json`)) as Record<string, unknown>;
  // Before: { message: "", committer: "", creationDate: "1970-01-01T00:00:00.000Z", metadata: {} }.
  expect(doc2.commitId).toBe(unread.id);
  expect(doc2.commit).toBeNull();
  expect(doc2.commitUnavailable).toContain("500");
}, 120_000);

it("an export that empties the branch leaves no object and no marker, and an empty manifest", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = [".*"];
  await configure(repo, regexes);
  const first = await commit(repo, { "a/1": "1", "a/b/2": "2", _lakefs_x: "root object" });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, first, regexes);
  const second = await commit(repo, { "a/1": null, "a/b/2": null, _lakefs_x: null });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  const doc = await checkTruth(repo, second, regexes);
  expect(await listKeys(`${repo.id}/out/`)).toEqual([]);
  expect(doc.counts).toMatchObject({ copied: 0, deleted: 3, markersRemoved: 3 });
}, 120_000);

it("a marker-regex change that selects a directory with a data _lakefs_success makes it a marker", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await configure(repo, ["^v/$"]);
  const first = await commit(repo, {
    "u/_lakefs_success": "user data",
    "u/f": "f",
    "w/_lakefs_success": "only object",
    "v/g": "g",
  });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, first, ["^v/$"]);
  await configure(repo, ["^[uw]/$"]);
  const second = await commit(repo, { "u/_lakefs_success": null, "w/_lakefs_success": null });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, second, ["^[uw]/$"]);
}, 120_000);

it("repair --full brings markers back to the rules and counts only what it changed", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = ["^s/"];
  await configure(repo, regexes);
  const head = await commit(repo, { "s/1": "1", "s/t/2": "22", "s/u/3": "333", "n/4": "4444" });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, head, regexes);
  const out = `${repo.id}/out/`;
  const put = (key: string, body: string) =>
    env.s3.send(new PutObjectCommand({ Bucket: outBucket, Key: out + key, Body: body }));
  // From outside: a marker gone, one not empty, one in an unselected directory, one object
  // changed and one gone.
  await env.s3.send(
    new DeleteObjectCommand({ Bucket: outBucket, Key: `${out}s/t/_lakefs_success` }),
  );
  await put("s/u/_lakefs_success", "not empty");
  await put("n/_lakefs_success", "");
  await put("s/1", "changed");
  await env.s3.send(new DeleteObjectCommand({ Bucket: outBucket, Key: `${out}n/4` }));
  expect((await exportHead(repo, "full")).state).toBe("export-repaired");
  const doc = await checkTruth(repo, head, regexes, "export-repaired");
  expect(doc.counts).toMatchObject({ copied: 2, deleted: 1, failed: 0, copiedBytes: 5 });
}, 120_000);

it("a manifest that cannot be written leaves no success line, and the reason names the manifest", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await configure(repo, []);
  const head = await commit(repo, { "a/1": "1" });
  const base = `${repo.id}/status/${repo.id}-main-${head}`;
  const rule = await env.s3Admin.deny({ bucket: outBucket, prefix: `${base}.manifest/` });
  let ended: Record<string, unknown>;
  try {
    ended = await exportHead(repo);
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
  expect(ended.state).toBe("export-failed");
  expect(await text(base)).toBe("status: export-failed, signalled_errors: 1\n");
  expect(await listKeys(`${base}.manifest`)).toEqual([]);
  // The reason names what was refused: S3's "Access Denied" alone reads as the export path's.
  // Before: "AccessDenied: Access Denied".
  const reason = `AccessDenied: writing the manifest s3://${outBucket}/${base}.manifest.json: Access Denied`;
  expect(ended.errorMessage).toBe(reason);
  const doc = JSON.parse(await text(`${base}.status.json`)) as Record<string, unknown>;
  expect(doc).toMatchObject({ status: "export-failed", signalledErrors: 1, errorMessage: reason });
}, 120_000);

it("keys that look URL-encoded, or differ from each other only once decoded, stay apart", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const regexes = ["%", "\\+/$", " /$"];
  await configure(repo, regexes);
  const first = await commit(repo, {
    "x/a%2Fb": "literal %2F",
    "x/a/b": "slash",
    "x/a%252Fb": "literal %252F",
    "x/a+b": "plus",
    "x/a b": "space",
    "x/a%20b": "literal %20",
    "x/%": "lone percent",
    "x/%zz": "bad escape",
    "x/?a=1&b=2": "query-like",
    "x/#frag": "fragment-like",
    "x/a\u2028b": "line separator",
    "x/tab\tcr\r": "control",
    "p%2F/f": "dir with %2F",
    "p+/f": "dir with plus",
    "p /f": "dir with space",
    "x/~!*'()": "unreserved marks",
  });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, first, regexes);
  const second = await commit(repo, { "x/a%2Fb": null, "x/a+b": "plus 2", "p+/f": null });
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkTruth(repo, second, regexes);
}, 120_000);
