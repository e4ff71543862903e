// Starting a branch's export through the API (`POST .../export-hook`) and waiting for it to
// end, as the app tests do on the embedded environment.
import { expect } from "vitest";
import { eventually, type LakeportEnvironment } from "./lakeport-env";

/** Starts an export of the branch's head; `expected` is the answer's status. */
export async function startExport(
  env: LakeportEnvironment,
  repo: string,
  branch = "main",
  expected = 202,
): Promise<{ exportId: string } & Record<string, unknown>> {
  const run = await env.api.post(`/repositories/${repo}/branches/${branch}/export-hook`);
  expect(run.status, run.text).toBe(expected);
  return run.body;
}

/** The branch's export status once the export `exportId` has ended. */
export async function exportEnded(
  env: LakeportEnvironment,
  repo: string,
  exportId: string,
  branch = "main",
  timeoutMs = 120_000,
): Promise<{ state: string } & Record<string, unknown>> {
  return await eventually(
    `export ${exportId} to end`,
    async () => {
      const s = (await env.api.get(`/repositories/${repo}/branches/${branch}/export-status`)).body;
      return s?.exportId === exportId && s.state !== "in-progress" ? s : undefined;
    },
    timeoutMs,
  );
}

/** Exports the branch's head and expects success; the export id and the exported commit. */
export async function exportHeadSuccessfully(
  env: LakeportEnvironment,
  repo: string,
  branch = "main",
): Promise<{ exportId: string; commitId: string }> {
  const { exportId } = await startExport(env, repo, branch);
  const done = await exportEnded(env, repo, exportId, branch);
  expect(done.state, JSON.stringify(done)).toBe("exported-successfully");
  return { exportId, commitId: (await env.lakefs.getBranch(repo, branch)).commit_id };
}
