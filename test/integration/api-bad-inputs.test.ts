// Bad requests: each answers the right 4xx with a message naming the problem, and changes
// nothing (stored configuration, export state, GC rules and runs, started workflows). Requests
// go through the template's API Gateway: unknown routes and methods get its 403; bodies are
// checked by the handlers (the template validates parameters only), whose messages name the
// field, as do their checks of what no schema can say (namespaces, regex syntax, lakeFS state).
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { signApiRequest } from "../../cli/sigv4";
import {
  apiClient,
  FAKE_WEBHOOK_TOKEN,
  type FakeApi,
  startApiWithFakes,
} from "../support/api-harness";
import { LOCAL_SIGNING } from "../support/signed-fetch";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-bad-inputs";
const ns = `s3://lakefs-data/${repo}`;
const cfg = `/repositories/${repo}/branches/main/continuous-export`;
const rulesPath = `/repositories/${repo}/settings/gc_rules`;
const runs = `/repositories/${repo}/gc/runs`;
const ok = { exportPath: "s3://export-bucket/out" };
const rules = { default_retention_days: 14, branches: [{ branch_id: "main", retention_days: 21 }] };

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, ns, { main: "c1", other: "o1" });
  fake.lakefs.addRepository("repo-b-bad-inputs", "s3://other-data/repo-b", { main: "b1" });
  expect((await call("PUT", cfg, { ...ok, lastKeysInPrefixRegexp: ["x/"] })).status).toBe(200);
  const run = await call("POST", `/repositories/${repo}/branches/main/export-hook`);
  await fake.deps.stores.exports.completeExport(
    {
      repository: repo,
      branch: "main",
      exportId: run.body.exportId,
      commitId: "c1",
      outcome: { status: "succeeded" },
    },
    new Date().toISOString(),
  );
  expect((await call("PUT", rulesPath, rules)).status).toBe(204);
});
afterAll(() => fake.stop());

async function snapshot() {
  const s = fake.deps.stores;
  return {
    config: await s.exports.getConfig(repo, "main"),
    otherConfig: await s.exports.getConfig(repo, "other"),
    state: await s.exports.getState(repo, "main"),
    rules: await s.gc.getRules(repo),
    runs: await s.gc.listRuns(repo, { limit: 100 }),
    started: fake.workflows.started.length,
    published: fake.events.events.length,
  };
}

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  message: string | RegExp;
}

const big = {
  exportPath: "s3://export-bucket/out",
  lastKeysInPrefixRegexp: ["a".repeat(900)].concat(Array(80).fill("b".repeat(900))),
};

