// Shared by the unit tests of a plan call that retracts markers and then fails or is taken
// over (export-marker-retraction-repair, -takeover): directories d0000/ ... and z/, each with
// one object x, selected by ^[dz]; the S3 over the export path refuses deleting under z/.
import type { S3Client } from "@aws-sdk/client-s3";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";

/** `count` selected directories d0000/ ... (their object x each) and z/x last. */
export function retractionPaths(count: number) {
  const dirs = Array.from({ length: count }, (_, i) => `d${String(i).padStart(4, "0")}/`);
  return { dirs, paths: [...dirs.map((d) => `${d}x`), "z/x"] };
}

export const statsOf = (path: string): ObjectStats => ({
  path,
  path_type: "object",
  physical_address: `s3://lake-ns/${path}`,
  checksum: "e",
  size_bytes: 1,
  mtime: 0,
});

/** S3 over `out` refusing the delete of z/'s marker (a policy protecting z/). */
export function s3RefusingZ(out: Map<string, string>): S3Client {
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

/** An incremental export c0 -> c1 of repo@main to s3://out/exp, markers ^[dz]. */
export const retractionState: ExportWorkflowState = {
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
