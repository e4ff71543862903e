// A Step Functions redrive of an older export execution, after the branch moved on, copies its
// commit over the newer export. Its status step used to write "exported-successfully" for its
// commit: a success line downstream jobs trigger on, while the export path mixes two commits.
// It now reads the branch's export state and, when its export is no longer the branch's latest,
// writes export-failed saying to repair. And the export that was running when such a re-run
// ended (the branch records the re-run's `interference` on it, and will record it failed
// whatever it reports) writes export-failed too, not a success line over a path that may hold
// the older commit's copies.
import { expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { statusKeys } from "../../lambdas/export/domain/status";
import { decideDone } from "../../lambdas/export/domain/transitions";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import { statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1-old";
const keys = exportWorkKeys(exportId);
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://out/status",
  lastKeysInPrefixRegexp: [],
  repaired: false,
  mode: "full-copy" as const,
};
const plan = {
  done: true,
  cursor: { afterPath: "a", counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 } },
  counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 },
};

const stateOf = (latest: string): ExportState => ({
  state: latest === exportId ? "in-progress" : "exported-successfully",
  commitId: latest === exportId ? "c1" : "c2",
  exportId: latest,
  updatedAt: "2026-01-01T00:00:00.000Z",
  repaired: false,
  attempt: 2,
  version: 7,
});

async function statusWith(latest: string, state: ExportState = stateOf(latest)) {
  const store = new MemoryExportStore();
  await store.put(
    "work",
    keys.taskShard(0),
    `${JSON.stringify({ op: "copy", path: "a", sourceAddress: "s3://ns/data/a", destKey: "exp/a", etag: "e", size: 1 })}\n`,
  );
  await store.put(
    "work",
    keys.shardResult(0),
    JSON.stringify({ version: 1, shard: 0, copied: 1, deleted: 0, copiedBytes: 1, failed: [] }),
  );
  const out = await runStatusStep(
    {
      ...statusDepsOf(store, () => new Date("2026-01-01T01:00:00Z")),
      exports: { getState: async () => state },
    },
    { ...input, plan },
  );
  const line = await store.getText("out", statusKeys("status", "repo", "main", "c1").statusLine);
  return { out, line };
}

it("the branch's own running export reports its success", async () => {
  const { out, line } = await statusWith(exportId);
  expect(out).toMatchObject({ status: "exported-successfully" });
  expect(line).toMatch(/^status: exported-successfully,/);
});

it("a re-run of an older export, after the branch moved on, never writes a success line", async () => {
  const { out, line } = await statusWith("repo-main-c2-2-new");
  expect(out).toMatchObject({ status: "export-failed" });
  expect(out.errorMessage).toMatch(
    /export repo-main-c1-1-old ran again after the branch's export moved on to repo-main-c2-2-new .*run export repair/,
  );
  expect(line).toMatch(/^status: export-failed,/);
});

it("the branch's running export, after a re-run of an older one ended beside it, never writes a success line", async () => {
  const interference =
    "export repo-main-c0-0-older of c0 ran again after the branch's export moved on: the export path may mix commits; run export repair";
  const running = { ...stateOf(exportId), interference };
  const { out, line } = await statusWith(exportId, running);
  expect(out).toMatchObject({ status: "export-failed", errorMessage: interference });
  expect(line).toMatch(/^status: export-failed,/);
  // What the branch records at the execution's end, as the line says.
  const done = decideDone(running, {
    exportId,
    commitId: "c1",
    outcome: { status: "failed", errorMessage: interference },
    now: "2026-01-01T01:00:01.000Z",
  });
  expect(done.kind === "done" && done.next.state).toBe("export-failed");
});
