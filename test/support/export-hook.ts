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

/**
 * Starts an export of main's head (`repair`: a repair instead, `{ full: true }` reconciling the
 * whole export path) and returns the branch's export status once it has ended.
 */
export async function exportOrRepairMain(
  env: LakeportEnvironment,
  repo: string,
  repair?: { full?: boolean },
): Promise<{ state: string } & Record<string, unknown>> {
  const run = repair
    ? await env.api.post(`/repositories/${repo}/branches/main/repair-export`, repair)
    : await env.api.post(`/repositories/${repo}/branches/main/export-hook`);
  expect(run.status, run.text).toBe(202);
  return exportEnded(env, repo, run.body.exportId as string);
}

/** Commits on main: each path's new content, or its deletion (null). The commit id. */
export async function commitOnMain(
  env: LakeportEnvironment,
  repo: string,
  files: Record<string, string | null>,
): Promise<string> {
  for (const [p, content] of Object.entries(files)) {
    if (content === null) await env.lakefs.deleteObject(repo, "main", p);
    else await env.lakefs.uploadObject(repo, "main", p, { content });
  }
  return (await env.lakefs.commit(repo, "main", { message: "change" })).id;
}
