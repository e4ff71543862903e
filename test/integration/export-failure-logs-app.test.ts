import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("exp-log-out");
const env = useLakeportEnvironment({ buckets: [outBucket] });

/** The JSON log lines a deployed function wrote (other lines, like EMF's, left out). */
function logLinesOf(logicalId: string): Record<string, unknown>[] {
  return env.deployment.runtime.logs(env.deployment.physicalId(logicalId)).flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return parsed && typeof parsed === "object" ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

it("logs a failed export at ERROR with its exportId and the reason", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A" });
  await env.lakefs.commit(repo.id, "main", { message: "a" });
  const put = await env.api.put(`/repositories/${repo.id}/branches/main/continuous-export`, {
    exportPath: `s3://${outBucket}/${repo.id}`,
    isContinuous: false,
  });
  expect(put.status, put.text).toBe(200);
  const rule = await env.s3Admin.deny({ bucket: outBucket, prefix: `${repo.id}/` });
  try {
    const run = await env.api.post(`/repositories/${repo.id}/branches/main/export-hook`);
    expect(run.status, run.text).toBe(202);
    const exportId = run.body.exportId as string;
    const failed = await eventually("the export to fail", async () => {
      const s = (await env.api.get(`/repositories/${repo.id}/branches/main/export-status`)).body;
      return s?.state === "export-failed" && s.exportId === exportId ? s : undefined;
    });
    expect(failed.errorMessage).toMatch(/AccessDenied/);

    // The function whose operations failed: each failed shard, with the S3 error.
    const copyErrors = logLinesOf("LakeportExportCopyFunction").filter(
      (l) => l.level === "ERROR" && l.exportId === exportId,
    );
    expect(copyErrors.length).toBeGreaterThan(0);
    expect(JSON.stringify(copyErrors[0])).toMatch(/AccessDenied/);

    // The function that decided the export failed: its keys and the reason.
    const finish = logLinesOf("LakeportExportFinishFunction").find(
      (l) => l.level === "ERROR" && l.exportId === exportId && l.message === "export failed",
    );
    expect(finish).toMatchObject({
      repository: repo.id,
      branch: "main",
      service: "lakeport-export",
    });
    expect(String(finish?.reason)).toMatch(/AccessDenied/);

    // Every step of the export logged its start and end at INFO under the same exportId.
    const plan = logLinesOf("LakeportExportPlanFunction").filter((l) => l.exportId === exportId);
    expect(plan.map((l) => [l.level, l.message])).toEqual(
      expect.arrayContaining([
        ["INFO", "export plan step started"],
        ["INFO", "export plan step ended"],
      ]),
    );
  } finally {
    await env.s3Admin.removeDenyRule(rule.id);
  }
});
