// A new export path may not overlap the old one, which is left as it is (a full export deletes
// whatever else is under its path). The check compared the new path with the configuration it
// replaces only: a path changed twice before any export ran there (A, exported; B, a typo;
// then C around A) let the full export to C delete the branch's export at A. The branch's
// state now records where its exports write and where the last successful one wrote.
import { expect, it } from "vitest";
import type { ApiDeps } from "../../lambdas/api/deps";
import { exportRoutes } from "../../lambdas/api/handlers/export";
import { routeKey } from "../../lambdas/api/routes";
import type { ExportConfig } from "../../lambdas/export/domain/export-config";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { decideDone, decideStart } from "../../lambdas/export/domain/transitions";
import { FakeLakeFs } from "../support/api-fakes";

const now = "2026-01-01T00:00:00.000Z";

it("the branch's state records the export path its exports write", () => {
  const started = decideStart(undefined, {
    commitId: "c1",
    trigger: "run",
    isContinuous: false,
    configVersion: 1,
    exportPath: "s3://out/a",
    now,
    exportIdFor: (n) => `e${n}`,
  });
  expect(started).toMatchObject({ kind: "start", next: { exportPath: "s3://out/a" } });
  if (started.kind !== "start") return;
  const done = decideDone(started.next, {
    exportId: "e1",
    commitId: "c1",
    outcome: { status: "succeeded" },
    now,
  });
  expect(done).toMatchObject({ next: { exportedPath: "s3://out/a" } });
  if (done.kind !== "done") return;
  // The next export, to another path, fails: the last success still lives at a.
  const next = decideStart(done.next, {
    commitId: "c2",
    trigger: "run",
    isContinuous: false,
    configVersion: 2,
    exportPath: "s3://other/b",
    now,
    exportIdFor: (n) => `e${n}`,
  });
  expect(next).toMatchObject({
    next: { exportPath: "s3://other/b", exportedPath: "s3://out/a" },
  });
  if (next.kind !== "start") return;
  const failed = decideDone(next.next, {
    exportId: "e2",
    commitId: "c2",
    outcome: { status: "failed", errorMessage: "denied" },
    now,
  });
  expect(failed).toMatchObject({
    next: { exportPath: "s3://other/b", exportedPath: "s3://out/a" },
  });
});

/** The PUT route with the branch configured at `previous` and exported as `state` says. */
function putRoute(previous: ExportConfig, state: ExportState) {
  const stored: ExportConfig[] = [];
  const lakefs = new FakeLakeFs().addRepository("repo", "s3://ns/repo", { main: "c1" });
  const deps = {
    stores: {
      exports: {
        getConfig: async () => previous,
        getState: async () => state,
        replaceConfig: async (c: ExportConfig) => {
          stored.push(c);
          return true;
        },
        restoreConfig: async () => undefined,
        listPathClaims: async function* () {},
        listConfigs: async function* () {},
      },
      backupLocations: { list: async function* () {} },
    },
    lakefs: lakefs.asLakeFsApi(),
    exportBuckets: "any",
    workBucket: "lakeport-work",
    now: () => new Date(now),
  } as unknown as ApiDeps;
  const route =
    exportRoutes[
      routeKey("PUT", "/api/v1/repositories/{repository}/branches/{branch}/continuous-export")
    ]!;
  const put = (exportPath: string, exportStatusPath?: string) =>
    route(
      {
        pathParameters: { repository: "repo", branch: "main" },
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          exportPath,
          isContinuous: false,
          ...(exportStatusPath ? { exportStatusPath } : {}),
        }),
      } as never,
      deps,
    );
  return { put, stored };
}

const exportedAtA: ExportState = {
  state: "exported-successfully",
  commitId: "c1",
  lastExportedCommit: "c1",
  exportId: "e1",
  updatedAt: now,
  repaired: false,
  attempt: 1,
  version: 3,
  mode: "full-copy",
  configVersion: 1,
  exportedConfigVersion: 1,
  exportPath: "s3://out/a",
  exportedPath: "s3://out/a",
};

const configuredAtB: ExportConfig = {
  repository: "repo",
  branch: "main",
  exportPath: "s3://other/b",
  lastKeysInPrefixRegexp: [],
  isContinuous: false,
  updatedAt: now,
  configVersion: 2,
};

it("a path around the branch's export is refused after the path was changed once more", async () => {
  const { put, stored } = putRoute(configuredAtB, exportedAtA);
  await expect(put("s3://out")).rejects.toThrow(
    /^exportPath: s3:\/\/out overlaps the previous export path s3:\/\/out\/a, which is left as it is/,
  );
  await expect(put("s3://out/a/inside")).rejects.toThrow(
    /overlaps the previous export path s3:\/\/out\/a/,
  );
  expect(stored).toEqual([]);
  // Back to a itself, or beside it: stored.
  await put("s3://out/a");
  await put("s3://out/c");
  expect(stored.map((c) => c.exportPath)).toEqual(["s3://out/a", "s3://out/c"]);
});

it("the last successful export's path is kept after a failed export elsewhere", async () => {
  const failedAtB: ExportState = {
    ...exportedAtA,
    state: "export-failed",
    commitId: "c2",
    exportId: "e2",
    exportPath: "s3://other/b",
    configVersion: 2,
    errorMessage: "denied",
  };
  const { put, stored } = putRoute(configuredAtB, failedAtB);
  await expect(put("s3://out")).rejects.toThrow(/overlaps the previous export path s3:\/\/out\/a/);
  await expect(put("s3://other")).rejects.toThrow(
    /overlaps the previous export path s3:\/\/other\/b/,
  );
  expect(stored).toEqual([]);
});

it("a status path inside (or around) a previous export path is refused: the old export is left as it is", async () => {
  const { put, stored } = putRoute(configuredAtB, exportedAtA);
  await expect(put("s3://out/c", "s3://out/a/_status")).rejects.toThrow(
    /^exportStatusPath: s3:\/\/out\/a\/_status overlaps the previous export path s3:\/\/out\/a, which is left as it is/,
  );
  await expect(put("s3://out/c", "s3://other")).rejects.toThrow(
    /^exportStatusPath: s3:\/\/other overlaps the previous export path s3:\/\/other\/b/,
  );
  expect(stored).toEqual([]);
  await put("s3://out/c", "s3://out/status");
  expect(stored.map((c) => c.exportStatusPath)).toEqual(["s3://out/status"]);
});
