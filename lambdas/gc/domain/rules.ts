// GC rules of a repository, exactly the JSON lakeFS uses:
// {"default_retention_days": N, "branches": [{"branch_id": "main", "retention_days": M}]}.
import { z } from "zod";
import { ValidationError } from "../../shared/errors";

/** About a hundred years: anything longer is a typo, not a policy. */
export const MAX_RETENTION_DAYS = 36_500;
/** More branch rules than this is not a policy either (and keeps an item well under 400 KB). */
export const MAX_BRANCH_RULES = 1000;

/**
 * How errors in rules are worded. The rules parser and the API (lambdas/api/schemas.ts) word
 * them differently; what is valid is the same.
 */
export interface GcRulesWording {
  notDays: string;
  belowZero: string;
  notBranchName: string;
  notBranchList: string;
  notBranchRule?: string;
  notRules?: string;
}

const PARSER_WORDING: GcRulesWording = {
  notDays: "must be a number of days",
  belowZero: "must be 0 or more",
  notBranchName: "must be a branch name",
  notBranchList: "must be a list of branch rules",
  notBranchRule: "must be an object with branch_id and retention_days",
  notRules: "must be a JSON object",
};

/** Missing fields say "required"; present but wrong ones say what is expected. */
const expected = (message: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "required" : message;

/** The rules schema, its errors in `wording`. */
export function gcRulesSchema(wording: GcRulesWording) {
  const days = z
    .number({ error: expected(wording.notDays) })
    .int({ error: "must be a whole number of days" })
    .min(0, { error: wording.belowZero })
    .max(MAX_RETENTION_DAYS, { error: `must be at most ${MAX_RETENTION_DAYS}` });
  const branchRule = z.strictObject(
    {
      branch_id: z
        .string({ error: expected(wording.notBranchName) })
        .min(1, { error: "must not be empty" }),
      retention_days: days,
    },
    wording.notBranchRule ? { error: expected(wording.notBranchRule) } : undefined,
  );
  return z
    .strictObject(
      {
        default_retention_days: days,
        branches: z
          .array(branchRule, { error: expected(wording.notBranchList) })
          .max(MAX_BRANCH_RULES, { error: `must have at most ${MAX_BRANCH_RULES} branch rules` }),
      },
      wording.notRules ? { error: expected(wording.notRules) } : undefined,
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
}

export const GcRulesSchema = gcRulesSchema(PARSER_WORDING);

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
