// The manifest S3 Batch Operations reads, in the S3 Inventory report format
// (`S3InventoryReport_CSV_20161130`): a manifest.json listing gzip-compressed CSV files, each
// line `"bucket","key"` (fileSchema `Bucket, Key`), the key URL-encoded as S3 Inventory writes
// it (UTF-8 percent-encoding of everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ), so a space is
// %20, '+' is %2B, '/' is %2F, ',' is %2C and '"' is %22: no key can break the CSV, and '+'
// never reads as a space).
// Why files and not one CSV: each CSV file is the twin of one JSON Lines manifest part
// (content-named the same way), so an export that reuses a part by reference reuses its CSV
// file by reference too, and the Batch Operations manifest costs the same requests on a
// 1 000-object branch as on a 100-million-object one (a single CSV would be rewritten whole).

export const BATCH_OPERATIONS_FILE_SCHEMA = "Bucket, Key";

/** One CSV file of the manifest, as manifest.json lists it. */
export interface BatchOperationsCsvFile {
  /** Key in the status bucket. */
  key: string;
  /** Bytes of the stored (compressed) file. */
  size: number;
  /** MD5 of the stored file, hex. */
  md5: string;
}

/** manifest.json in the S3 Inventory layout (what Batch Operations reads). */
export interface BatchOperationsManifest {
  sourceBucket: string;
  destinationBucket: string;
  version: "2016-11-30";
  creationTimestamp: string;
  fileFormat: "CSV";
  fileSchema: string;
  files: { key: string; size: number; MD5checksum: string }[];
}

/** One CSV line (newline-terminated) for an object of `bucket`. */
export function batchOperationsCsvLine(bucket: string, key: string): string {
  return `"${bucket}","${encodeURIComponent(key)}"\n`;
}

/** The bucket and the decoded key of one CSV line (as S3 Batch Operations reads it). */
export function parseBatchOperationsCsvLine(line: string): { bucket: string; key: string } {
  const m = /^"([^",]+)","([^",]*)"$/.exec(line);
  if (!m) {
    throw new Error(
      `batch operations manifest line needs exactly "bucket","key": ${line.slice(0, 200)}`,
    );
  }
  return { bucket: m[1]!, key: decodeURIComponent(m[2]!) };
}

/** The CSV file twin of a JSON Lines manifest part (same folder, same content id). */
export function csvFileKeyOf(partKey: string): string {
  return `${partKey.replace(/\.jsonl$/, "")}.csv.gz`;
}

/** manifest.json for the CSV files, in manifest order. */
export function batchOperationsManifest(
  exportBucket: string,
  statusBucket: string,
  files: readonly BatchOperationsCsvFile[],
  createdAt: Date,
): BatchOperationsManifest {
  return {
    sourceBucket: exportBucket,
    destinationBucket: `arn:aws:s3:::${statusBucket}`,
    version: "2016-11-30",
    creationTimestamp: String(createdAt.getTime()),
    fileFormat: "CSV",
    fileSchema: BATCH_OPERATIONS_FILE_SCHEMA,
    files: files.map((f) => ({ key: f.key, size: f.size, MD5checksum: f.md5 })),
  };
}
