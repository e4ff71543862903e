// GC run ids sort by start time (the store lists runs newest first by id) and are valid as
// Step Functions execution names and S3 path segments.
import { randomBytes } from "node:crypto";

export function newGcRunId(now: Date, random: () => string = defaultRandom): string {
  // 2026-11-23T01:14:30.123Z -> 20261123T011430123Z (millisecond order, name-safe)
  const stamp = now.toISOString().replace(/[-:.]/g, "");
  return `${stamp}-${random()}`;
}

const defaultRandom = () => randomBytes(5).toString("hex");

export const MARK_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
