// The lakeFS action file that sends post-commit, post-merge, post-revert and post-cherry-pick
// events (a revert or cherry-pick fires no post-commit) to Lakeport's webhook route. The token is not in the file (which is committed, readable by anyone who can read the
// repository): it is a lakeFS secret reference, `{{ ENV.LAKEFSACTION_LAKEPORT_TOKEN }}`,
// replaced by lakeFS from its own environment when the action runs (lakeFS reads only
// variables starting with LAKEFSACTION_). README's "Connecting lakeFS" shows the same file.
import { WEBHOOK_TOKEN_HEADER } from "../lambdas/api/handlers/webhook";

/** The variable lakeFS must have in its environment: the webhook token. */
export const WEBHOOK_TOKEN_ACTION_VARIABLE = "LAKEFSACTION_LAKEPORT_TOKEN";

export function lakeportActionYaml(
  webhookUrl: string,
  opts: { branches?: string[]; name?: string; timeout?: string } = {},
): string {
  const on = opts.branches?.length
    ? `\n    branches: [${opts.branches.map((b) => JSON.stringify(b)).join(", ")}]`
    : "";
  return [
    `name: ${opts.name ?? "Lakeport continuous export"}`,
    "on:",
    `  post-commit:${on}`,
    `  post-merge:${on}`,
    `  post-revert:${on}`,
    `  post-cherry-pick:${on}`,
    "hooks:",
    "  - id: lakeport_export",
    "    type: webhook",
    "    properties:",
    `      url: ${JSON.stringify(webhookUrl)}`,
    `      timeout: ${opts.timeout ?? "30s"}`,
    "      headers:",
    `        ${WEBHOOK_TOKEN_HEADER}: "{{ ENV.${WEBHOOK_TOKEN_ACTION_VARIABLE} }}"`,
    "",
  ].join("\n");
}
