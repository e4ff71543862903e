import { describe, expect, it } from "vitest";
import {
  addShardResult,
  emptyTotals,
  failureSummary,
  parseShardResult,
} from "../../lambdas/export/domain/results";
import {
  buildStatusDocument,
  decideExportStatus,
  formatStatusLine,
  parseStatusLine,
  statusKeys,
} from "../../lambdas/export/domain/status";
import { parseTaskLine, parseTaskShard } from "../../lambdas/export/domain/tasks";
import { exportWorkKeys, shardIndexOfKey } from "../../lambdas/export/domain/work-layout";

describe("status line", () => {
  it("is exactly one line ending in a newline, as lakeFS writes it", () => {
    expect(formatStatusLine("exported-successfully", 0)).toBe(
      "status: exported-successfully, signalled_errors: 0\n",
    );
    expect(formatStatusLine("export-failed", 12)).toBe(
      "status: export-failed, signalled_errors: 12\n",
    );
    expect(formatStatusLine("export-repaired", 0).split("\n")).toHaveLength(2);
    expect(() => formatStatusLine("export-failed", -1)).toThrow(/signalled_errors/);
  });

  it("round-trips through parseStatusLine", () => {
    expect(parseStatusLine("status: export-repaired, signalled_errors: 0\n")).toEqual({
      status: "export-repaired",
      signalledErrors: 0,
    });
    expect(() => parseStatusLine("status: done, signalled_errors: 0\n")).toThrow(
      /not a status line/,
    );
  });

  it("lives at <statusPrefix>/<REPO>-<BRANCH>-<COMMIT> with its document and manifest beside it", () => {
    const k = statusKeys("status/x", "repo", "main", "c0ffee");
    expect(k.statusLine).toBe("status/x/repo-main-c0ffee");
    expect(k.statusDocument).toBe("status/x/repo-main-c0ffee.status.json");
    expect(k.manifestIndex).toBe("status/x/repo-main-c0ffee.manifest.json");
    expect(k.manifestPart("ab12")).toBe("status/x/repo-main-c0ffee.manifest/part-ab12.jsonl");
    expect(k.batchOperationsManifest).toBe(
      "status/x/repo-main-c0ffee.manifest.batch-operations.json",
    );
    expect(statusKeys("", "r", "b", "c").statusLine).toBe("r-b-c");
  });
});

describe("which status", () => {
  it.each([
    [{ failedOperations: 0, repaired: false }, "exported-successfully", 0],
    [{ failedOperations: 0, repaired: true }, "export-repaired", 0],
    [{ failedOperations: 3, repaired: false }, "export-failed", 3],
    [{ failedOperations: 3, repaired: true }, "export-failed", 3],
    [{ failedOperations: 0, repaired: false, fatalError: "AccessDenied" }, "export-failed", 1],
    [{ failedOperations: 2, repaired: true, fatalError: "boom" }, "export-failed", 3],
  ])("%j -> %s (%d)", (input, status, errors) => {
    expect(decideExportStatus(input)).toEqual({ status, signalledErrors: errors });
  });
});

