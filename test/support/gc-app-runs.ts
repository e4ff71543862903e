// GC runs through a Lakeport app's API, as the app tests drive them: start one and wait for its
// end, read a mark, read an object through lakeFS (its status when it cannot be read: 410 once
// swept). `env` is a getter: app tests hold their environment in a variable set by beforeAll.
import { expect } from "vitest";
import type { ObjectStats } from "../../lambdas/shared/lakefs/types";
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

/** A repository of labelled commits and objects (their bytes and lakeFS stats by label). */
export interface DatedRepository {
  id: string;
  storageNamespace: string;
  commits: Record<string, string>;
  content: Record<string, string>;
  stats: Record<string, ObjectStats>;
}

/** GC rules of `days` for every branch of `id` (the API answers 204). */
export async function setRetention(
  env: Pick<LakeportEnvironment, "api">,
  id: string,
  days: number,
): Promise<void> {
  const r = await env.api.put(`/repositories/${id}/settings/gc_rules`, {
    default_retention_days: days,
    branches: [],
  });
  expect(r.status, r.text).toBe(204);
}

/**
 * main: c0 (20 days) a=A0 old=O0 keep=K0; c1 (15 days) a=A1; c2 (12 days) old deleted;
 * c3 (10 days) a=A2; c4 (1 day) a=A3. Kept 3 days (the rules set here): c4 and c3 active, the
 * mark A0, O0, A1.
 */
export async function datedRepository(env: LakeportEnvironment): Promise<DatedRepository> {
  const { id, storageNamespace } = await createLakeFsRepository(env, { webhook: false });
  const repo: DatedRepository = { id, storageNamespace, commits: {}, content: {}, stats: {} };
  const now = Math.floor(Date.now() / 1000);
  const put = async (p: string, label: string) => {
    repo.content[label] = `${label}: the bytes of ${p} in ${id}`;
    await env.lakefs.uploadObject(id, "main", p, { content: repo.content[label] });
    repo.stats[label] = await env.lakefs.statObject(id, "main", p);
  };
  const commit = async (label: string, days: number) => {
    repo.commits[label] = (
      await env.lakefs.commit(id, "main", { message: label, date: now - days * DAY })
    ).id;
  };
  await put("a", "A0");
  await put("old", "O0");
  await put("keep", "K0");
  await commit("c0", 20);
  await put("a", "A1");
  await commit("c1", 15);
  await env.lakefs.deleteObject(id, "main", "old");
  await commit("c2", 12);
  await put("a", "A2");
  await commit("c3", 10);
  await put("a", "A3");
  await commit("c4", 1);
  await setRetention(env, id, 3);
  return repo;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function gcAppRuns(env: () => Pick<LakeportEnvironment, "api" | "lakefs">) {
  async function waitRun(repo: string, runId: string, timeoutMs = 60_000) {
    const until = Date.now() + timeoutMs;
    // Quick at first, then a few times a second: each look is an API call and a DynamoDB read
    // on the two cores the run itself needs.
    for (let delay = 20; ; delay = Math.min(250, delay * 2)) {
      const r = await env().api.get(`/repositories/${repo}/gc/runs/${runId}`);
      if (r.body.status !== "running") return r.body;
      if (Date.now() > until) throw new Error(`GC run ${runId} still running`);
      await sleep(delay);
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
