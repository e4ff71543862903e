// Address lists of any length written with bounded memory: the Parquet files (one UTF8
// column `address`, as lakeFS's Spark GC writes them) and the text lists of the mark, the
// expired-addresses log and the deleted-objects log. Keys are encoded a row group at a time
// and streamed to S3 (ObjectUpload), so a list of millions costs one row group of memory.
import { ByteWriter, ParquetWriter, schemaFromColumnData } from "hyparquet-writer";
import { encodeAddressText } from "../domain/reports";
import type { ObjectUpload } from "../ports";

/** Keys per Parquet row group: a few MB of strings at a time. */
export const ROWS_PER_GROUP = 50_000;

export interface AddressListWriter {
  add(keys: readonly string[]): Promise<void>;
  /**
   * `metadata`: Parquet key-value metadata written in the footer (ignored by text lists).
   * The list's ETag, when the store gives one.
   */
  close(metadata?: Record<string, string>): Promise<string | undefined>;
  abort(): Promise<void>;
  readonly count: number;
}

const SCHEMA = schemaFromColumnData({
  columnData: [{ name: "address", data: [], type: "STRING", nullable: false }],
});

/** Parquet, one row group per ROWS_PER_GROUP keys. */
export function parquetAddressWriter(
  upload: ObjectUpload,
  rowsPerGroup = ROWS_PER_GROUP,
): AddressListWriter {
  const bytes = new ByteWriter();
  const drain = async () => {
    if (bytes.index === 0) return;
    await upload.write(bytes.getBytes());
    bytes.index = 0;
  };
  // Each finished row group leaves the buffer for S3 (ParquetWriter awaits the flush).
  const flushing = Object.assign(bytes, { flush: drain });
  const writer = new ParquetWriter({ writer: flushing, schema: SCHEMA, createdBy: "lakeport gc" });
  let pending: string[] = [];
  let count = 0;
  const writeGroup = async (keys: string[]) => {
    await writer.write({
      columnData: [{ name: "address", data: keys }],
      rowGroupSize: keys.length,
    });
  };
  return {
    get count() {
      return count;
    },
    async add(keys) {
      for (const k of keys) pending.push(k);
      count += keys.length;
      while (pending.length >= rowsPerGroup) {
        const group = pending.slice(0, rowsPerGroup);
        pending = pending.slice(rowsPerGroup);
        await writeGroup(group);
      }
    },
    async close(metadata) {
      if (pending.length > 0) await writeGroup(pending);
      pending = [];
      if (metadata) {
        writer.kvMetadata = Object.entries(metadata).map(([key, value]) => ({ key, value }));
      }
      await writer.finish();
      await drain();
      return upload.close();
    },
    async abort() {
      pending = [];
      await upload.abort();
    },
  };
}

/** One key a line (for `rclone --files-from`); keys with line breaks are refused. */
export function textAddressWriter(upload: ObjectUpload): AddressListWriter {
  let count = 0;
  return {
    get count() {
      return count;
    },
    async add(keys) {
      if (keys.length === 0) return;
      count += keys.length;
      await upload.write(encodeAddressText(keys));
    },
    close: () => upload.close(),
    abort: () => upload.abort(),
  };
}
