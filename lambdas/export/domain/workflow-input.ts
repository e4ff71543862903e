// Input of the export state machine, validated where it is produced (startExport) and where
// it is consumed (the workflow's first step).
import { z } from "zod";

export const ExportWorkflowInputSchema = z
  .object({
    repository: z.string().min(1),
    branch: z.string().min(1),
    /** Also the execution name. */
    exportId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
    /** Last successfully exported commit; null before the first success. */
    fromCommit: z.string().min(1).nullable(),
    toCommit: z.string().min(1),
    exportPath: z.string().startsWith("s3://"),
    exportStatusPath: z.string().startsWith("s3://").optional(),
    lastKeysInPrefixRegexp: z.array(z.string()),
    /** The export repairs a failed one: its status line says export-repaired. */
    repaired: z.boolean(),
    storageNamespace: z.string().optional(),
    /**
     * How the plan is made (lambdas/export/state/types.ts ExportMode). Absent in inputs from
     * before modes existed: incremental from fromCommit, else full-copy.
     */
    mode: z.enum(["incremental", "full-copy", "full-compare"]).optional(),
    /** Incremental: earlier failed exports whose touched paths are brought back to toCommit. */
    reconcileExports: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,80}$/))
      .max(100)
      .optional(),
    /** The configuration version this export writes. */
    configVersion: z.number().int().positive().optional(),
  })
  .strict()
  .refine((i) => i.mode !== "incremental" || i.fromCommit !== null, {
    error: "mode incremental needs fromCommit",
    path: ["mode"],
  });

/** The mode of an input (inputs from before modes existed have none). */
export function modeOf(input: Pick<ExportWorkflowInput, "mode" | "fromCommit">) {
  return input.mode ?? (input.fromCommit ? "incremental" : "full-copy");
}

export type ExportWorkflowInput = z.infer<typeof ExportWorkflowInputSchema>;
