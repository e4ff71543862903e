// Lakeport's secrets (the webhook token, the lakeFS secret key and the basic auth header made
// of it, the SigV4 signatures of API requests) stay out of everything the deployed app says:
// API answers, every function's output lines, the export's status and its execution's error,
// a GC run and its reports.
// The functions run with Powertools' POWERTOOLS_LOGGER_LOG_EVENT on, as an operator debugging
// a deployment might set it: API Gateway events carry X-Lakeport-Token and Authorization.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { expect, it } from "vitest";
import { uniqueName } from "../support/clients";
import {
  createLakeFsRepository,
  eventually,
  useLakeportEnvironment,
} from "../support/lakeport-env";

const outBucket = uniqueName("secrets-out");
const env = useLakeportEnvironment({
  buckets: [outBucket],
  lambdaEnv: { POWERTOOLS_LOGGER_LOG_EVENT: "true" },
});

/** Every output line of every deployed function. */
function allLines(): string[] {
  return env.deployment.resources
    .filter((r) => r.type === "AWS::Lambda::Function")
    .flatMap((r) => env.deployment.runtime.logs(r.physicalId));
}

function linesOf(logicalId: string): string[] {
  return env.deployment.runtime.logs(env.deployment.physicalId(logicalId));
}

/** The secrets Lakeport holds, as they could show: raw, and the lakeFS basic auth value. */
function secrets(): string[] {
  const { accessKeyId, secretAccessKey } = env.lakefsKeys;
  return [
    env.api.webhookToken,
    secretAccessKey,
    Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString("base64"),
  ];
}

function expectNoSecretIn(what: string, text: string): void {
  for (const secret of secrets())
    expect(text.includes(secret), `${what} shows a secret`).toBe(false);
}

it("keeps the webhook token, given right or wrong, out of the webhook function's lines", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  const delivery = {
    event_type: "post-commit",
    event_time: new Date().toISOString(),
    action_name: "lakeport",
    hook_id: uniqueName("hook"),
    repository_id: repo.id,
    branch_id: "main",
    source_ref: "c".repeat(64),
    commit_id: "c".repeat(64),
  };
  const wrong = `${env.api.webhookToken}-wrong`;
  const refused = await env.api.webhook(delivery, wrong);
  expect(refused.status, refused.text).toBe(403);
  expect(refused.text).not.toContain(wrong);
  const accepted = await env.api.webhook(delivery);
  expect(accepted.status, accepted.text).toBe(202);
  // A refused request ends with "request refused", an accepted one with "... ended".
  const lines = await eventually("both deliveries' last lines", () => {
    const l = linesOf("LakeportApiWebhookFunction");
    const done = (m: string) => l.some((x) => x.includes(m));
    return done("request refused") && done("API webhook ended") ? l : undefined;
  });
  expectNoSecretIn("the webhook function's lines", lines.join("\n"));
  expect(lines.join("\n")).not.toContain(wrong);
});

it("keeps SigV4 signatures of API requests out of the API function's lines", async () => {
  const r = await env.api.get("/repositories/no-such-repo-x/branches/main/continuous-export");
  expect([200, 404, 502]).toContain(r.status);
  const lines = await eventually("the request's end line", () => {
    const l = linesOf("LakeportApiExportFunction");
    return l.some((x) => /API export routes ended|request refused/.test(x)) ? l : undefined;
  });
  expect(lines.join("\n")).not.toMatch(/Signature=[0-9a-f]{64}/);
});

it("a lakeFS call refused: the 502, the lines and the export show no secret", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "data/a.txt", { content: "A" });
  await env.lakefs.commit(repo.id, "main", { message: "a" });
  const cfg = `/repositories/${repo.id}/branches/main/continuous-export`;
  const body = {
    exportPath: `s3://${outBucket}/${repo.id}/data`,
    exportStatusPath: `s3://${outBucket}/${repo.id}/status`,
    isContinuous: false,
  };
  const faults = env.lakefsServer.faults;
  const refusal = { status: 401, message: "error authenticating request" };
  const onRepo = `^[A-Z]+ /api/v1/repositories/${repo.id}`;
  const apiFault = faults.add({ ...refusal, operation: "getRepository", route: onRepo });
  const refused = await env.api.put(cfg, body);
  faults.remove(apiFault.id);
  expect(refused.status, refused.text).toBe(502);
  expect(refused.body.message).toBe("lakeFS answered 401: error authenticating request");
  expectNoSecretIn("the 502", refused.text);

  expect((await env.api.put(cfg, body)).status).toBe(200);
  const planFault = faults.add({ ...refusal, operation: "listObjects", route: onRepo });
  try {
    const run = await env.api.post(`/repositories/${repo.id}/branches/main/export-hook`);
    expect(run.status, run.text).toBe(202);
    const status = await eventually("the export to fail", async () => {
      const s = (await env.api.get(`/repositories/${repo.id}/branches/main/export-status`)).body;
      return s?.state === "export-failed" && s.exportId === run.body.exportId ? s : undefined;
    });
    expect(status.errorMessage).toMatch(/401/);
    expectNoSecretIn("the export status", JSON.stringify(status));
  } finally {
    faults.remove(planFault.id);
  }
  const executions = await env.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: env.resources.exportStateMachineArn }),
  );
  for (const e of executions.executions ?? []) {
    const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    expectNoSecretIn(`execution ${e.name}`, JSON.stringify(d));
  }
  const written = await env.s3.send(
    new ListObjectsV2Command({ Bucket: outBucket, Prefix: `${repo.id}/` }),
  );
  for (const o of written.Contents ?? []) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: outBucket, Key: o.Key }));
    expectNoSecretIn(`s3://${outBucket}/${o.Key}`, await got.Body!.transformToString());
  }
  expectNoSecretIn("the functions' lines", allLines().join("\n"));
});

it("a GC run refused by lakeFS: the run, its reports and the lines show no secret", async () => {
  const repo = await createLakeFsRepository(env, { webhook: false });
  await env.lakefs.uploadObject(repo.id, "main", "x.txt", { content: "x" });
  await env.lakefs.commit(repo.id, "main", { message: "x" });
  const rules = await env.api.put(`/repositories/${repo.id}/settings/gc_rules`, {
    default_retention_days: 1,
    branches: [],
  });
  expect(rules.status, rules.text).toBe(204);
  const fault = env.lakefsServer.faults.add({
    status: 401,
    message: "error authenticating request",
    operation: "logCommits",
    route: `^GET /api/v1/repositories/${repo.id}/`,
  });
  try {
    const start = await env.api.post(`/repositories/${repo.id}/gc/runs`, {});
    expect(start.status, start.text).toBe(202);
    const run = await eventually("the GC run to end", async () => {
      const r = await env.api.get(`/repositories/${repo.id}/gc/runs/${start.body.run_id}`);
      return r.body?.status === "running" ? undefined : r;
    });
    expect(run.body.status, run.text).toBe("failed");
    expect(run.text).toMatch(/401/);
    expectNoSecretIn("the GC run", run.text);
  } finally {
    env.lakefsServer.faults.remove(fault.id);
  }
  const written = await env.s3.send(
    new ListObjectsV2Command({ Bucket: repo.bucket, Prefix: `repos/${repo.id}/_lakefs/` }),
  );
  for (const o of written.Contents ?? []) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: repo.bucket, Key: o.Key }));
    expectNoSecretIn(`s3://${repo.bucket}/${o.Key}`, await got.Body!.transformToString());
  }
  expectNoSecretIn("the functions' lines", allLines().join("\n"));
});
