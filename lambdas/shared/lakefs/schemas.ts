// zod schemas of the lakeFS responses Lakeport reads, written from lakeFS's OpenAPI
// description (api/swagger.yml of lakeFS): required fields are required,
// optional ones optional, unknown fields pass through untouched (lakeFS adds fields over time).
import { z } from "zod";
import { LakeFsSchemaError } from "./errors";
import type {
  Commit,
  Diff,
  GarbageCollectionRules,
  ObjectStats,
  Page,
  Pagination,
  Ref,
  Repository,
} from "./types";

const int = z.number().int();
const stringMap = z.record(z.string(), z.string());

export const RepositorySchema = z.looseObject({
  id: z.string(),
  creation_date: int,
  default_branch: z.string(),
  storage_namespace: z.string(),
  storage_id: z.string().optional(),
  read_only: z.boolean().optional(),
});

export const RefSchema = z.looseObject({ id: z.string(), commit_id: z.string() });

export const CommitSchema = z.looseObject({
  id: z.string(),
  parents: z.array(z.string()),
  committer: z.string(),
  message: z.string(),
  creation_date: int,
  meta_range_id: z.string(),
  metadata: stringMap.optional(),
  generation: int.optional(),
  version: int.optional(),
});

export const ObjectStatsSchema = z.looseObject({
  path: z.string(),
  path_type: z.enum(["object", "common_prefix"]),
  physical_address: z.string(),
  physical_address_expiry: int.optional(),
  checksum: z.string(),
  size_bytes: int.optional(),
  mtime: int,
  metadata: stringMap.optional(),
  content_type: z.string().optional(),
});

export const DiffObjectStatSchema = z.looseObject({
  checksum: z.string(),
  mtime: int,
  content_type: z.string(),
  metadata: stringMap.optional(),
});

export const DiffSchema = z.looseObject({
  type: z.enum(["added", "removed", "changed", "conflict", "prefix_changed"]),
  path: z.string(),
  path_type: z.enum(["object", "common_prefix"]),
  size_bytes: int.optional(),
  right: DiffObjectStatSchema.optional(),
});

export const PaginationSchema = z.looseObject({
  has_more: z.boolean(),
  next_offset: z.string(),
  results: int.min(0),
  max_per_page: int.min(0),
});

function listSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({ pagination: PaginationSchema, results: z.array(item) });
}

export const RefListSchema = listSchema(RefSchema);
export const CommitListSchema = listSchema(CommitSchema);
export const ObjectStatsListSchema = listSchema(ObjectStatsSchema);
export const DiffListSchema = listSchema(DiffSchema);
export const RepositoryListSchema = listSchema(RepositorySchema);

export const MergeResultSchema = z.looseObject({ reference: z.string() });
export const StagingLocationSchema = z.looseObject({
  physical_address: z.string().optional(),
  presigned_url: z.string().nullable().optional(),
  presigned_url_expiry: int.optional(),
});
export const FindMergeBaseResultSchema = z.looseObject({
  source_commit_id: z.string(),
  destination_commit_id: z.string(),
  base_commit_id: z.string(),
});
export const GarbageCollectionRulesSchema = z.looseObject({
  default_retention_days: int,
  branches: z.array(z.looseObject({ branch_id: z.string(), retention_days: int })),
});
export const ErrorBodySchema = z.looseObject({ message: z.string() });

/** `results[3].physical_address` from a zod issue path. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(body)" : out;
}

/** Parses a lakeFS response body; a misfit throws LakeFsSchemaError naming the first bad field. */
export function parseResponse<S extends z.ZodType>(
  schema: S,
  body: unknown,
  operation: string,
  status = 200,
): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = formatFieldPath(issue.path);
  const what =
    issue.code === "invalid_type"
      ? `expected ${issue.expected}`
      : issue.code === "invalid_value"
        ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`
        : issue.message;
  throw new LakeFsSchemaError(
    `lakeFS ${operation}: response does not fit the API description: ${field}: ${what}`,
    field,
    status,
  );
}

// Compile-time checks that the schemas produce the port types other modules code against.
type Assignable<T, U extends T> = U;
export type _Checks = [
  Assignable<Repository, z.infer<typeof RepositorySchema>>,
  Assignable<Ref, z.infer<typeof RefSchema>>,
  Assignable<Commit, z.infer<typeof CommitSchema>>,
  Assignable<ObjectStats, z.infer<typeof ObjectStatsSchema>>,
  Assignable<Diff, z.infer<typeof DiffSchema>>,
  Assignable<Pagination, z.infer<typeof PaginationSchema>>,
  Assignable<Page<Ref>, z.infer<typeof RefListSchema>>,
  Assignable<GarbageCollectionRules, z.infer<typeof GarbageCollectionRulesSchema>>,
];
