// Input of the GC state machine, produced by startGcRun.
import { z } from "zod";

export const GC_MODES = ["mark-and-sweep", "mark-only", "sweep-only"] as const;
export type GcMode = (typeof GC_MODES)[number];

export const GcRulesSchema = z
  .object({
    default_retention_days: z.number().int().min(0).max(36500),
    branches: z.array(
      z
        .object({
          branch_id: z.string().min(1),
          retention_days: z.number().int().min(0).max(36500),
        })
        .strict(),
    ),
  })
  .strict();

export const GcWorkflowInputSchema = z
  .object({
    repository: z.string().min(1),
    runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    markId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    doMark: z.boolean(),
    doSweep: z.boolean(),
    storageNamespace: z.string().min(1),
    /** Rules as they were when the run started. */
    rules: GcRulesSchema,
    /** Epoch seconds: "now" of the retention computation, fixed for the whole run. */
    now: z.number().int(),
    /** The mark a sweep works from: this run's own when it marks, else the earlier run's. */
    markRunId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** Epoch seconds: the mark's "now" (revalidation computes retention at this time). */
    markNow: z.number().int(),
    /** The rules the mark was computed with. */
    markRules: GcRulesSchema,
  })
  .strict();

export type GcWorkflowInput = z.infer<typeof GcWorkflowInputSchema>;
