// An error no route expects (a bug, a dependency failing in a way nobody mapped) is not the
// client's mistake: the answer has the shape of every error and says nothing of the
// internals; the function's log has the error with its stack. Through the local API Gateway.
import { afterAll, beforeAll, expect, inject, test, vi } from "vitest";
import { logger } from "../../lambdas/shared/logger";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
const repo = "repo-unexpected-error";

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
});
afterAll(() => fake.stop());

/** The JSON lines the API functions log at ERROR while `run` runs (a Lambda logs at INFO). */
async function errorsLoggedDuring<T>(
  run: () => Promise<T>,
): Promise<{ result: T; errors: unknown[] }> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  const level = logger.getLevelName();
  logger.setLogLevel("INFO");
  try {
    const result = await run();
    const errors = written
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"level":"ERROR"'))
      .map((line) => JSON.parse(line));
    return { result, errors };
  } finally {
    logger.setLogLevel(level);
    vi.restoreAllMocks();
  }
}

test("an unexpected error answers 500 without internals and is logged with its stack", async () => {
  const internal = "Cannot read properties of undefined (reading 'S') in table lakeport-internal";
  const store = fake.deps.stores.gc;
  store.getRules = async () => {
    throw new TypeError(internal);
  };
  const { result, errors } = await errorsLoggedDuring(() =>
    apiClient(fake)("GET", `/repositories/${repo}/settings/gc_rules`),
  );
  expect(result).toEqual({ status: 500, body: { message: "internal error" } });
  expect(errors).toEqual([
    expect.objectContaining({
      message: "unhandled error",
      repository: repo,
      error: expect.objectContaining({
        name: "TypeError",
        message: internal,
        stack: expect.stringMatching(/^TypeError: .*\n\s+at /),
      }),
    }),
  ]);
});
