// Input of the export state machine, validated where it is produced (startExport) and where
// it is consumed (the workflow's first step).
import { z } from "zod";

export const ExportWorkflowInputSchema = z
  .object({
    repository: z.string().min(1),
    branch: z.string().min(1),
    /** Also the execution name. */
    exportId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
    /** Last successfully exported commit; null for the first export (copy everything). */
    fromCommit: z.string().min(1).nullable(),
    toCommit: z.string().min(1),
    exportPath: z.string().startsWith("s3://"),
    exportStatusPath: z.string().startsWith("s3://").optional(),
    lastKeysInPrefixRegexp: z.array(z.string()),
    /** The export repairs a failed one: its status line says export-repaired. */
    repaired: z.boolean(),
    storageNamespace: z.string().optional(),
  })
  .strict();

export type ExportWorkflowInput = z.infer<typeof ExportWorkflowInputSchema>;
