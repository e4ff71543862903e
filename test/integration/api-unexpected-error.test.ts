// An error no route expects (a bug, a dependency failing in a way nobody mapped) is not the
// client's mistake: the answer has the shape of every error and says nothing of the
// internals; the function logs the error itself at ERROR (Powertools writes its stack).
// Through the local API Gateway.
import { afterAll, afterEach, beforeAll, expect, inject, test, vi } from "vitest";
import { logger } from "../../lambdas/shared/logger";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
const repo = "repo-unexpected-error";

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1" });
});
afterAll(() => fake.stop());
afterEach(() => vi.restoreAllMocks());

/** What the API functions pass to logger.error while `run` runs: [message, error]. */
async function errorsLoggedDuring<T>(run: () => Promise<T>) {
  const error = vi.spyOn(logger, "error");
  const result = await run();
  return { result, errors: error.mock.calls.map(([message, err]) => ({ message, err })) };
}

const loggedWithStack = (internal: string) =>
  expect.objectContaining({
    message: "unhandled error",
    err: expect.objectContaining({
      name: "TypeError",
      message: internal,
      stack: expect.stringMatching(/^TypeError: .*\n\s+at /),
    }),
  });

test("an unexpected error answers 500 without internals and is logged with its stack", async () => {
  const internal = "Cannot read properties of undefined (reading 'S') in table lakeport-internal";
  const store = fake.deps.stores.gc;
  const getRules = store.getRules;
  store.getRules = async () => {
    throw new TypeError(internal);
  };
  try {
    const { result, errors } = await errorsLoggedDuring(() =>
      apiClient(fake)("GET", `/repositories/${repo}/settings/gc_rules`),
    );
    expect(result).toEqual({ status: 500, body: { message: "internal error" } });
    expect(errors).toEqual([loggedWithStack(internal)]);
  } finally {
    store.getRules = getRules;
  }
});

// The configuration is stored before its continuous export starts; a start that fails then is
// reported in the 200's `export`, in the same words as an error answer (it answered the
// error's own message, and logged nothing).
test("an unexpected error starting the export after storing a configuration: no internals, logged with its stack", async () => {
  const internal = "Cannot read properties of undefined (reading 'M') in table lakeport-internal";
  const store = fake.deps.stores.exports;
  const compareAndSetState = store.compareAndSetState;
  store.compareAndSetState = async () => {
    throw new TypeError(internal);
  };
  try {
    const { result, errors } = await errorsLoggedDuring(() =>
      apiClient(fake)("PUT", `/repositories/${repo}/branches/main/continuous-export`, {
        exportPath: "s3://export-bucket/unexpected",
        isContinuous: true,
      }),
    );
    expect(result).toMatchObject({
      status: 200,
      body: {
        exportPath: "s3://export-bucket/unexpected",
        export: { status: "error", message: "internal error" },
      },
    });
    expect(errors).toEqual([loggedWithStack(internal)]);
  } finally {
    store.compareAndSetState = compareAndSetState;
  }
});
