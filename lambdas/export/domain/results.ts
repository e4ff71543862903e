// What the copy batch of one shard reports (exports/<id>/results/shard-NNNNNN.json), and the
// totals the status step needs. A result is bounded by the shard (at most one failure per
// task), so it is one small JSON document.
import type { OperationError } from "./status";

export interface ShardResult {
  version: 1;
  shard: number;
  copied: number;
  deleted: number;
  copiedBytes: number;
  failed: OperationError[];
}

export interface ExportTotals {
  shards: number;
  copied: number;
  deleted: number;
  copiedBytes: number;
  failed: number;
  /** The first failures, for the status document and the state's error message. */
  errorSamples: OperationError[];
}

export function emptyTotals(): ExportTotals {
  return { shards: 0, copied: 0, deleted: 0, copiedBytes: 0, failed: 0, errorSamples: [] };
}

export function addShardResult(
  totals: ExportTotals,
  result: ShardResult,
  maxSamples = 100,
): ExportTotals {
  const room = Math.max(0, maxSamples - totals.errorSamples.length);
  return {
    shards: totals.shards + 1,
    copied: totals.copied + result.copied,
    deleted: totals.deleted + result.deleted,
    copiedBytes: totals.copiedBytes + result.copiedBytes,
    failed: totals.failed + result.failed.length,
    errorSamples: [...totals.errorSamples, ...result.failed.slice(0, room)],
  };
}

export function parseShardResult(json: string): ShardResult {
  const v = JSON.parse(json) as Partial<ShardResult>;
  const num = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0;
  if (
    v.version !== 1 ||
    !num(v.shard) ||
    !num(v.copied) ||
    !num(v.deleted) ||
    !num(v.copiedBytes) ||
    !Array.isArray(v.failed)
  ) {
    throw new Error(
      "shard result: expected {version: 1, shard, copied, deleted, copiedBytes, failed[]}",
    );
  }
  return v as ShardResult;
}

/** A short reason for the export state when operations failed. */
export function failureSummary(totals: ExportTotals): string | undefined {
  if (totals.failed === 0) return undefined;
  const first = totals.errorSamples[0];
  const example = first
    ? ` (first: ${abbreviated(first.path)}: ${first.code}: ${abbreviated(first.message)})`
    : "";
  return `${totals.failed} operation${totals.failed === 1 ? "" : "s"} failed${example}`;
}

// The reason travels as the execution's cause, cut at 1 000 characters: a path can be up to
// 1 024 bytes, and the code after it must survive. The status document keeps it whole.
const MAX_SHOWN = 240;

function abbreviated(text: string): string {
  if (text.length <= MAX_SHOWN) return text;
  const half = MAX_SHOWN / 2;
  return `${text.slice(0, half)}…(${text.length} characters)…${text.slice(-half)}`;
}
