import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { FAKE_WEBHOOK_TOKEN, type FakeApi, startApiWithFakes } from "../support/api-harness";
import { lakeportRestApi } from "../support/lakeport-env";

let fake: FakeApi;
beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
});
afterAll(() => fake.stop());

const payload = (commit: string) => ({
  event_type: "post-commit",
  event_time: "2026-11-23T00:00:00Z",
  action_name: "lakeport",
  hook_id: "lakeport_export",
  repository_id: "repo-hook",
  branch_id: "main",
  source_ref: "main",
  commit_id: commit,
  commit_message: "add data",
  committer: "admin",
  commit_metadata: { k: "v" },
});

async function deliver(body: unknown, token: string | null = FAKE_WEBHOOK_TOKEN, query = "") {
  const res = await fetch(`${fake.base}/webhooks/lakefs${query}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token !== null ? { "x-lakeport-token": token } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test("publishes one event per delivery; a repeated delivery is not published again", async () => {
  const before = fake.events.events.length;
  expect(await deliver(payload("c100"))).toEqual({
    status: 202,
    body: { published: true, duplicate: false },
  });
  expect(fake.events.events.at(-1)).toEqual({
    source: "lakeport.lakefs",
    detailType: "post-commit",
    detail: payload("c100"),
  });
  expect(await deliver(payload("c100"))).toEqual({
    status: 200,
    body: { published: false, duplicate: true },
  });
  expect(await deliver({ ...payload("c100"), event_type: "post-merge" })).toMatchObject({
    status: 202,
  });
  expect(fake.events.events.length - before).toBe(2);
});

test.each([
  ["post-revert", "c104"],
  ["post-cherry-pick", "c105"],
])(
  "a %s event (a commit made by a revert or cherry-pick) is published like a commit's",
  async (type, commit) => {
    const revert = { ...payload(commit), event_type: type };
    expect(await deliver(revert)).toEqual({
      status: 202,
      body: { published: true, duplicate: false },
    });
    expect(fake.events.events.at(-1)).toEqual({
      source: "lakeport.lakefs",
      detailType: type,
      detail: revert,
    });
  },
);

test("a commit with a large message and metadata is published with the fields naming it", async () => {
  // Over EventBridge's 256 KB and over the API's 64 KiB for other routes; lakeFS sends it all.
  const big = {
    ...payload("c106"),
    commit_message: "m".repeat(100_000),
    commit_metadata: { schema: "s".repeat(300_000) },
  };
  expect(await deliver(big)).toEqual({ status: 202, body: { published: true, duplicate: false } });
  const published = fake.events.events.at(-1);
  expect(published?.detail).toEqual({
    event_type: "post-commit",
    event_time: "2026-11-23T00:00:00Z",
    action_name: "lakeport",
    hook_id: "lakeport_export",
    repository_id: "repo-hook",
    branch_id: "main",
    source_ref: "main",
    commit_id: "c106",
    committer: "admin",
    lakeport_omitted_fields: ["commit_message", "commit_metadata"],
  });
  // A payload that fits is published whole (above); past what a Lambda takes: 413.
  const huge = { ...payload("c107"), commit_metadata: { schema: "s".repeat(5 * 1024 * 1024) } };
  expect((await deliver(huge)).status).toBe(413);
});

test("the limits the README gives: published whole up to 200 KiB, taken up to 4 MiB", async () => {
  /** A payload of exactly `bytes` bytes of JSON, the commit message filling it. */
  const sized = (commit: string, bytes: number) => {
    const p = { ...payload(commit), commit_message: "" };
    return { ...p, commit_message: "m".repeat(bytes - Buffer.byteLength(JSON.stringify(p))) };
  };
  // 190 KiB: over the other routes' 64 KiB, under the bus limit: the detail is the payload.
  const fits = sized("c108", 190 * 1024);
  expect(await deliver(fits)).toEqual({ status: 202, body: { published: true, duplicate: false } });
  expect(fake.events.events.at(-1)?.detail).toEqual(fits);
  // 4 MiB exactly: taken, trimmed for the bus; one byte more: 413, nothing published.
  const largest = sized("c109", 4 * 1024 * 1024);
  expect(await deliver(largest)).toEqual({
    status: 202,
    body: { published: true, duplicate: false },
  });
  expect(fake.events.events.at(-1)?.detail).toMatchObject({
    commit_id: "c109",
    lakeport_omitted_fields: ["commit_message", "commit_metadata"],
  });
  const before = fake.events.events.length;
  const over = await deliver(sized("c110", 4 * 1024 * 1024 + 1));
  expect(over.status).toBe(413);
  expect(fake.events.events.length).toBe(before);
});

test("a payload whose proxy event is over Lambda's 6 MB is refused by API Gateway, though under 4 MiB", async () => {
  // Metadata holding JSON: each quote is two bytes in lakeFS's payload and four in the event.
  const quoted = (commit: string, chars: number) => ({
    ...payload(commit),
    commit_metadata: { schema: '"'.repeat(chars) },
  });
  const before = fake.events.events.length;
  const refused = quoted("c111", 1.6 * 1024 * 1024);
  expect(Buffer.byteLength(JSON.stringify(refused))).toBeLessThan(4 * 1024 * 1024);
  expect(await deliver(refused)).toEqual({ status: 413, body: { message: "Request Too Long" } });
  expect(fake.events.events.length).toBe(before);
  // Just under 3 MiB of the same: the event fits, the function takes it.
  const taken = quoted("c112", 1.5 * 1024 * 1024 - 1024);
  expect(Buffer.byteLength(JSON.stringify(taken))).toBeLessThanOrEqual(3 * 1024 * 1024);
  expect((await deliver(taken)).status).toBe(202);
});

test("needs the shared secret (no bearer token)", async () => {
  const before = fake.events.events.length;
  expect(await deliver(payload("c101"), null)).toEqual({
    status: 401,
    body: { message: "missing X-Lakeport-Token header" },
  });
  expect(await deliver(payload("c101"), "wrong")).toEqual({
    status: 403,
    body: { message: "wrong X-Lakeport-Token header" },
  });
  expect(fake.events.events.length).toBe(before);
});

test("validates the payload", async () => {
  expect(await deliver({ ...payload("c102"), event_type: "pre-commit" })).toEqual({
    status: 400,
    body: {
      message: "event_type: must be post-commit, post-merge, post-revert or post-cherry-pick",
    },
  });
  const { commit_id: _c, ...noCommit } = payload("c102");
  expect(await deliver(noCommit)).toEqual({
    status: 400,
    body: { message: "commit_id: required" },
  });
});

// The fields naming the event are published even when the rest is left out for EventBridge's
// 256 KB: one of them 300 KB long made an event the bus refuses, answered 502 as its failure.
test.each(["hook_id", "commit_id", "event_time", "action_name", "source_ref", "committer"])(
  "a %s longer than 1024 characters is refused (400), nothing published",
  async (field) => {
    const before = fake.events.events.length;
    const r = await deliver({ ...payload(`c-long-${field}`), [field]: "x".repeat(300_000) });
    expect(r).toEqual({
      status: 400,
      body: { message: `${field}: must be at most 1024 characters` },
    });
    expect(fake.events.events.length).toBe(before);
  },
);

// Other routes refuse query parameters they do not take; a lakeFS hook's URL may carry its own
// (the hook's query_params).
test("a delivery whose URL carries the hook's query parameters is published", async () => {
  const r = await deliver(payload("c-query"), FAKE_WEBHOOK_TOKEN, "?env=prod&source=lakefs");
  expect(r).toEqual({ status: 202, body: { published: true, duplicate: false } });
});

test("a failed publish can be retried by lakeFS", async () => {
  fake.events.failWith = "bus unavailable";
  try {
    const r = await deliver(payload("c103"));
    expect(r).toEqual({
      status: 502,
      body: {
        message: "could not publish the event (Error; the webhook function's log has the details)",
      },
    });
  } finally {
    fake.events.failWith = undefined;
  }
  expect(await deliver(payload("c103"))).toMatchObject({ status: 202, body: { published: true } });
});

test("a failed publish answers the bus error's name, not its message (it names the account and role)", async () => {
  // lakeFS keeps a hook's answer in its action runs, which its users read.
  fake.events.failWith = Object.assign(
    new Error(
      "User: arn:aws:sts::123456789012:assumed-role/Lakeport-WebhookRole/fn is not authorized to perform: events:PutEvents",
    ),
    { name: "AccessDeniedException" },
  );
  try {
    const r = await deliver(payload("c105"));
    expect(r).toEqual({
      status: 502,
      body: {
        message:
          "could not publish the event (AccessDeniedException; the webhook function's log has the details)",
      },
    });
    expect(JSON.stringify(r.body)).not.toMatch(/123456789012|WebhookRole/);
  } finally {
    fake.events.failWith = undefined;
  }
});

test("a failed publish whose claim release is throttled stays retryable, and answers 502", async () => {
  // The release of the claim was not retried: its error made the answer a 500, and the claim
  // stayed, so lakeFS's retry of the delivery was dropped as a repeat.
  const store = fake.deps.stores.webhooks;
  const release = store.release.bind(store);
  let refused = 0;
  store.release = async (key: string) => {
    if (refused++ === 0) {
      throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
        name: "ThrottlingException",
      });
    }
    return release(key);
  };
  fake.events.failWith = "bus unavailable";
  try {
    const r = await deliver(payload("c104"));
    expect(r).toEqual({
      status: 502,
      body: {
        message: "could not publish the event (Error; the webhook function's log has the details)",
      },
    });
  } finally {
    fake.events.failWith = undefined;
    store.release = release;
  }
  expect(refused).toBe(2);
  expect(await deliver(payload("c104"))).toMatchObject({ status: 202, body: { published: true } });
});

test("the webhook function starts from its own environment without lakeFS settings", async () => {
  const { startApiServer } = await import("../../local/api/server");
  const api = await startApiServer({
    restApi: await lakeportRestApi(),
    env: {
      TABLE_NAME: fake.tableName,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_ENDPOINT_URL_DYNAMODB: inject("dynamoDbEndpoint"),
      // Nothing listens here: publishing fails, and the delivery must stay retryable.
      AWS_ENDPOINT_URL_EVENTBRIDGE: "http://127.0.0.1:9",
      EVENT_BUS_NAME: "lakeport",
      WEBHOOK_TOKEN: "env-token",
    },
  });
  try {
    const send = async () => {
      const res = await fetch(`${api.endpoint}/api/v1/webhooks/lakefs`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-lakeport-token": "env-token" },
        body: JSON.stringify(payload("c200")),
      });
      return { status: res.status, body: (await res.json()) as { message: string } };
    };
    const first = await send();
    expect(first.status).toBe(502);
    expect(first.body.message).toMatch(/^could not publish the event \(/);
    expect((await send()).status).toBe(502); // released, not taken for a repeat
  } finally {
    await api.stop();
  }
});
