// Writes the S3 Batch Operations CSV manifest of an export while its JSON Lines manifest is
// written: a manifest sink that puts each new part and appends its objects to the CSV, and
// streams the parts an earlier export wrote (reused by reference) into the CSV too. The CSV is
// one object (Batch Operations reads one), uploaded in parts: memory holds one manifest part
// and one upload part, never the whole list of keys.
import { batchOperationsCsvLine } from "../domain/batch-operations-manifest";
import { type ManifestPart, type ManifestSink, parseManifestLine } from "../domain/manifest";
import type { ExportObjectStore } from "../ports";

/** CSV text is handed to the upload in chunks of about this size. */
const CSV_CHUNK_CHARS = 1024 * 1024;

export interface BatchManifestWriter {
  /** Puts manifest parts in the status bucket, and lists their objects in the CSV. */
  sink: ManifestSink;
  /** Completes the CSV object. */
  close(): Promise<void>;
  /** Drops the CSV upload (the manifest failed). */
  abort(): Promise<void>;
}

export function batchManifestWriter(
  store: ExportObjectStore,
  statusBucket: string,
  csvKey: string,
  exportBucket: string,
): BatchManifestWriter {
  const csv = store.upload(statusBucket, csvKey, "text/csv");
  let pending = "";
  const append = async (manifestLine: string) => {
    if (manifestLine === "") return;
    pending += batchOperationsCsvLine(exportBucket, parseManifestLine(manifestLine).key);
    if (pending.length >= CSV_CHUNK_CHARS) {
      await csv.write(pending);
      pending = "";
    }
  };
  return {
    sink: {
      writePart: async (key, body) => {
        await store.put(statusBucket, key, body);
        for (const line of body.split("\n")) await append(line);
      },
      reusePart: async (part: ManifestPart) => {
        const lines = await store.lines(statusBucket, part.key);
        if (lines === undefined) throw new Error(`manifest part ${part.key} is missing`);
        for await (const line of lines) await append(line);
      },
    },
    close: async () => {
      if (pending !== "") await csv.write(pending);
      pending = "";
      await csv.close();
    },
    abort: () => csv.abort(),
  };
}