describe("status document", () => {
  it("carries the commit, times, counts, a bounded error sample and the status", () => {
    const errors = Array.from({ length: 150 }, (_, i) => ({
      path: `p${i}`,
      code: "AccessDenied",
      message: "no",
    }));
    const doc = buildStatusDocument({
      repository: "repo",
      branch: "main",
      exportId: "exp-1",
      fromCommit: "aaa",
      commit: {
        id: "bbb",
        message: "add data",
        committer: "ann",
        creation_date: 1_700_000_000,
        metadata: { k: "v" },
      },
      repaired: false,
      startedAt: new Date("2026-11-23T01:00:00Z"),
      finishedAt: new Date("2026-11-23T01:00:05Z"),
      counts: { copied: 10, deleted: 2, failed: 150, markers: 1, copiedBytes: 1234 },
      errors,
      manifestKey: "s/repo-main-bbb.manifest.json",
    });
    expect(doc).toMatchObject({
      version: 1,
      commitId: "bbb",
      fromCommit: "aaa",
      commit: {
        message: "add data",
        committer: "ann",
        creationDate: "2023-11-14T22:13:20.000Z",
        metadata: { k: "v" },
      },
      status: "export-failed",
      signalledErrors: 150,
      startedAt: "2026-11-23T01:00:00.000Z",
      finishedAt: "2026-11-23T01:00:05.000Z",
      counts: { copied: 10, deleted: 2, failed: 150, markers: 1, copiedBytes: 1234 },
      manifest: "s/repo-main-bbb.manifest.json",
    });
    expect(doc.errors).toHaveLength(100);
    expect(doc).not.toHaveProperty("errorMessage");
    expect(doc).not.toHaveProperty("commitUnavailable");
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("says the commit is unknown when lakeFS could not describe it, rather than describe an empty one", () => {
    const doc = buildStatusDocument({
      repository: "repo",
      branch: "main",
      exportId: "exp-1",
      fromCommit: null,
      commit: { id: "bbb", unavailable: "lakeFS could not be read: 500" },
      repaired: false,
      startedAt: new Date("2026-11-23T01:00:00Z"),
      finishedAt: new Date("2026-11-23T01:00:05Z"),
      counts: { copied: 1, deleted: 0, failed: 0, markers: 0, copiedBytes: 1 },
      errors: [],
    });
    expect(doc).toMatchObject({
      commitId: "bbb",
      commit: null,
      commitUnavailable: "lakeFS could not be read: 500",
      status: "exported-successfully",
    });
  });
});

describe("shard results", () => {
  it("add up, keeping a bounded sample of failures", () => {
    let t = emptyTotals();
    for (let s = 0; s < 3; s++) {
      t = addShardResult(
        t,
        parseShardResult(
          JSON.stringify({
            version: 1,
            shard: s,
            copied: 5,
            deleted: 1,
            copiedBytes: 100,
            failed: [{ path: `f${s}`, code: "NoSuchKey", message: "gone" }],
          }),
        ),
        2,
      );
    }
    expect(t).toEqual({
      shards: 3,
      copied: 15,
      deleted: 3,
      copiedBytes: 300,
      failed: 3,
      errorSamples: [
        { path: "f0", code: "NoSuchKey", message: "gone" },
        { path: "f1", code: "NoSuchKey", message: "gone" },
      ],
    });
    expect(failureSummary(t)).toBe("3 operations failed (first: f0: NoSuchKey: gone)");
    expect(failureSummary(emptyTotals())).toBeUndefined();
    expect(() => parseShardResult('{"version":1}')).toThrow(/shard result/);
  });
});

describe("work bucket layout and task lines", () => {
  it("keeps an export's files under exports/<id>/ with ordered indexes", () => {
    const k = exportWorkKeys("repo-main-abc-1");
    expect(k.taskShard(7)).toBe("exports/repo-main-abc-1/tasks/shard-000007.jsonl");
    expect(k.shardResult(7)).toBe("exports/repo-main-abc-1/results/shard-000007.json");
    expect(k.markerSummary(7)).toBe("exports/repo-main-abc-1/markers/summary/shard-000007.jsonl");
    expect(k.markerLevelPart(3, 2)).toBe(
      "exports/repo-main-abc-1/markers/levels/depth-0003/part-000002.json",
    );
    expect(shardIndexOfKey(k.taskShard(123))).toBe(123);
    expect(() => exportWorkKeys("../x")).toThrow(/exportId/);
  });

  it("parses task lines, naming the bad field", () => {
    const body = [
      '{"op":"copy","path":"a","sourceAddress":"s3://b/k","destKey":"p/a","size":1,"etag":"e"}',
      '{"op":"delete","path":"b","destKey":"p/b"}',
      "",
    ].join("\n");
    expect(parseTaskShard(body).map((t) => t.op)).toEqual(["copy", "delete"]);
    expect(() =>
      parseTaskLine(
        '{"op":"copy","path":"a","sourceAddress":"http://x","destKey":"k","etag":"e"}',
        4,
      ),
    ).toThrow(/task line 4: sourceAddress/);
    expect(() => parseTaskLine('{"op":"move"}', 2)).toThrow(/task line 2/);
    expect(() => parseTaskLine("nope", 9)).toThrow(/task line 9: not JSON/);
  });
});
