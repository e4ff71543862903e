// GC runs through a Lakeport app's API, as the app tests drive them: start one and wait for its
// end, read a mark, read an object through lakeFS (its status when it cannot be read: 410 once
// swept). `env` is a getter: app tests hold their environment in a variable set by beforeAll.
import { expect } from "vitest";
import { createLakeFsRepository, type LakeportEnvironment } from "./lakeport-env";

export const DAY = 86_400;

/**
 * A repository whose main wrote `a` twice: c0 20 days ago ("old a"), c1 10 days ago ("new a");
 * `now` in seconds, for the commits a test adds.
 */
export async function repositoryWithOldA(
  env: LakeportEnvironment,
): Promise<{ id: string; c0: string; now: number }> {
  const { id } = await createLakeFsRepository(env, { webhook: false });
  const now = Math.floor(Date.now() / 1000);
  await env.lakefs.uploadObject(id, "main", "a", { content: "old a" });
  const c0 = (await env.lakefs.commit(id, "main", { message: "c0", date: now - 20 * DAY })).id;
  await env.lakefs.uploadObject(id, "main", "a", { content: "new a" });
  await env.lakefs.commit(id, "main", { message: "c1", date: now - 10 * DAY });
  return { id, c0, now };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function gcAppRuns(env: () => Pick<LakeportEnvironment, "api" | "lakefs">) {
  async function waitRun(repo: string, runId: string, timeoutMs = 60_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await env().api.get(`/repositories/${repo}/gc/runs/${runId}`);
      if (r.body.status !== "running") return r.body;
      if (Date.now() > until) throw new Error(`GC run ${runId} still running`);
      await sleep(100);
    }
  }
  async function startGc(repo: string, body: unknown): Promise<string> {
    const r = await env().api.post(`/repositories/${repo}/gc/runs`, body);
    expect(r.status, r.text).toBe(202);
    return r.body.run_id as string;
  }
  return {
    waitRun,
    startGc,
    gc: async (repo: string, body: unknown) => waitRun(repo, await startGc(repo, body)),
    async markOf(repo: string, markId = "m1") {
      const r = await env().api.get(`/repositories/${repo}/gc/marks/${markId}`);
      expect(r.status, r.text).toBe(200);
      return r.body;
    },
    async read(repo: string, ref: string, p: string): Promise<string | number> {
      try {
        return new TextDecoder().decode((await env().lakefs.getObject(repo, ref, p)).body);
      } catch (err) {
        return (err as { status?: number }).status ?? -1;
      }
    },
  };
}
