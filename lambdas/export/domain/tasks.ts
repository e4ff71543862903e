// Export tasks, one JSON object per line in the plan's shards. A shard holds copy, delete and
// keep tasks mixed, in path order; the copy batch of a shard turns copies and deletes into S3
// operations. A keep task (full-compare exports) is an object already exported as it is in the
// commit: no operation, but it counts for the success markers of its directories.

export interface CopyTask {
  op: "copy";
  /** lakeFS path of the object. */
  path: string;
  /** Physical address, `s3://bucket/key`. */
  sourceAddress: string;
  /** Key in the export bucket: `<exportPrefix>/<path>`. */
  destKey: string;
  /** Bytes, when lakeFS knows them (the copy engine HEADs the source otherwise). */
  size?: number;
  contentType?: string;
  metadata?: Record<string, string>;
  /** lakeFS checksum of the object (the physical object's ETag on S3). */
  etag: string;
}

export interface DeleteTask {
  op: "delete";
  path: string;
  destKey: string;
}

export interface KeepTask {
  op: "keep";
  path: string;
  destKey: string;
  etag: string;
  size?: number;
}

export type ExportTask = CopyTask | DeleteTask | KeepTask;

export class InvalidTaskLineError extends Error {
  override readonly name = "InvalidTaskLineError";
}

export function encodeTask(task: ExportTask): string {
  return JSON.stringify(task);
}

/** Parses one shard line; a bad line is an InvalidTaskLineError naming the line and field. */
export function parseTaskLine(line: string, lineNumber = 0): ExportTask {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InvalidTaskLineError(`task line ${lineNumber}: not JSON`);
  }
  const problem = taskProblem(value);
  if (problem) throw new InvalidTaskLineError(`task line ${lineNumber}: ${problem}`);
  return value as ExportTask;
}

// Every copy batch and every status step reads each task line of an export (100 million lines
// for a 100 million-object branch): a hand-written check, the same rules a schema library
// would apply, costs a fraction of one per line.
const FIELDS: Record<ExportTask["op"], ReadonlySet<string>> = {
  copy: new Set([
    "op",
    "path",
    "sourceAddress",
    "destKey",
    "size",
    "contentType",
    "metadata",
    "etag",
  ]),
  delete: new Set(["op", "path", "destKey"]),
  keep: new Set(["op", "path", "destKey", "etag", "size"]),
};

/** What is wrong with a decoded task line (`field: reason`), or undefined when it is a task. */
export function taskProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "(root): expected an object";
  }
  const v = value as Record<string, unknown>;
  const op = v.op;
  if (op !== "copy" && op !== "delete" && op !== "keep") {
    return `op: expected "copy", "delete" or "keep", got ${JSON.stringify(op) ?? "nothing"}`;
  }
  const allowed = FIELDS[op];
  for (const key in v) {
    if (!allowed.has(key)) return `${key}: not a field of a ${op} task`;
  }
  if (typeof v.path !== "string") return "path: expected a string";
  if (typeof v.destKey !== "string" || v.destKey.length === 0) {
    return "destKey: expected a non-empty string";
  }
  if (op === "delete") return undefined;
  if (typeof v.etag !== "string") return "etag: expected a string";
  if (v.size !== undefined && !(Number.isSafeInteger(v.size) && (v.size as number) >= 0)) {
    return "size: expected a non-negative integer";
  }
  if (op === "keep") return undefined;
  if (typeof v.sourceAddress !== "string" || !v.sourceAddress.startsWith("s3://")) {
    return 'sourceAddress: expected a string starting with "s3://"';
  }
  if (v.contentType !== undefined && typeof v.contentType !== "string") {
    return "contentType: expected a string";
  }
  if (v.metadata !== undefined) {
    const m = v.metadata;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      return "metadata: expected an object of strings";
    }
    for (const k in m) {
      if (typeof (m as Record<string, unknown>)[k] !== "string") {
        return `metadata.${k}: expected a string`;
      }
    }
  }
  return undefined;
}

/** Splits a shard body (JSON Lines, trailing newline optional) into tasks. */
export function parseTaskShard(body: string): ExportTask[] {
  const tasks: ExportTask[] = [];
  let n = 0;
  for (const line of body.split("\n")) {
    n++;
    if (line.trim() === "") continue;
    tasks.push(parseTaskLine(line, n));
  }
  return tasks;
}