/** A lakeFS post-commit webhook call, and the fields of its body that name the commit. */
const webhookCall = {
  method: "POST",
  path: "/webhooks/lakefs",
  headers: { "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
};
const webhookCommit = {
  event_type: "post-commit",
  hook_id: "h1",
  repository_id: repo,
  branch_id: "main",
  commit_id: "c1",
};

const cases: Case[] = [
  {
    name: "unknown field",
    method: "PUT",
    path: cfg,
    body: { ...ok, foo: 1 },
    status: 400,
    message: 'unknown field "foo"',
  },
  {
    name: "missing exportPath",
    method: "PUT",
    path: cfg,
    body: {},
    status: 400,
    message: "exportPath: required",
  },
  {
    name: "exportPath not s3",
    method: "PUT",
    path: cfg,
    body: { exportPath: "http://x/y" },
    status: 400,
    message: "exportPath: must be s3://bucket[/prefix]",
  },
  {
    name: "exportPath without bucket",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://" },
    status: 400,
    message: "exportPath: must be s3://bucket[/prefix]",
  },
  {
    name: "exportPath bad bucket name",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://Bad_Bucket/x" },
    status: 400,
    message: "exportPath: must be s3://bucket[/prefix]",
  },
  {
    name: "exportPath not a string",
    method: "PUT",
    path: cfg,
    body: { exportPath: 42 },
    status: 400,
    message: "exportPath: must be a string s3://bucket[/prefix]",
  },
  {
    name: "exportPath empty segment",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://bucket//x" },
    status: 400,
    message: "exportPath: must not contain an empty path segment",
  },
  {
    name: "exportPath inside the namespace",
    method: "PUT",
    path: cfg,
    body: { exportPath: `${ns}/exported` },
    status: 400,
    message: `exportPath: ${ns}/exported overlaps the storage namespace ${ns} of repository "${repo}"`,
  },
  {
    name: "exportPath is the namespace's parent",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://lakefs-data" },
    status: 400,
    message: /^exportPath: s3:\/\/lakefs-data overlaps the storage namespace/,
  },
  // The old export path is left as it is: a full export around it would delete it.
  {
    name: "exportPath around the previous export path",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://export-bucket" },
    status: 400,
    message:
      /^exportPath: s3:\/\/export-bucket overlaps the previous export path s3:\/\/export-bucket\/out, which is left as it is/,
  },
  {
    name: "exportPath inside the previous export path",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://export-bucket/out/sub" },
    status: 400,
    message: /^exportPath: s3:\/\/export-bucket\/out\/sub overlaps the previous export path/,
  },
  {
    name: "exportStatusPath inside the namespace",
    method: "PUT",
    path: cfg,
    body: { ...ok, exportStatusPath: `${ns}/` },
    status: 400,
    message: /^exportStatusPath: .* overlaps the storage namespace/,
  },
  {
    name: "exportStatusPath not s3",
    method: "PUT",
    path: cfg,
    body: { ...ok, exportStatusPath: "ftp://x/y" },
    status: 400,
    message: "exportStatusPath: must be s3://bucket[/prefix]",
  },
  {
    name: "regexps not an array",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: "abc" },
    status: 400,
    message: "lastKeysInPrefixRegexp: must be an array of strings",
  },
  {
    name: "regexp not a string",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: [1] },
    status: 400,
    message: "lastKeysInPrefixRegexp[0]: must be a string",
  },
  {
    name: "regexp does not compile",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: ["ok/", "("] },
    status: 400,
    message: /^lastKeysInPrefixRegexp\[1\]: invalid regular expression "\(": .*missing closing \)/,
  },
  {
    name: "regexp not RE2 (lookahead)",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: ["(?=x)y"] },
    status: 400,
    message: /^lastKeysInPrefixRegexp\[0\]: invalid regular expression "\(\?=x\)y"/,
  },
  {
    // JSON carries it as \ud800; Go's regexp (lakeFS) refuses invalid UTF-8.
    name: "regexp with a lone surrogate",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: ["ok/", "a\ud800"] },
    status: 400,
    message:
      /^lastKeysInPrefixRegexp\[1\]: invalid regular expression "a\\ud800": must be well-formed Unicode/,
  },
  {
    name: "isContinuous not boolean",
    method: "PUT",
    path: cfg,
    body: { ...ok, isContinuous: "yes" },
    status: 400,
    message: "isContinuous: must be a boolean",
  },
  {
    name: "body not JSON",
    method: "PUT",
    path: cfg,
    body: "{",
    status: 400,
    message: "request body is not valid JSON",
  },
  {
    name: "body is an array",
    method: "PUT",
    path: cfg,
    body: "[]",
    status: 400,
    message: "request body must be a JSON object",
  },
  {
    name: "empty body",
    method: "PUT",
    path: cfg,
    body: "",
    headers: { "content-type": "application/json" },
    status: 400,
    message: "request body is required",
  },
  {
    name: "wrong content type",
    method: "PUT",
    path: cfg,
    body: JSON.stringify(ok),
    headers: { "content-type": "text/plain" },
    status: 415,
    message: 'content-type must be application/json (got "text/plain")',
  },
  {
    name: "body too large",
    method: "PUT",
    path: cfg,
    body: big,
    status: 413,
    message: "request body is larger than 65536 bytes",
  },
  {
    name: "repository missing in lakeFS",
    method: "PUT",
    path: "/repositories/no-such-repo/branches/main/continuous-export",
    body: ok,
    status: 404,
    message: 'repository "no-such-repo" not found',
  },
  {
    name: "branch missing in lakeFS",
    method: "PUT",
    path: `/repositories/${repo}/branches/nobranch/continuous-export`,
    body: ok,
    status: 404,
    message: `branch "nobranch" not found in repository "${repo}"`,
  },
  {
    name: "invalid repository id",
    method: "GET",
    path: "/repositories/Bad_Repo/branches/main/continuous-export",
    status: 400,
    message: "repository: must be a lakeFS repository id",
  },
  {
    name: "invalid branch name",
    method: "GET",
    path: `/repositories/${repo}/branches/-x/continuous-export`,
    status: 400,
    message: "branch: must be a lakeFS branch name",
  },
  {
    name: "run without configuration",
    method: "POST",
    path: `/repositories/${repo}/branches/other/export-hook`,
    status: 404,
    message: `no export configuration for lakefs://${repo}@other`,
  },
  {
    name: "repair when not failed",
    method: "POST",
    path: `/repositories/${repo}/branches/main/repair-export`,
    status: 409,
    message:
      'not failed, nothing to repair (state: exported-successfully); repair with {"full": true} reconciles the whole export path',
  },
  {
    name: "repair option not a boolean",
    method: "POST",
    path: `/repositories/${repo}/branches/main/repair-export`,
    body: { full: "yes" },
    status: 400,
    message: "full: must be a boolean",
  },
  {
    name: "exportPath in Lakeport's own work bucket",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://lakeport-work/exports/main" },
    status: 400,
    message:
      "exportPath: bucket \"lakeport-work\" is Lakeport's own work bucket (its exports' and GC runs' working files, expired by its lifecycle rules): choose another bucket",
  },
  {
    name: "exportStatusPath in Lakeport's own work bucket",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://export-bucket/out", exportStatusPath: "s3://lakeport-work/status" },
    status: 400,
    message: /^exportStatusPath: bucket "lakeport-work" is Lakeport's own work bucket/,
  },
  {
    name: "exportPath with a .. segment",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://export-bucket/a/../b" },
    status: 400,
    message: "exportPath: must not contain . or .. path segments",
  },
  {
    name: "exportPath bucket formatted as an IP address",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://10.0.0.1/x" },
    status: 400,
    message: 'exportPath: bucket "10.0.0.1" must not be formatted as an IP address',
  },
  {
    name: "exportStatusPath with a query",
    method: "PUT",
    path: cfg,
    body: { ...ok, exportStatusPath: "s3://export-bucket/s?versionId=1" },
    status: 400,
    message: /^exportStatusPath: must not contain \? or #/,
  },
  {
    name: "exportPath in another repository's storage namespace",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://other-data/repo-b/x" },
    status: 400,
    message:
      'exportPath: s3://other-data/repo-b/x overlaps the storage namespace s3://other-data/repo-b of repository "repo-b-bad-inputs"',
  },
  {
    name: "GC rules unknown field",
    method: "PUT",
    path: rulesPath,
    body: { ...rules, extra: true },
    status: 400,
    message: 'unknown field "extra"',
  },
  {
    name: "GC rules negative days",
    method: "PUT",
    path: rulesPath,
    body: { ...rules, default_retention_days: -1 },
    status: 400,
    message: "default_retention_days: must be at least 0",
  },
  {
    name: "GC rules fractional days",
    method: "PUT",
    path: rulesPath,
    body: { ...rules, default_retention_days: 1.5 },
    status: 400,
    message: "default_retention_days: must be a whole number of days",
  },
  {
    // JSON.parse reads 1e-400 as 0: every commit but the heads would expire.
    name: "GC rules days that underflow to 0",
    method: "PUT",
    path: rulesPath,
    body: '{"default_retention_days": 1e-400, "branches": []}',
    status: 400,
    message:
      "default_retention_days: the number 1e-400 is too small for a number and would read as 0",
  },
  {
    name: "GC rules branch days with more digits than a number holds",
    method: "PUT",
    path: rulesPath,
    body: '{"default_retention_days": 7, "branches": [{"branch_id": "main", "retention_days": 7.0000000000000001}]}',
    status: 400,
    message:
      "branches[0].retention_days: the number 7.0000000000000001 has more than 15 significant digits and would read as 7",
  },
  // JSON.parse keeps the last of a repeated field: which one the caller meant is not known (as
  // for a repeated query parameter), so the body is refused instead of half read.
  {
    name: "exportPath given twice",
    method: "PUT",
    path: cfg,
    body: '{"exportPath": "s3://export-bucket/a", "exportPath": "s3://export-bucket/b"}',
    status: 400,
    message: "exportPath: must be given once (the body repeats it)",
  },
  {
    name: "GC rules branch days given twice (an escaped key)",
    method: "PUT",
    path: rulesPath,
    body: '{"default_retention_days": 7, "branches": [{"branch_id": "main", "retention_days": 21, "retention\\u005fdays": 0}]}',
    status: 400,
    message: "branches[0].retention_days: must be given once (the body repeats it)",
  },
  {
    name: "GC rules too many days",
    method: "PUT",
    path: rulesPath,
    body: { ...rules, default_retention_days: 36501 },
    status: 400,
    message: "default_retention_days: must be at most 36500",
  },
  {
    name: "GC rules days as a string",
    method: "PUT",
    path: rulesPath,
    body: { default_retention_days: 1, branches: [{ branch_id: "main", retention_days: "7" }] },
    status: 400,
    message: "branches[0].retention_days: must be a whole number of days",
  },
  {
    name: "GC rules duplicate branch",
    method: "PUT",
    path: rulesPath,
    body: {
      default_retention_days: 1,
      branches: [
        { branch_id: "main", retention_days: 1 },
        { branch_id: "main", retention_days: 2 },
      ],
    },
    status: 400,
    message: 'branches[1].branch_id: duplicate branch "main"',
  },
  {
    name: "GC rules missing branches",
    method: "PUT",
    path: rulesPath,
    body: { default_retention_days: 1 },
    status: 400,
    message: "branches: required",
  },
  {
    name: "GC rules unknown field in a branch",
    method: "PUT",
    path: rulesPath,
    body: { default_retention_days: 1, branches: [{ branch_id: "main", retention_days: 1, x: 1 }] },
    status: 400,
    message: 'unknown field "branches[0].x"',
  },
  {
    name: "GC rules for a missing repository",
    method: "PUT",
    path: "/repositories/no-such-repo/settings/gc_rules",
    body: rules,
    status: 404,
    message: 'repository "no-such-repo" not found',
  },
  {
    name: "GC run neither mark nor sweep",
    method: "POST",
    path: runs,
    body: { do_mark: false, do_sweep: false },
    status: 400,
    message: "do_mark/do_sweep: at least one must be true",
  },
  {
    name: "GC sweep-only without mark id",
    method: "POST",
    path: runs,
    body: { do_mark: false },
    status: 400,
    message: "mark_id: required for a sweep-only run",
  },
  {
    name: "GC run mode and do_mark",
    method: "POST",
    path: runs,
    body: { mode: "mark-only", do_mark: true },
    status: 400,
    message: "mode: give either mode or do_mark/do_sweep, not both",
  },
  {
    name: "GC run unknown mode",
    method: "POST",
    path: runs,
    body: { mode: "bogus" },
    status: 400,
    message: "mode: must be one of mark-and-sweep, mark-only, sweep-only",
  },
  {
    name: "GC run bad mark id",
    method: "POST",
    path: runs,
    body: { mode: "mark-only", mark_id: "bad id!" },
    status: 400,
    message: "mark_id: must be 1 to 64 characters of A-Z a-z 0-9 - _",
  },
  {
    name: "GC mark and sweep with a mark id",
    method: "POST",
    path: runs,
    body: { mark_id: "m1" },
    status: 400,
    message: "mark_id: only for mark-only or sweep-only runs",
  },
  {
    name: "GC sweep of an unknown mark",
    method: "POST",
    path: runs,
    body: { do_mark: false, mark_id: "unknown" },
    status: 404,
    message: `mark id "unknown" not found in "${repo}"`,
  },
  {
    name: "GC runs bad page size",
    method: "GET",
    path: `${runs}?amount=0`,
    status: 400,
    message: "amount: must be a whole number from 1 to 1000",
  },
  // API Gateway hands the function the last of repeated values: which one the caller meant
  // is not known.
  {
    name: "GC runs page size given twice",
    method: "GET",
    path: `${runs}?amount=5&amount=1000`,
    status: 400,
    message: "amount: must be given once (got 2 values)",
  },
  {
    name: "GC runs page start given twice",
    method: "GET",
    path: `${runs}?after=a&amount=5&after=b`,
    status: 400,
    message: "after: must be given once (got 2 values)",
  },
  // A query parameter no route takes is refused, not ignored: `?dryRun=true` stored the
  // configuration, `?full=true` started a repair that was not full.
  {
    name: "export configuration with a query parameter",
    method: "PUT",
    path: `${cfg}?dryRun=true`,
    body: ok,
    status: 400,
    message: "dryRun: not a query parameter of this route (it takes none)",
  },
  {
    name: "GC runs with an unknown query parameter",
    method: "GET",
    path: `${runs}?limit=5`,
    status: 400,
    message: "limit: not a query parameter of this route (it takes amount, after)",
  },
  {
    name: "exportPath with a trailing space",
    method: "PUT",
    path: cfg,
    body: { exportPath: "s3://export-bucket/out " },
    status: 400,
    message: 'exportPath: path segment "out " must not begin or end with white space',
  },
  {
    name: "exportStatusPath with a blank segment",
    method: "PUT",
    path: cfg,
    body: { ...ok, exportStatusPath: "s3://export-bucket/ /status" },
    status: 400,
    message: 'exportStatusPath: path segment " " must not begin or end with white space',
  },
  {
    name: "exportPath longer than an S3 key",
    method: "PUT",
    path: cfg,
    body: { exportPath: `s3://export-bucket/${"k".repeat(1023)}` },
    status: 400,
    message:
      "exportPath: key prefix must be at most 1022 bytes (S3 keys are at most 1024 bytes and an object's is prefix/name; got 1023)",
  },
  {
    // 1 000 bytes is a valid prefix, but the status files' keys under it (the commit's
    // `<repo>-<branch>-<commit>.manifest/part-<id>.csv.gz` the longest) would pass 1 024.
    name: "exportStatusPath under which the status files' keys pass S3's limit",
    method: "PUT",
    path: cfg,
    body: { ...ok, exportStatusPath: `s3://export-bucket/${"s".repeat(1000)}` },
    status: 400,
    message:
      /^exportStatusPath: the status files of lakefs:\/\/repo-bad-inputs@main would have keys of up to 1140 bytes under this prefix \(S3 keys are at most 1024\): use a prefix at least 116 bytes shorter$/,
  },
  {
    name: "exportPath whose root success marker's key passes S3's limit",
    method: "PUT",
    path: cfg,
    body: { exportPath: `s3://export-bucket/${"k".repeat(1010)}`, lastKeysInPrefixRegexp: [".*"] },
    status: 400,
    message:
      /^exportPath: a lastKeysInPrefixRegexp matches the empty string, so the export root gets a success marker, whose key would be 1026 bytes/,
  },
  {
    name: "exportPath not well-formed Unicode",
    method: "PUT",
    path: cfg,
    body: '{"exportPath": "s3://export-bucket/\\ud800"}',
    status: 400,
    message: "exportPath: must be well-formed Unicode (S3 keys are UTF-8)",
  },
  {
    name: "GC rules branch id lakeFS refuses",
    method: "PUT",
    path: rulesPath,
    body: { default_retention_days: 1, branches: [{ branch_id: "../x", retention_days: 1 }] },
    status: 400,
    message: "branches[0].branch_id: must be a lakeFS branch name",
  },
  {
    name: "GC rules branch id too long",
    method: "PUT",
    path: rulesPath,
    body: {
      default_retention_days: 1,
      branches: [{ branch_id: "b".repeat(300), retention_days: 1 }],
    },
    status: 400,
    message: "branches[0].branch_id: must be a lakeFS branch name",
  },
  // A limit's message says the limit, not the type check that passed.
  {
    name: "regexp longer than 1000 characters",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: ["a".repeat(1001)] },
    status: 400,
    message: "lastKeysInPrefixRegexp[0]: must be at most 1000 characters",
  },
  // Counted repetitions are copies: \pL{1000} eleven times is 11 000 instructions, which took
  // the API seconds and hundreds of MiB to compile and try (a 64 KiB body of them, minutes and
  // more memory than the function has), and every export as much again per directory.
  {
    name: "regexps that compile to more than the instruction budget",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: ["ok/", "\\pL{1000}".repeat(11)] },
    status: 400,
    message:
      /^lastKeysInPrefixRegexp\[1\]: invalid regular expression ".*": too complex: the expressions compile to \d+ RE2 instructions up to this one, more than 10000 \(x\{1000\} counts as 1000 copies of x\)$/,
  },
  {
    name: "more than 100 regexps",
    method: "PUT",
    path: cfg,
    body: { ...ok, lastKeysInPrefixRegexp: Array(101).fill("a/") },
    status: 400,
    message: "lastKeysInPrefixRegexp: must have at most 100 expressions",
  },
  {
    name: "GC rules with more than 1000 branch rules",
    method: "PUT",
    path: rulesPath,
    body: {
      default_retention_days: 1,
      branches: Array.from({ length: 1001 }, (_, i) => ({ branch_id: `b${i}`, retention_days: 1 })),
    },
    status: 400,
    message: "branches: must have at most 1000 branch rules",
  },
  {
    name: "webhook with an empty hook_id",
    method: "POST",
    path: "/webhooks/lakefs",
    headers: { "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
    body: {
      event_type: "post-commit",
      hook_id: "",
      repository_id: repo,
      branch_id: "main",
      commit_id: "c1",
    },
    status: 400,
    message: "hook_id: must not be empty",
  },
  // Every message says what the field must be, in the API's words (never the schema
  // library's "Invalid input: expected ..., received ...").
  {
    name: "GC rules branch rule not an object",
    method: "PUT",
    path: rulesPath,
    body: { default_retention_days: 1, branches: [null] },
    status: 400,
    message: "branches[0]: must be an object with branch_id and retention_days",
  },
  {
    name: "webhook repository_id not a string",
    method: "POST",
    path: "/webhooks/lakefs",
    headers: { "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
    body: {
      event_type: "post-commit",
      hook_id: "h1",
      repository_id: 7,
      branch_id: "main",
      commit_id: "c1",
    },
    status: 400,
    message: "repository_id: must be a lakeFS repository id",
  },
  {
    name: "webhook commit_metadata value not a string",
    ...webhookCall,
    body: {
      ...webhookCommit,
      commit_metadata: { a: 1 },
    },
    status: 400,
    message: "commit_metadata.a: must be a string",
  },
  {
    name: "webhook event_time not a string",
    ...webhookCall,
    body: {
      ...webhookCommit,
      event_time: 5,
    },
    status: 400,
    message: "event_time: must be a string",
  },
  // The webhook passes lakeFS's fields through to the bus: one nested thousands deep overflowed
  // the stack where the event is measured, answered as the bus failing (502).
  {
    name: "webhook payload nested too deep",
    method: "POST",
    path: "/webhooks/lakefs",
    headers: { "x-lakeport-token": FAKE_WEBHOOK_TOKEN },
    body: `{"event_type":"post-commit","hook_id":"h1","repository_id":"${repo}","branch_id":"main","commit_id":"c1","extra":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
    status: 400,
    message: "request body: must not nest arrays and objects more than 64 deep",
  },
  {
    name: "export-hook with a repair option",
    method: "POST",
    path: `/repositories/${repo}/branches/main/export-hook`,
    body: { full: true },
    status: 400,
    message: 'unknown field "full"',
  },
  // A delete takes no options: one sent (meant to keep or force something) is refused, not
  // ignored while the delete goes ahead.
  {
    name: "export configuration delete with an option",
    method: "DELETE",
    path: cfg,
    body: { force: true },
    status: 400,
    message: 'unknown field "force"',
  },
  {
    name: "GC rules delete with an option",
    method: "DELETE",
    path: rulesPath,
    body: { branches: ["main"] },
    status: 400,
    message: 'unknown field "branches"',
  },
  {
    name: "unknown route",
    method: "GET",
    path: `/repositories/${repo}/nothing`,
    status: 403,
    message: "Missing Authentication Token",
  },
  {
    name: "method not allowed",
    method: "PATCH",
    path: cfg,
    body: ok,
    status: 403,
    message: "Missing Authentication Token",
  },
];

test("a body that is not UTF-8 (a Latin-1 path) is refused, not stored with U+FFFD in place of its bytes", async () => {
  const before = await snapshot();
  const url = new URL(`${fake.base}${cfg}`);
  const body = Buffer.concat([
    Buffer.from('{"exportPath": "s3://export-bucket/caf'),
    Buffer.from([0xe9]), // é in Latin-1
    Buffer.from('"}'),
  ]);
  const headers = await signApiRequest({
    method: "PUT",
    url,
    headers: { "content-type": "application/json" },
    // The signer hashes bytes as they are (the type says string: the CLI sends text).
    body: body as unknown as string,
    credentials: LOCAL_SIGNING.credentials,
    region: LOCAL_SIGNING.region,
  });
  const r = await fetch(url, { method: "PUT", headers, body });
  expect(r.status).toBe(400);
  expect(await r.json()).toEqual({
    message: expect.stringMatching(/^exportPath: must not contain U\+FFFD/),
  });
  expect(await snapshot()).toEqual(before);
});

test("at least 30 bad inputs are covered", () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
});

test.each(cases)("$name -> $status", async (c) => {
  const before = await snapshot();
  const r = await call(c.method, c.path, c.body, c.headers);
  expect(r.status).toBe(c.status);
  if (typeof c.message === "string") expect(r.body).toEqual({ message: c.message });
  else {
    expect(Object.keys(r.body)).toEqual(["message"]);
    expect(r.body.message).toMatch(c.message);
  }
  expect(await snapshot()).toEqual(before);
});
