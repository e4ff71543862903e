// Starting an export of a branch through the API and waiting until the branch says it ended.
import { type ApiResponse, eventually, type LakeportEnvironment } from "./lakeport-env";

/**
 * Starts an export of `branch` (the webhook route, or a repair) and returns the branch's
 * export status once that export is no longer in progress.
 */
export async function exportAndWait(
  env: Pick<LakeportEnvironment, "api">,
  repo: string,
  how: "hook" | "repair" = "hook",
  branch = "main",
): Promise<ApiResponse["body"]> {
  const base = `/repositories/${repo}/branches/${branch}`;
  const run =
    how === "hook"
      ? await env.api.post(`${base}/export-hook`)
      : await env.api.post(`${base}/repair-export`, {});
  if (run.status !== 202) throw new Error(`export start: ${run.status} ${run.text}`);
  return await eventually(
    "the export to end",
    async () => {
      const s = (await env.api.get(`${base}/export-status`)).body;
      return s?.exportId === run.body.exportId && s.state !== "in-progress" ? s : undefined;
    },
    180_000,
  );
}
