// Concurrent PUTs of export configurations. One branch's: each stored configuration gets its
// own version, so the export that follows a change is a full export to what is stored. Two
// branches': overlapping export paths are never both stored (a full export deletes whatever
// else is under its path). The requests are held at a read until the other has made it too.
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { apiClient, type FakeApi, startApiWithFakes } from "../support/api-harness";

let fake: FakeApi;
let call: ReturnType<typeof apiClient>;
const repo = "repo-concurrent-config";
const cfg = `/repositories/${repo}/branches/main/continuous-export`;

beforeAll(async () => {
  fake = await startApiWithFakes({ dynamoDbEndpoint: inject("dynamoDbEndpoint") });
  call = apiClient(fake);
  fake.lakefs.addRepository(repo, `s3://lakefs-data/${repo}`, { main: "c1", other: "o1" });
});
afterAll(() => fake.stop());

/** Resolves for the first `n` callers once all `n` have arrived (then at once). */
function gate(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return async () => {
    if (arrived >= n) return;
    arrived++;
    if (arrived === n) open();
    await opened;
  };
}

/** Holds the first `n` calls of the async method `obj[name]` until all `n` have been made. */
function barrier<T extends object>(obj: T, name: keyof T & string, n: number) {
  const original = (obj[name] as (...args: unknown[]) => Promise<unknown>).bind(obj);
  const wait = gate(n);
  (obj as Record<string, unknown>)[name] = async (...args: unknown[]) => {
    await wait();
    return original(...args);
  };
  return () => {
    (obj as Record<string, unknown>)[name] = original;
  };
}

/** The same for a method answering an async iterable (held before its first page). */
function iterableBarrier<T extends object>(obj: T, name: keyof T & string, n: number) {
  const original = (obj[name] as (...args: unknown[]) => AsyncIterable<unknown>).bind(obj);
  const wait = gate(n);
  (obj as Record<string, unknown>)[name] = async function* (...args: unknown[]) {
    await wait();
    yield* original(...args);
  };
  return () => {
    (obj as Record<string, unknown>)[name] = original;
  };
}

test("two changes at once get two versions; the stored one is the version its answer gave", async () => {
  expect((await call("PUT", cfg, { exportPath: "s3://export-bucket/a" })).status).toBe(200);
  const restore = barrier(fake.deps.stores.exports, "getState", 2);
  let answers: { status: number; body: { exportPath: string; configVersion: number } }[];
  try {
    answers = await Promise.all([
      call("PUT", cfg, { exportPath: "s3://export-bucket/b" }),
      call("PUT", cfg, { exportPath: "s3://export-bucket/c" }),
    ]);
  } finally {
    restore();
  }
  for (const a of answers) expect(a.status).toBe(200);
  const versions = answers.map((a) => a.body.configVersion);
  expect(new Set(versions).size).toBe(2);
  const stored = await fake.deps.stores.exports.getConfig(repo, "main");
  const winner = answers.find((a) => a.body.exportPath === stored?.exportPath);
  expect(stored?.configVersion).toBe(winner?.body.configVersion);
  expect(stored?.configVersion).toBe(Math.max(...versions));
});

test("two branches set to overlapping export paths at once: at most one is stored", async () => {
  const restore = iterableBarrier(fake.deps.lakefs, "listRepositories", 2);
  let answers: { status: number; body: { message?: string } }[];
  try {
    answers = await Promise.all([
      call("PUT", `/repositories/${repo}/branches/main/continuous-export`, {
        exportPath: "s3://export-bucket/shared/main",
      }),
      call("PUT", `/repositories/${repo}/branches/other/continuous-export`, {
        exportPath: "s3://export-bucket/shared",
      }),
    ]);
  } finally {
    restore();
  }
  expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(1);
  for (const a of answers.filter((x) => x.status !== 200)) {
    expect(a.status).toBe(400);
    expect(a.body.message).toMatch(/^exportPath: .* overlaps the export path /);
  }
  const main = await fake.deps.stores.exports.getConfig(repo, "main");
  const other = await fake.deps.stores.exports.getConfig(repo, "other");
  // main keeps its configuration of the first test unless its change was the one stored.
  expect(main?.exportPath).toMatch(/^s3:\/\/export-bucket\/(b|c|shared\/main)$/);
  const paths = [main?.exportPath, other?.exportPath].filter((p) => p !== undefined);
  expect(paths.filter((p) => p.startsWith("s3://export-bucket/shared")).length).toBeLessThanOrEqual(
    1,
  );
});

