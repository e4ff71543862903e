// Input of the GC state machine, produced by startGcRun.
import { z } from "zod";
import { GC_ID_PATTERN } from "./ids";
import { GcRulesSchema } from "./rules";

export const GC_MODES = ["mark-and-sweep", "mark-only", "sweep-only"] as const;
export type GcMode = (typeof GC_MODES)[number];

export const GcWorkflowInputSchema = z
  .object({
    repository: z.string().min(1),
    runId: z.string().regex(GC_ID_PATTERN),
    markId: z.string().regex(GC_ID_PATTERN),
    doMark: z.boolean(),
    doSweep: z.boolean(),
    storageNamespace: z.string().min(1),
    /** Rules as they were when the run started. */
    rules: GcRulesSchema,
    /** Epoch seconds: "now" of the retention computation, fixed for the whole run. */
    now: z.number().int(),
    /** The mark a sweep works from: this run's own when it marks, else the earlier run's. */
    markRunId: z.string().regex(GC_ID_PATTERN),
    /** Epoch seconds: the mark's "now" (revalidation computes retention at this time). */
    markNow: z.number().int(),
    /** The rules the mark was computed with. */
    markRules: GcRulesSchema,
  })
  .strict();

export type GcWorkflowInput = z.infer<typeof GcWorkflowInputSchema>;
