// The plan's marker retractor on S3 retracts as a registered writer of its export: the next
// export waits for a plan call still retracting, and a plan attempt that runs after its export
// ended (its markers step may have written the markers a success line vouches for) deletes none.
import type { S3Client } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";
import { MarkerRetractionError, markerRetractor } from "../../lambdas/export/app/marker-retractor";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import { mapS3 } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c2-1";
const keys = exportWorkKeys(exportId);
const input = {
  exportId,
  exportPath: "s3://out/exp",
  lastKeysInPrefixRegexp: [".*"],
} as ExportWorkflowInput;

/** The plan so far, as the plan passes it (this retractor does not read it). */
const written = { afterPath: "a/1", counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 } };

const writerRecords = (store: MemoryExportStore) =>
  [...store.objects.keys()]
    .filter((k) => k.startsWith(`work/${keys.writersPrefix}`))
    .map((k) => k.replace(/^.*-(plan)-[A-Za-z0-9]+\.(started|ended)$/, "$1.$2"));

it("deletes the markers as a plan writer, recorded from before the first delete to its end", async () => {
  const store = new MemoryExportStore();
  const out = new Map([
    ["exp/a/_lakefs_success", ""],
    ["exp/a/1", "x"],
    ["exp/_lakefs_success", ""],
  ]);
  const r = markerRetractor({ store, workBucket: "work", s3: mapS3(out) }, input);
  await r!.retract(["", "a/"], written);
  expect(writerRecords(store)).toEqual(["plan.started"]);
  await r!.retract(["b/"], written); // one registration per plan call
  await r!.end();
  expect(writerRecords(store).sort()).toEqual(["plan.ended", "plan.started"]);
  expect([...out.keys()]).toEqual(["exp/a/1"]);
});

it("after its export ended, retracts nothing and fails", async () => {
  const store = new MemoryExportStore();
  await store.put("work", keys.writersClosed, "{}");
  const out = new Map([["exp/a/_lakefs_success", ""]]);
  const r = markerRetractor({ store, workBucket: "work", s3: mapS3(out) }, input);
  await expect(r!.retract(["a/"], written)).rejects.toThrow(MarkerRetractionError);
  await r!.end();
  expect([...out.keys()]).toEqual(["exp/a/_lakefs_success"]);
});

it("an export without marker expressions has no retractor and needs no S3 client", () => {
  const store = new MemoryExportStore();
  expect(
    markerRetractor({ store, workBucket: "work" }, { ...input, lastKeysInPrefixRegexp: [] }),
  ).toBeUndefined();
  expect(() => markerRetractor({ store, workBucket: "work" }, input)).toThrow(/S3 client/);
});

/** An S3 client whose DeleteObjects refuses every key (a policy denying deletes) over `out`. */
function deleteDenyingS3(out: Map<string, string>): S3Client {
  return {
    send: async (c: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (c.constructor.name === "DeleteObjectsCommand") {
        const objects = (c.input.Delete as { Objects: { Key: string }[] }).Objects;
        return {
          Errors: objects.map((o) => ({
            Key: o.Key,
            Code: "AccessDenied",
            Message: "Access Denied",
          })),
        };
      }
      if (c.constructor.name === "HeadObjectCommand") {
        if (out.has(c.input.Key as string)) return {};
        throw Object.assign(new Error("NotFound"), { $metadata: { httpStatusCode: 404 } });
      }
      throw new Error(`unexpected ${c.constructor.name}`);
    },
  } as unknown as S3Client;
}

it("a refused delete of a marker that is not there retracts nothing that needed it; of one there, fails", async () => {
  const store = new MemoryExportStore();
  const out = new Map([["exp/b/_lakefs_success", ""]]);
  const r = markerRetractor({ store, workBucket: "work", s3: deleteDenyingS3(out) }, input);
  await r!.retract(["a/"], written); // no marker at exp/a/: nothing to retract
  await expect(r!.retract(["a/", "b/"], written)).rejects.toThrow(
    "AccessDenied: retracting the success marker s3://out/exp/b/_lakefs_success before its directory changes: Access Denied",
  );
  await r!.end();
});