test("a configuration stored before versions and times were recorded is replaced", async () => {
  const legacy = { repository: repo, branch: "legacy", exportPath: "s3://export-bucket/legacy" };
  fake.lakefs.setHead(repo, "legacy", "l1");
  await fake.deps.stores.exports.putConfig({
    ...legacy,
    lastKeysInPrefixRegexp: [],
    isContinuous: false,
  } as unknown as Parameters<typeof fake.deps.stores.exports.putConfig>[0]);
  const r = await call("PUT", `/repositories/${repo}/branches/legacy/continuous-export`, {
    exportPath: "s3://export-bucket/legacy2",
  });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ exportPath: "s3://export-bucket/legacy2", configVersion: 2 });
});

test("a change that keeps losing the race answers 409 and stores nothing", async () => {
  const path = `/repositories/${repo}/branches/main/continuous-export`;
  expect((await call("PUT", path, { exportPath: "s3://export-bucket/steady" })).status).toBe(200);
  const before = await fake.deps.stores.exports.getConfig(repo, "main");
  // Every compare-and-set finds another change stored since the read.
  const exports = fake.deps.stores.exports;
  const original = exports.replaceConfig.bind(exports);
  let attempts = 0;
  exports.replaceConfig = async () => {
    attempts++;
    return false;
  };
  let r: { status: number; body: { message?: string } };
  try {
    r = await call("PUT", path, { exportPath: "s3://export-bucket/never" });
  } finally {
    exports.replaceConfig = original;
  }
  expect(r.status).toBe(409);
  expect(r.body.message).toMatch(/kept changing during this request/);
  expect(attempts).toBe(5);
  expect(await fake.deps.stores.exports.getConfig(repo, "main")).toEqual(before);
});

