// A plan call that fails after retracting markers (a later retraction refused, a work-bucket
// write failing, the Lambda's end) leaves its export failed with those markers gone. The next
// export finds the paths a failed export touched in the shards its plan result counts
// (touched-paths.ts), so every shard whose markers were retracted must be counted there before
// its markers go; else the next export, whose diff need not name them (a revert), never writes
// them again and its success line stands over selected directories without a marker.
import type { S3Client } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { runPlanStep } from "../../lambdas/export/app/plan-step";
import { TouchedPathsOfExports } from "../../lambdas/export/app/touched-paths";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { Diff, ObjectStats } from "../../lambdas/shared/lakefs/types";
import { MemoryExportStore } from "../support/memory-export-store";

const dirs = Array.from({ length: 1001 }, (_, i) => `d${String(i).padStart(4, "0")}/`);
const paths = [...dirs.map((d) => `${d}x`), "z/x"];

const statsOf = (path: string): ObjectStats => ({
  path,
  path_type: "object",
  physical_address: `s3://lake-ns/${path}`,
  checksum: "e",
  size_bytes: 1,
  mtime: 0,
});

/** lakeFS: the diff c0 -> c1 changes every path; c1's objects are stat'ed. */
const lakefs = {
  async *diffRefs(_r: string, _from: string, _to: string, o: { after?: string } = {}) {
    const rest = paths.filter((p) => o.after === undefined || p > o.after);
    const results: Diff[] = rest.map((path) => ({ type: "changed", path, path_type: "object" }));
    yield { results, pagination: { has_more: false, next_offset: "", results: results.length } };
  },
  async statObject(_r: string, _ref: string, path: string) {
    return statsOf(path);
  },
  async listObjectsPage(_r: string, _ref: string, o: { after?: string } = {}) {
    const results = paths.filter((p) => o.after === undefined || p > o.after).map(statsOf);
    return { results, pagination: { has_more: false, next_offset: "", results: results.length } };
  },
  async *listObjects() {},
};

/** S3 over `out` refusing the delete of z/'s marker (a policy protecting z/). */
function s3Of(out: Map<string, string>): S3Client {
  return {
    send: async (c: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (c.constructor.name === "DeleteObjectsCommand") {
        const objects = (c.input.Delete as { Objects: { Key: string }[] }).Objects;
        const Errors = [];
        for (const { Key } of objects) {
          if (Key.startsWith("exp/z/")) {
            Errors.push({ Key, Code: "AccessDenied", Message: "Access Denied" });
          } else out.delete(Key);
        }
        return { Errors };
      }
      if (c.constructor.name === "HeadObjectCommand") {
        if (out.has(c.input.Key as string)) return {};
        throw Object.assign(new Error("NotFound"), { $metadata: { httpStatusCode: 404 } });
      }
      throw new Error(`unexpected ${c.constructor.name}`);
    },
  } as unknown as S3Client;
}

const state: ExportWorkflowState = {
  repository: "repo",
  branch: "main",
  exportId: "repo-main-c1-1-x",
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: ["^[dz]"],
  repaired: false,
  commitId: "c1",
  fromCommit: "c0",
  mode: "incremental",
};

it("a plan call failing after retracting markers leaves their paths for the next export to touch", async () => {
  const store = new MemoryExportStore();
  const out = new Map<string, string>();
  for (const d of [...dirs, "z/"]) {
    out.set(`exp/${d}x`, "c0");
    out.set(`exp/${d}_lakefs_success`, "");
  }
  await expect(
    runPlanStep({ store, lakefs: lakefs as never, workBucket: "work", s3: s3Of(out) }, state),
  ).rejects.toThrow(/AccessDenied: retracting the success marker s3:\/\/out\/exp\/z\//);
  // The first 1 000 markers went before z/'s delete was refused.
  const retracted = dirs.filter((d) => !out.has(`exp/${d}_lakefs_success`));
  expect(retracted.length).toBeGreaterThan(0);
  // The next export reads back what this one touched: every retracted directory is among it,
  // so its markers step writes them again.
  const touched = new Set<string>();
  for await (const p of new TouchedPathsOfExports(store, "work", [state.exportId]).paths(
    undefined,
  )) {
    touched.add(p);
  }
  expect(retracted.filter((d) => !touched.has(`${d}x`)).slice(0, 3)).toEqual([]);
});
