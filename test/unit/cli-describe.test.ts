// What the CLI makes of the API's answers: branch URIs in both lakectl forms, the progress
// sample of a running export (from its recorded plan and copy counts), the final counts, GC
// rules as lakectl prints them.
import { expect, test } from "vitest";
import {
  describeExport,
  describeExportConfiguration,
  describeGcRules,
  exportFinalCounts,
  exportSample,
} from "../../cli/describe";
import { parseLakeFsUri, UsageError } from "../../cli/endpoint";

test("branch URIs: lakefs://REPO/BRANCH and lakefs://REPO@BRANCH; repositories lakefs://REPO", () => {
  for (const uri of ["lakefs://repo/main", "lakefs://repo@main", "lakefs://repo/main/"]) {
    expect(parseLakeFsUri(uri, "branch")).toEqual({ repository: "repo", branch: "main" });
  }
  expect(parseLakeFsUri("lakefs://repo", "repository")).toEqual({ repository: "repo", branch: "" });
  expect(parseLakeFsUri("lakefs://repo/", "repository").repository).toBe("repo");
  const refused: [string, "branch" | "repository", RegExp][] = [
    ["lakefs://repo", "branch", /expected lakefs:\/\/REPO\/BRANCH \(or lakefs:\/\/REPO@BRANCH\)/],
    ["lakefs://repo/main", "repository", /expected lakefs:\/\/REPO \(no branch\)/],
    ["lakefs://repo/main/dir/file", "branch", /a branch takes no path/],
    ["lakefs://repo@main/x", "branch", /a branch takes no path/],
    ["s3://repo/main", "branch", /not a lakefs:\/\/ branch URI/],
    ["lakefs://repo@a@b", "branch", /not a lakefs:\/\/ branch URI/],
  ];
  for (const [uri, want, message] of refused) {
    expect(() => parseLakeFsUri(uri, want), uri).toThrow(UsageError);
    expect(() => parseLakeFsUri(uri, want), uri).toThrow(message);
  }
});

test("names lakeFS refuses are usage errors naming them, never requests (`.` and `..` would be resolved away by the URL)", () => {
  const refused: [string, "branch" | "repository", string][] = [
    ["lakefs://repo/..", "branch", 'branch ".." is not a lakeFS branch name'],
    ["lakefs://repo@.", "branch", 'branch "." is not a lakeFS branch name'],
    ["lakefs://../main", "branch", 'repository ".." is not a lakeFS repository id'],
    ["lakefs://.", "repository", 'repository "." is not a lakeFS repository id'],
    ["lakefs://Repo", "repository", 'repository "Repo" is not a lakeFS repository id'],
    ["lakefs://repo/ma in", "branch", 'branch "ma in" is not a lakeFS branch name'],
  ];
  for (const [uri, want, message] of refused) {
    expect(() => parseLakeFsUri(uri, want), uri).toThrow(UsageError);
    expect(() => parseLakeFsUri(uri, want), uri).toThrow(`"${uri}": ${message}`);
  }
  expect(parseLakeFsUri("lakefs://r-1/feature_x-2", "branch")).toEqual({
    repository: "r-1",
    branch: "feature_x-2",
  });
});

const planned = { copies: 900, deletes: 100, copyBytes: 9000, shards: 2 };
const status = (progress: unknown, extra: object = {}) => ({
  state: "in-progress",
  exportId: "e1",
  startedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:03:02.000Z",
  progress,
  ...extra,
});
const done = (shards: number, copied: number, deleted: number, failed: number, bytes: number) => ({
  shards,
  copied,
  deleted,
  failed,
  copiedBytes: bytes,
});

test("a running export's sample: starting, planning, copying, then markers and status", () => {
  expect(exportSample(status(null))).toEqual({ phase: "starting" });
  expect(
    exportSample(status({ planDone: false, planned, done: done(0, 0, 0, 0, 0), updatedAt: "" })),
  ).toEqual({
    phase: "planning",
    objects: { done: 1000 },
    bytes: { done: 9000 },
    detail: "planned so far",
  });
  expect(
    exportSample(
      status({ planDone: true, planned, done: done(1, 400, 50, 2, 4000), updatedAt: "" }),
    ),
  ).toEqual({
    phase: "copying",
    objects: { done: 452, total: 1000 },
    bytes: { done: 4000, total: 9000 },
    failed: 2,
  });
  // Every shard done; a retried batch counted twice never shows more than the plan.
  expect(
    exportSample(
      status({ planDone: true, planned, done: done(3, 1350, 100, 0, 13_500), updatedAt: "" }),
    ),
  ).toMatchObject({
    phase: "writing markers and status",
    objects: { done: 1000, total: 1000 },
    bytes: { done: 9000, total: 9000 },
  });
});

test("an ended export shows its counts and how long it took", () => {
  const ended = status(
    { planDone: true, planned, done: done(2, 900, 100, 0, 9000), updatedAt: "" },
    { state: "exported-successfully", currentRef: "c1", lastExportedCommit: "c1" },
  );
  expect(exportFinalCounts(ended)).toEqual({
    copied: 900,
    bytes: 9000,
    deleted: 100,
    failed: 0,
    durationMs: 182_000,
  });
  expect(describeExport(ended)).toContain(
    "counts:               900 copied (8.79 KiB), 100 deleted, 0 failed in 3m02s",
  );
  expect(describeExport(status(null, { state: "exported-successfully" }))).not.toContain("counts:");
});

test("export status shows the configuration's version and the version last exported (README: configuration changes)", () => {
  const pending = status(null, {
    state: "exported-successfully",
    configVersion: 3,
    exportedConfigVersion: 2,
  });
  expect(describeExport(pending)).toContain(
    "configuration:        version 3, last exported with version 2",
  );
  const never = status(null, {
    state: "never-exported",
    configVersion: 1,
    exportedConfigVersion: null,
  });
  expect(describeExport(never).split("\n")).toContain("configuration:        version 1");
});

test("GC rules read as lakectl prints them", () => {
  expect(
    describeGcRules({
      default_retention_days: 14,
      branches: [
        { branch_id: "main", retention_days: 21 },
        { branch_id: "dev", retention_days: 7 },
      ],
    }),
  ).toBe(
    [
      "Default Retention Days: 14",
      "Branch Rules:",
      "  - Branch: main",
      "    Retention Days: 21",
      "  - Branch: dev",
      "    Retention Days: 7",
    ].join("\n"),
  );
  expect(describeGcRules({ default_retention_days: 3, branches: [] })).toBe(
    "Default Retention Days: 3\nBranch Rules: -",
  );
});

test("export get shows the empty marker expression (every directory) apart from none", () => {
  const c = { exportPath: "s3://b/x", lastKeysInPrefixRegexp: [], isContinuous: false };
  expect(describeExportConfiguration(c)).toContain("prefix regexes:     -\n");
  expect(describeExportConfiguration({ ...c, lastKeysInPrefixRegexp: [""] })).toContain(
    'prefix regexes:     ""\n',
  );
  expect(describeExportConfiguration({ ...c, lastKeysInPrefixRegexp: ["a/", ""] })).toContain(
    'prefix regexes:     a/, ""\n',
  );
});
