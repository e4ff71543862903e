// Object keys and paths at the edges, through the real app (test/support/lakeport-env.ts):
// a commit holding an object where a selected directory's success marker goes, keys longer
// than S3's 1 024 bytes once under the export prefix, and keys needing care (spaces, '+',
// '%', '#', '?', NFC and NFD forms, emoji, '\', quotes, commas, newlines, case, a directory
// object `dir/` beside `dir/file`, a file `a` beside `a/b`) exported, changed incrementally
// and repaired with --full, the export path checked against the commit each time.
import {
  DeleteObjectCommand,
  GetObjectCommand,
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

const outBucket = uniqueName("keys-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

/** Every key under `prefix` with its body. */
async function exportedBodies(prefix: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await env.s3.send(
      new ListObjectsV2Command({ Bucket: outBucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: o.Key! }));
      found.set(o.Key!, await got.Body!.transformToString("utf8"));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

async function configure(repo: TestRepository, prefix: string, regexes: string[]) {
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${prefix}`,
    exportStatusPath: `s3://${outBucket}/${prefix}-status`,
    lastKeysInPrefixRegexp: regexes,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
}

/** Starts an export (or a repair) of the head and waits for its end. */
const exportHead = (repo: TestRepository, repair?: { full?: boolean }) =>
  exportOrRepairMain(env, repo.id, repair);

const commit = (repo: TestRepository, files: Record<string, string | null>) =>
  commitOnMain(env, repo.id, files);

it("an object of the commit where a selected directory's marker goes fails the export, naming it", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const head = await commit(repo, {
    "x/_lakefs_success": "user data",
    "x/data": "d",
    "y/_lakefs_success": "not a marker: y/ is not selected",
  });
  await configure(repo, "col", ["^x/$"]);
  const failed = await exportHead(repo);
  // Before: exported-successfully, with the user's object overwritten by an empty marker.
  expect(failed.state).toBe("export-failed");
  expect(failed.errorMessage).toContain("x/_lakefs_success");
  expect(failed.errorMessage).toContain("MarkerCollision");
  const status = await env.s3.send(
    new GetObjectCommand({ Bucket: outBucket, Key: `col-status/${repo.id}-main-${head}` }),
  );
  expect(await status.Body!.transformToString()).toMatch(/^status: export-failed, /);
  expect((await exportedBodies("col/")).has("col/x/_lakefs_success")).toBe(false);

  // Moved out of the way: the repair exports the commit, the marker is the export's own.
  await commit(repo, { "x/_lakefs_success": null, "x/user_success": "user data" });
  expect((await exportHead(repo, {})).state).toBe("export-repaired");
  expect(Object.fromEntries(await exportedBodies("col/"))).toEqual({
    "col/x/_lakefs_success": "",
    "col/x/data": "d",
    "col/x/user_success": "user data",
    "col/y/_lakefs_success": "not a marker: y/ is not selected",
  });
}, 60_000);

it("a key longer than S3's 1 024 bytes under the export prefix fails the export, naming it", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  // 5 segments of 205 bytes: the object fits in lakeFS, `long/<path>` does not fit in S3.
  const long = `${Array.from({ length: 5 }, (_, i) => `${i}`.repeat(205)).join("/")}/f.txt`;
  await commit(repo, { [long]: "L", "ok.txt": "ok" });
  await configure(repo, "long", []);
  const head = (await env.lakefs.getBranch(repo.id, "main")).commit_id;
  const failed = await exportHead(repo);
  // Before: exported-successfully here, while S3 answers KeyTooLongError.
  expect(failed.state).toBe("export-failed");
  // The reason (cut at 1 000 characters) shows both ends of the path and the code; the
  // status document has it whole.
  expect(failed.errorMessage).toContain(long.slice(0, 100));
  expect(failed.errorMessage).toContain(long.slice(-100));
  expect(failed.errorMessage).toContain(
    "KeyTooLong: under the export prefix its key is 1040 bytes",
  );
  const doc = await env.s3.send(
    new GetObjectCommand({
      Bucket: outBucket,
      Key: `long-status/${repo.id}-main-${head}.status.json`,
    }),
  );
  expect(JSON.parse(await doc.Body!.transformToString()).errors).toEqual([
    expect.objectContaining({ path: long, code: "KeyTooLong" }),
  ]);

  await commit(repo, { [long]: null });
  expect((await exportHead(repo, {})).state).toBe("export-repaired");
  expect(Object.fromEntries(await exportedBodies("long/"))).toEqual({ "long/ok.txt": "ok" });
}, 60_000);

it("a selected directory whose marker key would pass 1 024 bytes fails the export, naming it", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  // `lm/<dir>f` is 1 019 bytes, `lm/<dir>_lakefs_success` 1 033.
  const dir = `${Array.from({ length: 5 }, (_, i) => `${i}`.repeat(202)).join("/")}/`;
  await commit(repo, { [`${dir}f`]: "F" });
  await configure(repo, "lm", ["4/$"]);
  const failed = await exportHead(repo);
  // Before: exported-successfully here, while S3 answers KeyTooLongError for the marker.
  expect(failed.state).toBe("export-failed");
  expect(failed.errorMessage).toContain("_lakefs_success: KeyTooLong: under the export prefix");
  expect(failed.errorMessage).toContain(dir.slice(0, 100));
  expect([...(await exportedBodies("lm/")).keys()]).toEqual([`lm/${dir}f`]);
}, 60_000);

