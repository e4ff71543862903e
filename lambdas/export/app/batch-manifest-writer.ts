// Writes the S3 Batch Operations manifest of an export while its JSON Lines manifest is
// written: a manifest sink that puts each new part together with its gzip CSV twin, lists the
// CSV files of the parts an earlier export wrote by reference (writing the twin once for a part
// that has none yet), and puts manifest.json on close. Memory holds one part's CSV; requests
// grow with the parts written, not with the branch.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  type BatchOperationsCsvFile,
  batchOperationsCsvLine,
  batchOperationsManifest,
  csvFileKeyOf,
} from "../domain/batch-operations-manifest";
import {
  type ManifestPart,
  type ManifestSink,
  MissingManifestPartError,
  type PartAdditions,
  parseManifestLine,
} from "../domain/manifest";
import type { ExportObjectStore } from "../ports";

export interface BatchManifestWriter {
  /** Puts manifest parts and their CSV twins in the status bucket. */
  sink: ManifestSink;
  /** Puts manifest.json, listing every CSV file in manifest order. */
  close(): Promise<void>;
}

export function batchManifestWriter(
  store: ExportObjectStore,
  statusBucket: string,
  manifestKey: string,
  exportBucket: string,
  now: () => Date = () => new Date(),
): BatchManifestWriter {
  const files: BatchOperationsCsvFile[] = [];
  const putCsv = async (partKey: string, exportKeys: Iterable<string>) => {
    let text = "";
    for (const key of exportKeys) text += batchOperationsCsvLine(exportBucket, key);
    const body = gzipSync(Buffer.from(text, "utf8"));
    const file: BatchOperationsCsvFile = {
      key: csvFileKeyOf(partKey),
      size: body.byteLength,
      md5: createHash("md5").update(body).digest("hex"),
    };
    await store.put(statusBucket, file.key, body, "application/gzip");
    return file;
  };
  return {
    sink: {
      writePart: async (key, body, keys): Promise<PartAdditions> => {
        // The part and its twin are independent objects: written at the same time.
        const [, csv] = await Promise.all([store.put(statusBucket, key, body), putCsv(key, keys)]);
        files.push(csv);
        return { csv };
      },
      reusePart: async (part: ManifestPart): Promise<PartAdditions | undefined> => {
        if (part.csv) {
          files.push(part.csv);
          return undefined;
        }
        // A part of a version 3 manifest: its twin is written once, then reused.
        const lines = await store.lines(statusBucket, part.key);
        if (lines === undefined) throw new MissingManifestPartError(part.key);
        const keys: string[] = [];
        for await (const line of lines) if (line !== "") keys.push(parseManifestLine(line).key);
        const csv = await putCsv(part.key, keys);
        files.push(csv);
        return { csv };
      },
    },
    close: async () => {
      const manifest = batchOperationsManifest(exportBucket, statusBucket, files, now());
      await store.put(statusBucket, manifestKey, JSON.stringify(manifest), "application/json");
    },
  };
}
