// Input of the export state machine, validated where it is produced (startExport) and where
// it is consumed (the workflow's first step).
import { z } from "zod";
import { EXECUTION_NAME_PATTERN } from "../../shared/workflow-starter";
import { EXPORT_MODES } from "./export-state";

export const ExportWorkflowInputSchema = z
  .object({
    repository: z.string().min(1),
    branch: z.string().min(1),
    /** Also the execution name. */
    exportId: z.string().regex(EXECUTION_NAME_PATTERN),
    /** Last successfully exported commit; null before the first success. */
    fromCommit: z.string().min(1).nullable(),
    /** The commit exported. */
    commitId: z.string().min(1),
    exportPath: z.string().startsWith("s3://"),
    exportStatusPath: z.string().startsWith("s3://").optional(),
    lastKeysInPrefixRegexp: z.array(z.string()),
    /** The export repairs a failed one: its status line says export-repaired. */
    repaired: z.boolean(),
    storageNamespace: z.string().optional(),
    /**
     * How the plan is made (ExportMode in export-state.ts). Absent in inputs from
     * before modes existed: incremental from fromCommit, else full-copy.
     */
    mode: z.enum(EXPORT_MODES).optional(),
    /** Incremental: earlier failed exports whose touched paths are brought back to commitId. */
    reconcileExports: z.array(z.string().regex(EXECUTION_NAME_PATTERN)).max(100).optional(),
    /** The configuration version this export writes. */
    configVersion: z.number().int().positive().optional(),
  })
  .strict()
  .refine((i) => i.mode !== "incremental" || i.fromCommit !== null, {
    error: "mode incremental needs fromCommit",
    path: ["mode"],
  });

export type ExportWorkflowInput = z.infer<typeof ExportWorkflowInputSchema>;

/**
 * The input of an execution, validated. Executions started before the exported commit was
 * named commitId say toCommit.
 */
export function parseExportWorkflowInput(value: unknown) {
  return ExportWorkflowInputSchema.safeParse(withCommitId(value));
}

/** `toCommit` (inputs of older executions) as commitId. */
export function withCommitId(value: unknown): unknown {
  if (value === null || typeof value !== "object" || !("toCommit" in value)) return value;
  const { toCommit, ...rest } = value as Record<string, unknown>;
  return "commitId" in rest ? value : { ...rest, commitId: toCommit };
}
