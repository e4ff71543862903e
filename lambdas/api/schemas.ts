// One zod schema per request body (and the response shapes), shared by the handlers, the
// OpenAPI description and the CLI. Bodies are strict: unknown fields are rejected.
import { z } from "zod";
import { EXPORT_MODES, EXPORT_STATES } from "../export/domain/export-state";
import { LAKEFS_EVENT_TYPES } from "../export/domain/lakefs-event";
import { GC_ID_PATTERN, GC_ID_RULE } from "../gc/domain/ids";
import { gcRulesSchema } from "../gc/domain/rules";
import { GC_MODES } from "../gc/domain/workflow-input";
import { BRANCH_NAME_PATTERN, REPOSITORY_ID_PATTERN } from "../shared/lakefs/names";
import { writableLocationProblem } from "../shared/s3-naming";
import { hasLoneSurrogate } from "../shared/unicode";

const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

/**
 * A location Lakeport writes to: the pattern (also in API Gateway's model) and S3's naming
 * rules (bucket names, no `.`/`..`/empty segments, no `?` or `#`).
 */
export const S3UriSchema = z
  .string({ error: "must be a string s3://bucket[/prefix]" })
  .regex(S3_URI, { error: "must be s3://bucket[/prefix]" })
  .superRefine((s, ctx) => {
    const problem = writableLocationProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const RepositoryIdSchema = z
  .string({ error: "must be a lakeFS repository id" })
  .regex(REPOSITORY_ID_PATTERN, { error: "must be a lakeFS repository id" });
export const BranchIdSchema = z
  .string({ error: "must be a lakeFS branch name" })
  .regex(BRANCH_NAME_PATTERN, { error: "must be a lakeFS branch name" });

export const ExportConfigurationSchema = z
  .object({
    exportPath: S3UriSchema.meta({ description: "Objects are exported under this path." }),
    exportStatusPath: S3UriSchema.optional().meta({
      description: "Status files are written under this path after each export.",
    }),
    lastKeysInPrefixRegexp: z
      .array(
        z
          .string({ error: "must be a string" })
          .max(1000, { error: "must be at most 1000 characters" }),
        { error: "must be an array of strings" },
      )
      .max(100, { error: "must have at most 100 expressions" })
      .optional()
      .meta({
        description: "RE2 regular expressions selecting directories that get _lakefs_success.",
      }),
    isContinuous: z
      .boolean({ error: "must be a boolean" })
      .optional()
      .meta({ description: "Export after every commit or merge (default false)." }),
  })
  .strict()
  .meta({ id: "ContinuousExportConfiguration" });
export type ExportConfigurationBody = z.infer<typeof ExportConfigurationSchema>;

export const RepairExportRequestSchema = z
  .object({
    full: z.boolean({ error: "must be a boolean" }).optional().meta({
      description:
        "Reconcile the whole export path with the head: list it, copy what differs (ETag, size), delete what is extra. For exports damaged from outside; allowed in any state but in-progress.",
    }),
  })
  .strict()
  .meta({ id: "RepairExportRequest" });

/**
 * The body of a route that takes no options (export-hook, the deletes): none, or `{}`. A field
 * sent (`full` meant for repair-export, a `force` for a delete) is refused, not ignored.
 */
export const NoOptionsSchema = z.object({}).strict();

/**
 * The GC rules (gc/domain/rules.ts), errors in the API's words. New rules name branches lakeFS
 * could have (rules stored before this check stay readable: the domain schema takes any name).
 */
export const GcRulesBodySchema = gcRulesSchema({
  notDays: "must be a whole number of days",
  belowZero: "must be at least 0",
  notBranchName: "must be a string",
  notBranchList: "must be an array",
  notBranchRule: "must be an object with branch_id and retention_days",
})
  .superRefine((rules, ctx) => {
    rules.branches.forEach((rule, i) => {
      if (BranchIdSchema.safeParse(rule.branch_id).success) return;
      ctx.addIssue({
        code: "custom",
        path: ["branches", i, "branch_id"],
        message: "must be a lakeFS branch name",
      });
    });
  })
  .meta({ id: "GarbageCollectionRules" });

export const GcRunRequestSchema = z
  .object({
    mode: z.enum(GC_MODES, { error: `must be one of ${GC_MODES.join(", ")}` }).optional(),
    do_mark: z.boolean({ error: "must be a boolean" }).optional(),
    do_sweep: z.boolean({ error: "must be a boolean" }).optional(),
    mark_id: z
      .string({ error: "must be a string" })
      .regex(GC_ID_PATTERN, { error: `must be ${GC_ID_RULE}` })
      .optional(),
  })
  .strict()
  .meta({ id: "GarbageCollectionRunRequest" });
export type GcRunRequest = z.infer<typeof GcRunRequestSchema>;

/**
 * Room for `restored from s3://bucket/prefix`, the reason gc restore gives, with any location
 * a backup takes (a 63-character bucket, a prefix of up to 1 022 bytes): at 500, a backup to a
 * longer location could never be restored from this machine (its retire was refused).
 */
const MAX_RETIRE_REASON = 2000;

/** Body of POST .../gc/marks/{markId}/retire (optional). */
export const GcMarkRetireRequestSchema = z
  .object({
    reason: z
      .string({ error: "must be a string" })
      .min(1, { error: "must not be empty" })
      .max(MAX_RETIRE_REASON, { error: `must be at most ${MAX_RETIRE_REASON} characters` })
      // Stored as UTF-8, where a lone surrogate would read back as U+FFFD.
      .refine((reason) => !hasLoneSurrogate(reason), {
        error: "must be well-formed Unicode (a lone surrogate)",
      })
      .optional(),
  })
  .strict()
  .meta({ id: "GarbageCollectionMarkRetireRequest" });

/** An optional text field of lakeFS's webhook payload. */
const webhookText = () => z.string({ error: "must be a string" }).optional();

/**
 * The most characters of a field naming the event (bus-event-detail.ts keeps them when it
 * leaves the rest out for EventBridge's 256 KB: they must fit whatever the payload holds).
 * lakeFS's are short: ids, a time, a ref, a user.
 */
export const MAX_WEBHOOK_NAME_CHARS = 1024;
const webhookName = () =>
  z
    .string({ error: "must be a string" })
    .max(MAX_WEBHOOK_NAME_CHARS, { error: `must be at most ${MAX_WEBHOOK_NAME_CHARS} characters` });

/** lakeFS's webhook payload. Extra fields are allowed: lakeFS may add some. */
export const LakeFsWebhookEventSchema = z
  .looseObject({
    event_type: z.enum(LAKEFS_EVENT_TYPES, {
      error: `must be ${LAKEFS_EVENT_TYPES.slice(0, -1).join(", ")} or ${LAKEFS_EVENT_TYPES.at(-1)}`,
    }),
    event_time: webhookName().optional(),
    action_name: webhookName().optional(),
    hook_id: webhookName().min(1, { error: "must not be empty" }),
    repository_id: RepositoryIdSchema,
    branch_id: BranchIdSchema,
    source_ref: webhookName().optional(),
    commit_id: webhookName().min(1, { error: "must not be empty" }),
    commit_message: webhookText(),
    committer: webhookName().optional(),
    commit_metadata: z
      .record(z.string(), z.string({ error: "must be a string" }), {
        error: "must be an object of strings",
      })
      .optional(),
  })
  .meta({ id: "LakeFsWebhookEvent" });
export type LakeFsWebhookEvent = z.infer<typeof LakeFsWebhookEventSchema>;

// Responses (documented in the OpenAPI description).

export const ErrorSchema = z.object({ message: z.string() }).meta({ id: "Error" });

export const StartExportResponseSchema = z
  .object({
    status: z.enum(["started", "up-to-date"]),
    exportId: z.string().optional(),
    executionArn: z.string().optional(),
    fromCommit: z.string().nullable().optional(),
    toCommit: z.string().optional(),
    currentRef: z.string().optional(),
    repaired: z.boolean().optional(),
  })
  .meta({ id: "StartExportResponse" });

export const ExecutionProgressSchema = z
  .object({
    executionArn: z.string(),
    status: z.string(),
    startDate: z.string().optional(),
    stopDate: z.string().optional(),
    error: z.string().optional(),
    cause: z.string().optional(),
    mapRuns: z.array(
      z.object({
        mapRunArn: z.string(),
        status: z.string(),
        total: z.number(),
        succeeded: z.number(),
        failed: z.number(),
        running: z.number(),
        pending: z.number(),
      }),
    ),
  })
  .meta({ id: "ExecutionProgress" });

export const ExportProgressSchema = z
  .object({
    /** The plan is complete: `planned` holds every task of the export. */
    planDone: z.boolean(),
    planned: z.object({
      copies: z.number(),
      deletes: z.number(),
      keeps: z.number().optional(),
      copyBytes: z.number(),
      shards: z.number(),
    }),
    /**
     * Sums of the shard results of the copy batches so far (a retried batch counts again);
     * once `final`, the status document's totals.
     */
    done: z.object({
      shards: z.number(),
      copied: z.number(),
      deleted: z.number(),
      copiedBytes: z.number(),
      failed: z.number(),
    }),
    /** `done` holds the status document's totals (the export's status step has run). */
    final: z.boolean(),
    updatedAt: z.string(),
  })
  .meta({ id: "ExportProgress" });

export const ExportStatusSchema = z
  .object({
    repository: z.string(),
    branch: z.string(),
    state: z.enum([...EXPORT_STATES, "never-exported"]),
    currentRef: z.string().nullable(),
    lastExportedCommit: z.string().nullable(),
    errorMessage: z.string().nullable(),
    /** After an aborted or timed-out export: a repair waits until then (its functions may
     * still write to the export path). */
    settlesAt: z.string().nullable(),
    exportId: z.string().nullable(),
    pendingHead: z.string().nullable(),
    updatedAt: z.string().nullable(),
    /** Start of the running (or last) export. */
    startedAt: z.string().nullable(),
    /** Version of the stored configuration (null without one). */
    configVersion: z.number().nullable(),
    /** Configuration version of the last successful export (null before one). */
    exportedConfigVersion: z.number().nullable(),
    /** How the running (or last) export was planned. */
    mode: z.enum(EXPORT_MODES).nullable(),
    execution: ExecutionProgressSchema.nullable(),
    /** Objects and bytes planned and done of the running (or last) export. */
    progress: ExportProgressSchema.nullable(),
  })
  .meta({ id: "ExportStatus" });

export const GcRunSchema = z
  .object({
    repository: z.string(),
    run_id: z.string(),
    mark_id: z.string(),
    mode: z.enum(GC_MODES),
    status: z.enum(["running", "succeeded", "failed"]),
    counts: z.record(z.string(), z.number()),
    started_at: z.string(),
    ended_at: z.string().nullable(),
    execution_arn: z.string().nullable(),
    error_message: z.string().nullable(),
    execution: ExecutionProgressSchema.nullable().optional(),
  })
  .meta({ id: "GarbageCollectionRun" });

export const GcRunListSchema = z
  .object({
    results: z.array(GcRunSchema),
    pagination: z.object({
      has_more: z.boolean(),
      next_offset: z.string(),
      results: z.number(),
      max_per_page: z.number(),
    }),
  })
  .meta({ id: "GarbageCollectionRunList" });

export const GcBackupLocationCheckSchema = z
  .object({ location: z.string(), usable: z.literal(true) })
  .meta({ id: "GarbageCollectionBackupLocationCheck" });

export const GcBackupLocationClaimRequestSchema = z
  .object({
    location: z.string({ error: "must be a string (s3://bucket[/prefix])" }),
    mark_id: z
      .string({ error: "must be a mark id" })
      .regex(GC_ID_PATTERN, { error: `must be ${GC_ID_RULE}` }),
  })
  .strict()
  .meta({ id: "GarbageCollectionBackupLocationClaimRequest" });

export const GcBackupLocationClaimSchema = z
  .object({
    repository: z.string(),
    location: z.string(),
    mark_id: z.string().meta({ description: "The mark of the last backup claimed there" }),
    claimed_at: z.string(),
  })
  .meta({ id: "GarbageCollectionBackupLocationClaim" });

export const GcBackupLocationClaimListSchema = z
  .object({
    results: z.array(GcBackupLocationClaimSchema),
    pagination: z.object({
      has_more: z.boolean(),
      next_offset: z.string(),
      results: z.number(),
      max_per_page: z.number(),
    }),
  })
  .meta({ id: "GarbageCollectionBackupLocationClaimList" });

export const WebhookResponseSchema = z
  .object({ published: z.boolean(), duplicate: z.boolean() })
  .meta({ id: "WebhookResponse" });
