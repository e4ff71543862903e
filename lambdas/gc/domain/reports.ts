// GC outputs as bytes: Parquet address lists, the rclone text list, commits.csv and the run
// summary. Encoders only; where they go is paths.ts, writing them is the handlers' job.
import { parquetWriteBuffer } from "hyparquet-writer";
import { z } from "zod";
import type { RetentionResult } from "./retention";
import { GC_MODES } from "./workflow-input";

const utf8 = new TextEncoder();

/** An address list cannot be written in the requested format. */
export class ReportEncodingError extends Error {
  override readonly name = "ReportEncodingError";
}

/**
 * Parquet with one required UTF8 column `address`: keys relative to the storage namespace.
 * The format of the mark (`addresses/mark_id=...`), the expired-addresses log and the
 * deleted-objects log, like lakeFS's Spark GC writes them.
 */
export function encodeAddressParquet(keys: readonly string[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: [{ name: "address", data: keys.slice(), type: "STRING", nullable: false }],
    createdBy: "lakeport gc",
  });
  return new Uint8Array(buffer);
}

export const encodeMarkedAddresses = encodeAddressParquet;
export const encodeExpiredAddressesLog = encodeAddressParquet;
export const encodeDeletedObjectsLog = encodeAddressParquet;

/**
 * One key a line with a trailing newline, for `rclone --files-from`. A key containing a line
 * break cannot be listed that way: refused rather than silently left out of a backup.
 */
export function encodeAddressText(keys: Iterable<string>): Uint8Array {
  let text = "";
  for (const key of keys) {
    if (/[\r\n]/.test(key)) {
      throw new ReportEncodingError(
        `address ${JSON.stringify(key)} contains a line break and cannot go in a text list`,
      );
    }
    text += `${key}\n`;
  }
  return utf8.encode(text);
}

/**
 * `commit_id,expired` then one row per active or expired commit ("true"/"false"), sorted by
 * commit id so that a run's file is reproducible.
 */
export function encodeCommitsCsv(retention: RetentionResult): Uint8Array {
  const rows: [string, boolean][] = [];
  for (const id of retention.active) rows.push([id, false]);
  for (const id of retention.expired) rows.push([id, true]);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const lines = ["commit_id,expired"];
  for (const [id, expired] of rows) lines.push(`${csvField(id)},${expired}`);
  return utf8.encode(`${lines.join("\n")}\n`);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Reads commits.csv back (commit ids never need quoting: lakeFS ids are hex). */
export function parseCommitsCsv(text: string): { commitId: string; expired: boolean }[] {
  const lines = text.split("\n").filter((l) => l.length > 0);
  if (lines[0] !== "commit_id,expired") {
    throw new ReportEncodingError('commits.csv: the header must be "commit_id,expired"');
  }
  return lines.slice(1).map((line, i) => {
    const comma = line.lastIndexOf(",");
    const flag = line.slice(comma + 1);
    if (comma < 1 || (flag !== "true" && flag !== "false")) {
      throw new ReportEncodingError(`commits.csv line ${i + 2}: expected <commit_id>,true|false`);
    }
    return { commitId: line.slice(0, comma), expired: flag === "true" };
  });
}

/** `_lakefs/retention/gc/summary/run_id=<RUN_ID>.json`. */
export const GcRunSummarySchema = z
  .object({
    run_id: z.string().min(1),
    mark_id: z.string().min(1),
    mode: z.enum(GC_MODES),
    start_time: z.iso.datetime(),
    end_time: z.iso.datetime(),
    /** e.g. active_commits, expired_commits, marked_addresses, deleted_objects, delete_errors. */
    counts: z.record(z.string(), z.number().int().min(0)),
    success: z.boolean(),
    error_message: z.string().optional(),
  })
  .strict();

export type GcRunSummary = z.infer<typeof GcRunSummarySchema>;

export function encodeRunSummary(summary: GcRunSummary): Uint8Array {
  return utf8.encode(`${JSON.stringify(GcRunSummarySchema.parse(summary), null, 2)}\n`);
}
