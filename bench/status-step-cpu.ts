// Diagnostic (not part of `npm run bench`): CPU time of the export status step for 50 shards of
// 1 000 copy tasks (a 50 000-object export: totals, manifest parts, their Batch Operations CSV
// twins, status document and line) on an in-memory store, so that only the step's own work
// counts. Seven runs in one process, median printed. ROOT=<another checkout> measures that
// checkout's code (e.g. a `git worktree` of an earlier commit) for a before/after comparison.
//
//   npx tsx bench/status-step-cpu.ts
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = process.env.ROOT ?? path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { runStatusStep } = await import(`${root}/lambdas/export/app/status-step.ts`);
const { exportWorkKeys } = await import(`${root}/lambdas/export/domain/work-layout.ts`);
const { MemoryExportStore } = await import(`${root}/test/support/memory-export-store.ts`);
const exportId = "repo-main-abc-1-x";
const keys = exportWorkKeys(exportId);
const store = new MemoryExportStore();
const shards = 50;
for (let s = 0; s < shards; s++) {
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const p = `data/part-${String(s).padStart(3, "0")}/file-${String(i).padStart(5, "0")}.parquet`;
    lines.push(
      JSON.stringify({
        op: "copy",
        path: p,
        sourceAddress: `s3://bench-source/ns/data/${s}-${i}`,
        destKey: `exports/main/${p}`,
        size: 120,
        contentType: "application/octet-stream",
        etag: "0123456789abcdef0123456789abcdef",
      }),
    );
  }
  await store.put("work", keys.taskShard(s), `${lines.join("\n")}\n`);
  await store.put(
    "work",
    keys.shardResult(s),
    JSON.stringify({
      version: 1,
      shard: s,
      copied: 1000,
      deleted: 0,
      copiedBytes: 120000,
      failed: [],
    }),
  );
}
const input = {
  repository: "repo",
  branch: "main",
  exportId,
  fromCommit: null,
  commitId: "c1",
  exportPath: "s3://out/exp",
  exportStatusPath: "s3://status/st",
  lastKeysInPrefixRegexp: [],
  repaired: false,
};
const plan = {
  done: true,
  cursor: {},
  counts: { copies: 50000, deletes: 0, copyBytes: 0, shards },
};
const lakefs = {
  getCommit: async () => ({
    id: "c1",
    message: "m",
    committer: "c",
    creation_date: 1,
    parents: [],
    meta_range_id: "",
  }),
  listObjects: () => {
    throw new Error("no");
  },
};
const out: number[] = [];
for (let r = 0; r < 7; r++) {
  const t0 = process.cpuUsage();
  const res = await runStatusStep(
    { store, lakefs, workBucket: "work", now: () => new Date() },
    { ...input, plan },
  );
  const t = process.cpuUsage(t0);
  if (res.status !== "exported-successfully") throw new Error(res.status);
  out.push((t.user + t.system) / 1000);
}
// The runs wrote a manifest of every task, or the figures mean nothing.
const indexes = [...store.objects].filter(([k]) => k.endsWith(".manifest.json"));
const entries = indexes.map(
  ([, body]) => (JSON.parse(body as string) as { entries: number }).entries,
);
if (indexes.length !== 1 || entries[0] !== shards * 1000) {
  throw new Error(
    `expected one manifest of ${shards * 1000} entries, found ${JSON.stringify(entries)}`,
  );
}
const sorted = [...out].sort((a, b) => a - b);
console.log(
  `${root}: status step CPU ms per run ${out.map((x) => x.toFixed(0)).join(" ")}; median ${sorted[3]?.toFixed(0)}`,
);
