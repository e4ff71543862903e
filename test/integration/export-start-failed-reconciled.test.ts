// A StartExecution whose answer was lost, looked up at once by name: Step Functions may not
// know the execution yet (the request that creates it is still in flight, or a retry of it
// lands later), so "does not exist" does not prove that nothing will run. The branch is then
// export-failed; if the execution runs after all, its end names the branch's own failed export
// and changes nothing, and the repair must still bring back every path it touched. The start
// failure used to be recorded without the export among the failed exports to reconcile, so the
// repair was an incremental diff from the last success that left the older commit's copies in
// the export path, and said exported-successfully / export-repaired.
import { beforeAll, expect, test } from "vitest";
import { createStateStores, type StateStores } from "../../lambdas/api/state-stores";
import { handleExecutionStatusChange } from "../../lambdas/export/app/finish-export";
import { startExport } from "../../lambdas/export/app/start-export";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import type { ExportWorkflowInput } from "../../lambdas/export/domain/workflow-input";
import { createStateTable } from "../../local/dynamodb/create-table";
import { FakeLakeFs, FakeWorkflowStarter } from "../support/api-fakes";
import { testDynamoDbClient, uniqueName } from "../support/clients";

const ddb = testDynamoDbClient();
const tableName = uniqueName("lakeport-startfail");
let stores: StateStores;
const MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:export";

beforeAll(async () => {
  await createStateTable(ddb, tableName);
  stores = createStateStores(ddb, tableName);
});

/** The request reaches Step Functions after the answer was given up and the lookup made. */
class LateStarter extends FakeWorkflowStarter {
  late: { name: string; input: unknown } | undefined;
  override async start(machine: string, name: string, input: unknown): Promise<string> {
    if (!this.late) {
      this.late = { name, input };
      throw new Error("TimeoutError: socket timed out");
    }
    return super.start(machine, name, input);
  }
}

test("a start recorded failed whose execution ran after all is reconciled by the repair", async () => {
  const repo = uniqueName("sf");
  const lakefs = new FakeLakeFs().addRepository(repo, `s3://ns/${repo}`, { main: "c2" });
  await stores.exports.putConfig({
    repository: repo,
    branch: "main",
    exportPath: "s3://out/x",
    lastKeysInPrefixRegexp: [],
    isContinuous: true,
    updatedAt: new Date().toISOString(),
    configVersion: 1,
  });
  const exported: ExportState = {
    state: "exported-successfully",
    commitId: "c1",
    lastExportedCommit: "c1",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "full-copy",
    exportId: `${repo}-main-c1-1`,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    updatedAt: new Date(Date.now() - 60_000).toISOString(),
    repaired: false,
    attempt: 1,
    version: 3,
  };
  expect(await stores.exports.compareAndSetState(repo, "main", undefined, exported)).toBe(true);
  const workflows = new LateStarter();
  const deps = {
    exports: stores.exports,
    lakefs: lakefs.asLakeFsApi(),
    workflows,
    exportStateMachineArn: MACHINE,
    now: () => new Date(),
  };
  const first = await startExport(deps, { repository: repo, branch: "main", trigger: "event" });
  expect(first).toMatchObject({ status: "start-failed" });
  expect(await stores.exports.getState(repo, "main")).toMatchObject({ state: "export-failed" });

  // The request lands after all: the execution exports c2 (incremental from c1) and ends.
  const late = workflows.late!;
  await workflows.start(MACHINE, late.name, late.input);
  const stop = Date.now();
  await handleExecutionStatusChange(deps, {
    detail: {
      executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:${late.name}`,
      name: late.name,
      status: "SUCCEEDED",
      input: JSON.stringify(late.input),
      startDate: stop - 1000,
      stopDate: stop,
    },
  });
  // Head c3 gives c2's changes back; the repair must also reconcile what the execution wrote.
  lakefs.setHead(repo, "main", "c3");
  const repair = await startExport(deps, { repository: repo, branch: "main", trigger: "repair" });
  expect(repair).toMatchObject({ status: "started" });
  const input = workflows.started.at(-1)?.input as ExportWorkflowInput;
  expect(input.commitId).toBe("c3");
  const reconciles =
    input.mode !== "incremental" || (input.reconcileExports ?? []).includes(late.name);
  expect(reconciles, JSON.stringify(input)).toBe(true);
});
