// The plan's MarkerRetractor (domain/marker-retraction.ts) on S3: DeleteObjects of the markers'
// keys in the export path, made as a registered writer of the export ("plan"), so that a plan
// attempt still running after its export ended deletes nothing (that export's markers step
// may have written the markers a success line vouches for), and the next export waits for it.
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { deleteObjects, type KeyFailure } from "../../shared/s3-copy";
import { parseS3Uri } from "../../shared/s3-uri";
import type { MarkerRetractor } from "../domain/marker-retraction";
import { compileDirectorySelector, markerKey } from "../domain/markers";
import type { ExportWorkflowInput } from "../domain/workflow-input";
import { MAX_KEY_BYTES } from "./export-operations";
import { type RegisteredWriter, registerWriter, type WriterDeps } from "./export-writers";

/** A marker could not be retracted: the export fails before changing its directory. */
export class MarkerRetractionError extends Error {
  override readonly name = "MarkerRetractionError";
}

export interface PlanMarkerRetractor extends MarkerRetractor {
  /** Records the writer's end, if it registered (never throws). */
  end(): Promise<void>;
}

/** Undefined when the export has no marker expressions (nothing to retract). */
export function markerRetractor(
  deps: WriterDeps & { s3?: S3Client },
  input: ExportWorkflowInput,
): PlanMarkerRetractor | undefined {
  if (input.lastKeysInPrefixRegexp.length === 0) return undefined;
  const s3 = deps.s3;
  if (!s3) throw new Error("the plan step needs an S3 client to retract success markers");
  const selector = compileDirectorySelector(input.lastKeysInPrefixRegexp);
  const { bucket, prefix } = parseS3Uri(input.exportPath, "exportPath");
  let writer: Promise<RegisteredWriter | "closed"> | undefined;
  return {
    selector,
    async retract(dirs) {
      writer ??= registerWriter(deps, input.exportId, "plan");
      if ((await writer) === "closed") {
        throw new MarkerRetractionError(
          `export ${input.exportId} has ended: a late plan attempt retracts no marker`,
        );
      }
      // A key S3 cannot hold is no marker (the markers step fails the export on it).
      const keys = dirs
        .map((dir) => markerKey(prefix, dir))
        .filter((key) => Buffer.byteLength(key, "utf8") <= MAX_KEY_BYTES);
      const out = await deleteObjects(s3, bucket, keys);
      // A delete S3 refuses (a policy denying deletes there) of a marker that is not there
      // retracts nothing that needed retracting.
      const failed = await presentOnly(s3, bucket, out.failed);
      const failure = failed[0];
      if (failure) {
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : "";
        throw new MarkerRetractionError(
          `${failure.code}: retracting the success marker s3://${bucket}/${failure.key} before its directory changes: ${failure.message}${more}`,
        );
      }
    },
    async end() {
      const registered = await writer?.catch(() => undefined);
      if (registered && registered !== "closed") await registered.end().catch(() => undefined);
    },
  };
}

/** The failures whose key exists (or cannot be looked at): a missing marker needs no delete. */
async function presentOnly(
  s3: S3Client,
  bucket: string,
  failures: readonly KeyFailure[],
): Promise<KeyFailure[]> {
  const present: KeyFailure[] = [];
  for (const failure of failures) {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: failure.key }));
      present.push(failure);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
      if (status?.httpStatusCode !== 404) present.push(failure);
    }
  }
  return present;
}
