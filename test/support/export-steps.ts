// Running the export's copy, markers and status steps in one test process: an export path as a
// map of keys behind a fake S3 client (copies, markers and deletes, each of which a test can
// hold), the workflow state of a one-call full export, and status step dependencies.
import type { S3Client } from "@aws-sdk/client-s3";
import type { ExportWorkflowState } from "../../lambdas/export/domain/workflow-state";
import type { MemoryExportStore } from "./memory-export-store";

/** An S3 client over `bucket` (key -> body); copies or deletes wait for their gate if given. */
export function mapS3(
  bucket: Map<string, string>,
  gates: { copy?: Promise<void>; delete?: Promise<void> } = {},
): S3Client {
  return {
    send: async (c: {
      constructor: { name: string };
      input: { Key: string; Delete: { Objects: { Key: string }[] } };
    }) => {
      const n = c.constructor.name;
      if (n === "CopyObjectCommand") {
        await gates.copy;
        bucket.set(c.input.Key, "data");
        return { CopyObjectResult: { ETag: '"e"' } };
      }
      if (n === "PutObjectCommand") {
        bucket.set(c.input.Key, "");
        return {};
      }
      if (n === "DeleteObjectsCommand") {
        await gates.delete;
        for (const o of c.input.Delete.Objects) bucket.delete(o.Key);
        return { Errors: [] };
      }
      throw new Error(`unexpected ${n}`);
    },
  } as unknown as S3Client;
}

/** A gate to hold a request at, and its release. */
export function gate(): { held: Promise<void>; release: () => void } {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  return { held, release };
}

/** The state of a full export of commit c1 to s3://out/exp (status under s3://status/st). */
export function fullExportState(opts: {
  exportId: string;
  regexps: string[];
  counts: { copies: number; deletes: number; copyBytes: number; shards: number };
  lastPath: string;
}): ExportWorkflowState {
  return {
    repository: "repo",
    branch: "main",
    exportId: opts.exportId,
    fromCommit: null,
    commitId: "c1",
    exportPath: "s3://out/exp",
    exportStatusPath: "s3://status/st",
    lastKeysInPrefixRegexp: opts.regexps,
    repaired: false,
    mode: "full-copy",
    plan: {
      done: true,
      cursor: { afterPath: opts.lastPath, counts: opts.counts },
      counts: opts.counts,
    },
  } as ExportWorkflowState;
}

/** The status step's dependencies on `store` (work bucket "work"), lakeFS answering commit c1. */
export function statusDepsOf(store: MemoryExportStore, now: () => Date = () => new Date()) {
  return {
    store,
    lakefs: {
      getCommit: async () => ({ id: "c1", message: "", committer: "", creation_date: 0 }),
      listObjects: async function* () {},
    } as never,
    workBucket: "work",
    now,
  };
}
