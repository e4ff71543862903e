// Export tasks, one JSON object per line in the plan's shards. A shard holds copy, delete and
// keep tasks mixed, in path order; the copy batch of a shard turns copies and deletes into S3
// operations. A keep task (full-compare exports) is an object already exported as it is in the
// commit: no operation, but it counts for the success markers of its directories.
import { z } from "zod";

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

const CopyTaskSchema = z
  .object({
    op: z.literal("copy"),
    path: z.string(),
    sourceAddress: z.string().startsWith("s3://"),
    destKey: z.string().min(1),
    size: z.number().int().nonnegative().optional(),
    contentType: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    etag: z.string(),
  })
  .strict();

const DeleteTaskSchema = z
  .object({ op: z.literal("delete"), path: z.string(), destKey: z.string().min(1) })
  .strict();

const KeepTaskSchema = z
  .object({
    op: z.literal("keep"),
    path: z.string(),
    destKey: z.string().min(1),
    etag: z.string(),
    size: z.number().int().nonnegative().optional(),
  })
  .strict();

const ExportTaskSchema = z.discriminatedUnion("op", [
  CopyTaskSchema,
  DeleteTaskSchema,
  KeepTaskSchema,
]);

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
  const parsed = ExportTaskSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidTaskLineError(
      `task line ${lineNumber}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return parsed.data as ExportTask;
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