const AWKWARD: Record<string, string> = {
  "sp ace/a b.txt": "space",
  "plus+/a+b": "plus",
  "pct%/100%25.txt": "percent",
  "hash#/a#b": "hash",
  "q?/a?b": "question",
  "nfc/\u00e9.txt": "NFC",
  "nfc/e\u0301.txt": "NFD",
  "emoji/\u{1F600}.txt": "emoji",
  "back\\slash/a\\b": "backslash",
  'q"uote,comma/new\nline\ttab.txt': "quote comma newline",
  "Case/A": "upper",
  "case/a": "lower",
  "dir/": "",
  "dir/file": "file in dir",
  a: "file a",
  "a/b": "file under a",
  "_lakefs_actionsX/f": "not actions",
  "deep/_lakefs_actions/f": "not root actions",
};

/** The export path promised for the head: its objects, and a marker in each of their directories. */
async function checkExportMatchesHead(repo: TestRepository, prefix: string) {
  const expected: Record<string, string> = { [`${prefix}/_lakefs_success`]: "" };
  const page = await env.lakefs.listObjectsPage(repo.id, "main", { amount: 1000 });
  for (const o of page.results) {
    if (o.path.startsWith("_lakefs_actions/")) continue;
    const got = await env.lakefs.getObject(repo.id, "main", o.path);
    expected[`${prefix}/${o.path}`] = Buffer.from(got.body).toString("utf8");
    for (let i = o.path.indexOf("/"); i !== -1; i = o.path.indexOf("/", i + 1)) {
      expected[`${prefix}/${o.path.slice(0, i + 1)}_lakefs_success`] = "";
    }
  }
  expect(Object.fromEntries(await exportedBodies(`${prefix}/`))).toEqual(expected);
}

it("keys needing care are exported, changed incrementally and repaired with --full as they are", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await commit(repo, AWKWARD);
  await configure(repo, "awk", [".*"]);
  expect((await exportHead(repo)).state).toBe("exported-successfully");
  await checkExportMatchesHead(repo, "awk");

  // The directory object goes while dir/file stays, the file a while a/b stays, the NFD name
  // moves, emoji/ is emptied (its marker goes), a '+' key changes.
  const head = await commit(repo, {
    "dir/": null,
    a: null,
    "nfc/e\u0301.txt": null,
    "nfc2/e\u0301.txt": "NFD moved",
    "emoji/\u{1F600}.txt": null,
    "plus+/a+b": "plus changed",
  });
  const second = await exportHead(repo);
  expect(second).toMatchObject({ state: "exported-successfully", mode: "incremental" });
  await checkExportMatchesHead(repo, "awk");
  const index = JSON.parse(
    await (
      await env.s3.send(
        new GetObjectCommand({
          Bucket: outBucket,
          Key: `awk-status/${repo.id}-main-${head}.manifest.json`,
        }),
      )
    ).Body!.transformToString(),
  ) as { parts: { key: string }[] };
  const listed: string[] = [];
  for (const part of index.parts) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: part.key }));
    const lines = (await got.Body!.transformToString()).split("\n").filter(Boolean);
    listed.push(...lines.map((l) => (JSON.parse(l) as { key: string }).key));
  }
  const objects = [...(await exportedBodies("awk/")).keys()].filter(
    (k) => !k.endsWith("/_lakefs_success"),
  );
  expect(listed.sort()).toEqual(objects.sort());

  // Damaged from outside: one object gone, one overwritten, one extra; --full brings it back.
  await env.s3.send(new DeleteObjectCommand({ Bucket: outBucket, Key: "awk/sp ace/a b.txt" }));
  await env.s3.send(new PutObjectCommand({ Bucket: outBucket, Key: "awk/Case/A", Body: "x" }));
  await env.s3.send(new PutObjectCommand({ Bucket: outBucket, Key: "awk/extra?#+", Body: "x" }));
  expect((await exportHead(repo, { full: true })).state).toBe("export-repaired");
  await checkExportMatchesHead(repo, "awk");
}, 60_000);
