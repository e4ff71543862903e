// A crashed start (in-progress, no execution) re-driven after the export path changed is
// re-decided for the new configuration and launched (test/unit/export-redrive-config-change
// shows what it launches, with a fake store). Here against the real export store on DynamoDB
// Local: the re-decided state is written over the branch's own in-progress state, which a
// start's compare-and-set refuses by condition (a start never overwrites in-progress), so the
// re-drive used to lose every attempt and throw "too much contention"; the branch stayed
// in-progress without an execution until the stuck-export check failed it.
import { beforeAll, expect, test } from "vitest";
import { createStateStores, type StateStores } from "../../lambdas/api/state-stores";
import { startExport } from "../../lambdas/export/app/start-export";
import { nextConfigVersion } from "../../lambdas/export/domain/export-config";
import { exportIdFor } from "../../lambdas/export/domain/export-id";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import { createStateTable } from "../../local/dynamodb/create-table";
import { FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
import { testDynamoDbClient, uniqueName } from "../support/clients";

const ddb = testDynamoDbClient();
const tableName = uniqueName("lakeport-redrive");
let stores: StateStores;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:export";

beforeAll(async () => {
  await createStateTable(ddb, tableName);
  stores = createStateStores(ddb, tableName);
});

test("a crashed start re-driven after a path change is launched, re-decided, on the real store", async () => {
  const repo = uniqueName("rd");
  const lakefs = new FakeLakeFs().addRepository(repo, `s3://ns/${repo}`, { main: "c2" });
  const configA = {
    repository: repo,
    branch: "main",
    exportPath: "s3://out/a",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: iso(T0),
    configVersion: 1,
  };
  // c1 was exported to a/ (version 1); the start of c2 wrote its state, then crashed.
  const crashed: ExportState = {
    state: "in-progress",
    commitId: "c2",
    lastExportedCommit: "c1",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "incremental",
    exportId: exportIdFor(repo, "main", "c2", 2),
    startedAt: iso(T0 + 1000),
    updatedAt: iso(T0 + 1000),
    repaired: false,
    attempt: 2,
    version: 5,
  };
  expect(await stores.exports.compareAndSetState(repo, "main", undefined, crashed)).toBe(true);
  // A minute later the export path moves to b/.
  const version = nextConfigVersion(configA, crashed, {
    exportPath: "s3://out/b",
    lastKeysInPrefixRegexp: [],
  });
  await stores.exports.putConfig({ ...configA, exportPath: "s3://out/b", configVersion: version });

  const workflows = new FakeWorkflowStarter();
  const result = await startExport(
    {
      exports: stores.exports,
      lakefs: lakefs.asLakeFsApi(),
      workflows,
      exportStateMachineArn: MACHINE,
      // Ten minutes after the crash, a commit event re-drives it.
      now: () => new Date(T0 + 10 * 60_000),
    },
    { repository: repo, branch: "main", trigger: "event" },
  );
  expect(result).toMatchObject({ status: "started", exportId: crashed.exportId });
  const input = workflows.started[0]?.input as ExportWorkflowInput;
  expect(input).toMatchObject({ exportPath: "s3://out/b", mode: "full-copy", configVersion: 2 });
  expect(await stores.exports.getState(repo, "main")).toMatchObject({
    state: "in-progress",
    exportId: crashed.exportId,
    mode: "full-copy",
    configVersion: 2,
    executionArn: workflows.started[0]?.executionArn,
  });
});