test("two branches set at once to overlapping paths while the kind index lags: at most one is stored", async () => {
  // In AWS the kind index (listConfigs) shows a write only some time after it: here it shows
  // what was stored before these requests, so neither re-check sees the other's write there.
  fake.lakefs.setHead(repo, "lag1", "l1");
  fake.lakefs.setHead(repo, "lag2", "l2");
  const exports = fake.deps.stores.exports;
  const snapshot = await collect(exports.listConfigs());
  const listConfigs = exports.listConfigs.bind(exports);
  exports.listConfigs = async function* () {
    yield* snapshot;
  };
  const restore = iterableBarrier(fake.deps.lakefs, "listRepositories", 2);
  let answers: { status: number; body: { message?: string } }[];
  try {
    answers = await Promise.all([
      call("PUT", `/repositories/${repo}/branches/lag1/continuous-export`, {
        exportPath: "s3://export-bucket/lagged/inner",
      }),
      call("PUT", `/repositories/${repo}/branches/lag2/continuous-export`, {
        exportPath: "s3://export-bucket/lagged",
      }),
    ]);
  } finally {
    restore();
    exports.listConfigs = listConfigs;
  }
  expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(1);
  const stored = [
    await exports.getConfig(repo, "lag1"),
    await exports.getConfig(repo, "lag2"),
  ].filter((c) => c !== undefined);
  expect(stored.length).toBeLessThanOrEqual(1);
  // A branch's configuration deleted frees its path: the other branch may take it now.
  for (const c of stored) {
    const r = await call("DELETE", `/repositories/${repo}/branches/${c.branch}/continuous-export`);
    expect(r.status).toBe(204);
  }
  const again = await call("PUT", `/repositories/${repo}/branches/lag1/continuous-export`, {
    exportPath: "s3://export-bucket/lagged/inner",
  });
  expect(again.status).toBe(200);
});

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe("a change undone after its re-check", () => {
  // Storing a branch's new configuration releases its previous paths. Another branch may take
  // them before the change is undone (its re-check failed): put back, the previous one shared
  // a path with it, and full exports would delete each other's objects. It is put back only
  // if its paths are still free; otherwise the branch's configuration is removed.
  const undoRepo = "repo-undo-config";
  const put = (branch: string, exportPath: string) =>
    call("PUT", `/repositories/${undoRepo}/branches/${branch}/continuous-export`, { exportPath });

  /** Runs `during` inside the re-check of the next stored change of `branch` to `path`. */
  function duringRecheck(branch: string, path: string, during: () => Promise<void>) {
    const store = fake.deps.stores.exports;
    const replace = store.replaceConfig.bind(store);
    const claims = store.listPathClaims.bind(store);
    let armed = false;
    store.replaceConfig = async (...args) => {
      const ok = await replace(...args);
      if (ok && args[0].branch === branch && args[0].exportPath === path) armed = true;
      return ok;
    };
    store.listPathClaims = (pageSize?: number) => {
      if (!armed) return claims(pageSize);
      armed = false;
      return (async function* () {
        await during();
        yield* claims(pageSize);
      })();
    };
    return () => {
      store.replaceConfig = replace;
      store.listPathClaims = claims;
    };
  }

  async function claimsOf(branches: string[]) {
    const out: Record<string, string | undefined> = {};
    for (const b of branches) {
      out[b] = (await fake.deps.stores.exports.getConfig(undoRepo, b))?.exportPath;
    }
    return out;
  }

  beforeAll(() => {
    fake.lakefs.addRepository(undoRepo, `s3://lakefs-data/${undoRepo}`, {
      a: "c1",
      c: "c1",
      e: "c1",
      f: "c1",
      g: "c1",
    });
  });

  test("whose re-check failed (throttled) does not put back a path another branch took", async () => {
    expect((await put("a", "s3://export-bucket/undo/p")).status).toBe(200);
    let taken = 0;
    const restore = duringRecheck("a", "s3://export-bucket/undo/q", async () => {
      taken = (await put("c", "s3://export-bucket/undo/p")).status;
      throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
        name: "ThrottlingException",
      });
    });
    let answer: { status: number };
    try {
      answer = await put("a", "s3://export-bucket/undo/q");
    } finally {
      restore();
    }
    expect(taken).toBe(200);
    expect(answer.status).toBe(500);
    // c holds p; a's previous configuration (p) was not put back beside it.
    expect(await claimsOf(["a", "c"])).toEqual({ a: undefined, c: "s3://export-bucket/undo/p" });
  });

  test("whose re-check found an overlap does not put back a path another branch took", async () => {
    expect((await put("e", "s3://export-bucket/undo2/p")).status).toBe(200);
    const restore = duringRecheck("e", "s3://export-bucket/undo2/q", async () => {
      // f takes e's old path; g is stored at e's new one (as a request at its store would be).
      expect((await put("f", "s3://export-bucket/undo2/p")).status).toBe(200);
      const now = new Date().toISOString();
      const g = {
        repository: undoRepo,
        branch: "g",
        exportPath: "s3://export-bucket/undo2/q",
        lastKeysInPrefixRegexp: [],
        isContinuous: false,
        configVersion: 1,
        updatedAt: now,
      };
      expect(await fake.deps.stores.exports.replaceConfig(g as never, undefined)).toBe(true);
    });
    let answer: { status: number; body: { message?: string } };
    try {
      answer = await put("e", "s3://export-bucket/undo2/q");
    } finally {
      restore();
    }
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(
      /overlaps the export path s3:\/\/export-bucket\/undo2\/q of lakefs:\/\/repo-undo-config@g .*has no export configuration now: its previous export path was taken by another branch or a GC backup meanwhile/,
    );
    expect(await claimsOf(["e", "f", "g"])).toEqual({
      e: undefined,
      f: "s3://export-bucket/undo2/p",
      g: "s3://export-bucket/undo2/q",
    });
  });
});
