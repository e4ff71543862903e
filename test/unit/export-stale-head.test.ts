// A start decides on the branch head it read and the export state it reads. The head was read
// once, before the compare-and-set loop, and kept through every retry: a start that lost a race
// (its follow-up request found the running export ended) re-read the state, where a newer head
// may have been exported meanwhile, and started an export of its older head over it. The export
// path then held an older commit than the one exported before it (intermediate commits
// interleaved), and the continuous branch's head stayed unexported until the next commit.
import { expect, it } from "vitest";
import { type StartExportDeps, startExport } from "../../lambdas/export/app/start-export";
import { FakeWorkflowStarter } from "../support/api-fakes";
import {
  at,
  continuousConfig,
  executionArnOf,
  MACHINE,
  runningExportState,
} from "../support/export-running-branch";
import { memoryExportState } from "../support/memory-export-state";

it("a start that lost a race does not export its older head over a newer export", async () => {
  const config = continuousConfig();
  const base = {
    lastExportedCommit: "c1",
    exportedConfigVersion: 1,
    configVersion: 1,
    mode: "incremental" as const,
    repaired: false,
  };
  // c2 is being exported; c3 was just committed (the head this start reads).
  const w = {
    state: runningExportState({
      ...base,
      commitId: "c2",
      exportId: "repo-main-c2-2-x",
      executionArn: executionArnOf("repo-main-c2-2-x"),
    }),
    head: "c3",
    workflows: new FakeWorkflowStarter(),
  };
  const memory = memoryExportState(w);
  const exports = {
    ...memory,
    getConfig: async () => config,
    // Before this start queues c3: c4 is committed (its event queues it), the c2 export ends and
    // its follow-up exports c4 to the end. The request finds no running export any more.
    requestFollowUp: async () => {
      w.head = "c4";
      w.state = {
        ...base,
        state: "exported-successfully",
        commitId: "c4",
        lastExportedCommit: "c4",
        exportId: "repo-main-c4-3-y",
        updatedAt: at(0).toISOString(),
        startedAt: at(0).toISOString(),
        attempt: 3,
        version: 11,
      };
      return false;
    },
  };
  const deps = {
    exports,
    lakefs: {
      getRepository: async () => ({ id: "repo", storage_namespace: "s3://ns/repo" }),
      getBranch: async () => ({ id: "main", commit_id: w.head }),
    },
    workflows: w.workflows,
    exportStateMachineArn: MACHINE,
    now: () => at(0),
  } as unknown as StartExportDeps;
  const out = await startExport(deps, { repository: "repo", branch: "main", trigger: "event" });
  // c4, the head, is exported: nothing older is started over it.
  expect(w.workflows.started).toEqual([]);
  expect(out).toEqual({ status: "up-to-date", commitId: "c4" });
  expect(w.state).toMatchObject({ state: "exported-successfully", lastExportedCommit: "c4" });
});
