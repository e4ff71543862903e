// When lakeFS fails or refuses Lakeport's credentials, the API answers 502 naming lakeFS and
// what it answered, not a bare 500, and never shows the credentials.
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { LakeFsCredentialsError } from "../../lambdas/shared/lakefs/credentials";
import {
  LakeFsNetworkError,
  LakeFsServerError,
  LakeFsUnauthorizedError,
} from "../../lambdas/shared/lakefs/errors";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-lakefs-failures";
const cfg = `/repositories/${repo}/branches/main/continuous-export`;

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
});
afterAll(() => fake.stop());

async function answerWhile(err: Error) {
  const original = fake.lakefs.getRepository.bind(fake.lakefs);
  fake.lakefs.getRepository = async () => {
    throw err;
  };
  try {
    return await call("PUT", cfg, { exportPath: "s3://export-bucket/failures" });
  } finally {
    fake.lakefs.getRepository = original;
  }
}

test("lakeFS refusing the credentials: 502 with lakeFS's answer, nothing stored", async () => {
  const r = await answerWhile(
    new LakeFsUnauthorizedError(
      "lakeFS getRepository: 401 error authenticating request",
      401,
      "error authenticating request",
    ),
  );
  expect(r.status).toBe(502);
  expect(r.body).toEqual({ message: "lakeFS answered 401: error authenticating request" });
  expect(await fake.deps.stores.exports.getConfig(repo, "main")).toBeUndefined();
});

test("lakeFS failing or unreachable: 502 naming lakeFS", async () => {
  const failing = await answerWhile(
    new LakeFsServerError("lakeFS getRepository: 503 unavailable", 503, "unavailable"),
  );
  expect(failing.status).toBe(502);
  expect(failing.body.message).toBe("lakeFS answered 503: unavailable");
  const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:8000"), {
    code: "ECONNREFUSED",
  });
  const unreachable = await answerWhile(
    new LakeFsNetworkError(
      "lakeFS getRepository: connection failed (ECONNREFUSED) (GET http://10.0.0.1:8000/api/v1/repositories/x)",
      refused,
    ),
  );
  expect(unreachable.status).toBe(502);
  expect(unreachable.body.message).toMatch(/^lakeFS could not be reached: connection failed/);
  expect(unreachable.body.message).not.toContain("10.0.0.1");
});

test("credentials that cannot be read: 502 that shows no secret detail", async () => {
  const r = await answerWhile(
    new LakeFsCredentialsError(
      "lakeFS credentials: secret arn:aws:secretsmanager:us-east-1:123456789012:secret:lakefs is not JSON",
    ),
  );
  expect(r.status).toBe(502);
  expect(r.body.message).toMatch(/^lakeFS: Lakeport's lakeFS credentials could not be read/);
  expect(r.body.message).not.toContain("secretsmanager");
});
