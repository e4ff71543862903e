// The harness itself: the real Lakeport app (synthesized once per run by the global setup)
// deployed on the embedded environment. A commit on the lakeFS dev server fires the webhook
// action, the local API server invokes the deployed webhook function, which puts an event on
// the deployed bus; configuration and GC rules round-trip through the deployed API functions
// and the real CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLakeFsRepository,
  eventually,
  type LakeportEnvironment,
  startLakeportEnvironment,
  type TestRepository,
} from "../support/lakeport-env";

let env: LakeportEnvironment;
let repo: TestRepository;

beforeAll(async () => {
  env = await startLakeportEnvironment();
  repo = await createLakeFsRepository(env);
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

const webhookEvents = () =>
  env.cloud.router.events.filter((e) => e.source === "lakeport.lakefs") as {
    "detail-type": string;
    detail: { repository_id: string; commit_id: string; branch_id: string };
  }[];

describe("the real Lakeport app on the embedded environment", () => {
  it("deploys the API functions, both state machines and the bus of the synthesized stack", () => {
    expect(env.resources.exportStateMachineArn).toMatch(/^arn:aws:states:.*:stateMachine:/);
    expect(env.resources.gcStateMachineArn).toMatch(/^arn:aws:states:.*:stateMachine:/);
    expect(env.resources.eventBusName).toMatch(/Bus/);
    const names = env.deployment.runtime.functionNames();
    expect(names.length).toBeGreaterThanOrEqual(4);
    // API Gateway has no local counterpart (the API server stands in for it).
    const missing = env.deployment.unsupported.filter((u) =>
      /Lambda::|StepFunctions|Events::(Rule|EventBus)|DynamoDB|S3::Bucket|SQS|Scheduler/.test(
        u.type,
      ),
    );
    expect(missing).toEqual([]);
  });

  it("a commit with the action file reaches the bus through the deployed webhook function", async () => {
    await env.lakefsServer.hooksSettled();
    const runs = env.lakefsServer.hookRuns().filter((r) => r.event.repository_id === repo.id);
    expect(runs.map((r) => [r.event.event_type, r.status])).toEqual([["post-commit", 202]]);
    const event = await eventually("the webhook event on the bus", () =>
      webhookEvents().find((e) => e.detail.commit_id === repo.actionsCommit),
    );
    expect(event["detail-type"]).toBe("post-commit");
    expect(event.detail).toMatchObject({ repository_id: repo.id, branch_id: "main" });
    const webhookFn = env.deployment.runtime
      .allStats()
      .find((s) => s.functionName.includes("ApiWebhookFunction"));
    expect(webhookFn?.invocations).toBeGreaterThanOrEqual(1);
  });

  it("a webhook POST is published once; a repeat is a duplicate; a wrong token is refused", async () => {
    const event = {
      event_type: "post-commit",
      hook_id: "lakeport_export",
      repository_id: repo.id,
      branch_id: "main",
      commit_id: "c0ffee",
    };
    const first = await env.api.webhook(event);
    expect(first.status, first.text).toBe(202);
    expect(first.body).toEqual({ published: true, duplicate: false });
    const again = await env.api.webhook(event);
    expect(again.body).toEqual({ published: false, duplicate: true });
    expect((await env.api.webhook(event, "wrong")).status).toBe(403);
    expect(webhookEvents().filter((e) => e.detail.commit_id === "c0ffee")).toHaveLength(1);
  });

  it("PUT then GET of an export configuration", async () => {
    const config = {
      exportPath: `s3://${repo.bucket}/exported`,
      exportStatusPath: `s3://${repo.bucket}/status`,
      lastKeysInPrefixRegexp: [".*/"],
      isContinuous: false,
    };
    const p = `/repositories/${repo.id}/branches/main/continuous-export`;
    const put = await env.api.put(p, config);
    expect(put.status, put.text).toBeLessThan(300);
    const got = await env.api.get(p);
    expect(got.status, got.text).toBe(200);
    expect(got.body).toMatchObject(config);
    expect(
      (await env.api.get(`/repositories/${repo.id}/branches/nope/continuous-export`)).status,
    ).toBe(404);
  });

  it("GC rules round-trip through the API, and the CLI reads them back", async () => {
    const rules = {
      default_retention_days: 7,
      branches: [{ branch_id: "main", retention_days: 30 }],
    };
    const put = await env.api.put(`/repositories/${repo.id}/settings/gc_rules`, rules);
    expect(put.status, put.text).toBeLessThan(300);
    const got = await env.api.get(`/repositories/${repo.id}/settings/gc_rules`);
    expect(got.body).toMatchObject(rules);
    const cli = await env.lakeport(["gc", "get-config", `lakefs://${repo.id}`, "--json"]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject(rules);
  });
});
