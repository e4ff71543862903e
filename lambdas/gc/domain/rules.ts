// GC rules of a repository, exactly the JSON lakeFS uses:
// {"default_retention_days": N, "branches": [{"branch_id": "main", "retention_days": M}]}.
import { z } from "zod";
import { ValidationError } from "../../shared/errors";

/** About a hundred years: anything longer is a typo, not a policy. */
export const MAX_RETENTION_DAYS = 36_500;

/** Missing fields say "required"; present but wrong ones say what is expected. */
const expected = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "required" : `must be ${what}`;

const RetentionDaysSchema = z
  .number({ error: expected("a number of days") })
  .int({ error: "must be a whole number of days" })
  .min(0, { error: "must be 0 or more" })
  .max(MAX_RETENTION_DAYS, { error: `must be at most ${MAX_RETENTION_DAYS}` });

export const GcBranchRuleSchema = z.strictObject(
  {
    branch_id: z
      .string({ error: expected("a branch name") })
      .min(1, { error: "must not be empty" }),
    retention_days: RetentionDaysSchema,
  },
  { error: expected("an object with branch_id and retention_days") },
);

export const GcRulesSchema = z
  .strictObject(
    {
      default_retention_days: RetentionDaysSchema,
      branches: z.array(GcBranchRuleSchema, { error: expected("a list of branch rules") }),
    },
    { error: expected("a JSON object") },
  )
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.branches.forEach((rule, i) => {
      if (seen.has(rule.branch_id)) {
        ctx.addIssue({
          code: "custom",
          path: ["branches", i, "branch_id"],
          message: `duplicate branch "${rule.branch_id}"`,
        });
      }
      seen.add(rule.branch_id);
    });
  });

export type GcBranchRule = z.infer<typeof GcBranchRuleSchema>;
export type GcRules = z.infer<typeof GcRulesSchema>;

/** Validates rules from a user or the store; the error names every bad field. */
export function parseGcRules(input: unknown): GcRules {
  const result = GcRulesSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const unknown = issue.code === "unrecognized_keys" ? issue.keys : [];
    if (unknown.length > 0) {
      const where = fieldName(issue.path);
      return unknown.map((k) => `${where ? `${where}.` : ""}${k}: unknown field`).join("; ");
    }
    return `${fieldName(issue.path) || "rules"}: ${issue.message}`;
  });
  throw new ValidationError(`invalid GC rules: ${problems.join("; ")}`);
}

function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`))
    .join("");
}

/** Retention in days of a branch: its own rule, else the default. */
export function retentionDaysOf(rules: GcRules, branchId: string): number {
  return retentionLookup(rules)(branchId);
}

/** The same as retentionDaysOf, with the rules indexed once for many branches. */
export function retentionLookup(rules: GcRules): (branchId: string) => number {
  const byBranch = new Map(rules.branches.map((b) => [b.branch_id, b.retention_days]));
  return (branchId) => byBranch.get(branchId) ?? rules.default_retention_days;
}

/**
 * The rules that keep at least what either keeps: per branch (and by default) the longer
 * retention. A sweep revalidates with the mark's rules and today's, whichever keeps more.
 */
export function longestRetention(a: GcRules, b: GcRules): GcRules {
  const ofA = retentionLookup(a);
  const ofB = retentionLookup(b);
  const ids = [...new Set([...a.branches, ...b.branches].map((r) => r.branch_id))].sort();
  return {
    default_retention_days: Math.max(a.default_retention_days, b.default_retention_days),
    branches: ids.map((branch_id) => ({
      branch_id,
      retention_days: Math.max(ofA(branch_id), ofB(branch_id)),
    })),
  };
}
