// The manifest S3 Batch Operations reads (format S3BatchOperations_CSV_20180820, fields
// Bucket, Key): one `bucket,key` line per exported object, the key URL-encoded as S3 requires
// (UTF-8 percent-encoding of everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ), so a space is
// %20, '+' is %2B, '/' is %2F and ',' is %2C: no key can break the CSV, and '+' never reads as
// a space). Written beside the JSON Lines manifest, streamed (see app/batch-manifest-writer).

/** One CSV line (newline-terminated) for an object of `bucket`. */
export function batchOperationsCsvLine(bucket: string, key: string): string {
  return `${bucket},${encodeURIComponent(key)}\n`;
}

/** The bucket and the decoded key of one CSV line (as S3 Batch Operations reads it). */
export function parseBatchOperationsCsvLine(line: string): { bucket: string; key: string } {
  const comma = line.indexOf(",");
  if (comma <= 0 || line.indexOf(",", comma + 1) !== -1) {
    throw new Error(
      `batch operations manifest line needs exactly bucket,key: ${line.slice(0, 200)}`,
    );
  }
  return { bucket: line.slice(0, comma), key: decodeURIComponent(line.slice(comma + 1)) };
}
