// The stuck-export check: the pure judgement of an in-progress export against its execution,
// the check over every branch with fakes at its ports (the real transition rules decide
// what a "fail" may overwrite), the EMF metric line and the handler's policy setting.
import { describe, expect, it } from "vitest";
import { checkStuckExports } from "../../lambdas/export/app/stuck-exports";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import {
  DEFAULT_STUCK_POLICY,
  type ExecutionFacts,
  judgeInProgressExport,
} from "../../lambdas/export/domain/stuck";
import { decideDone } from "../../lambdas/export/domain/transitions";
import { stuckPolicyFromEnv } from "../../lambdas/export/handlers/stuck-check";
import type {
  BranchExportState,
  CompleteExportInput,
  CompleteExportResult,
  ExecutionLookup,
} from "../../lambdas/export/ports";
import { emfLine, STUCK_EXPORTS_METRIC } from "../../lambdas/shared/metrics";

const NOW = new Date("2026-11-24T12:00:00Z");
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

const state = (over: Partial<ExportState> = {}): ExportState => ({
  state: "in-progress",
  commitId: "c2",
  lastExportedCommit: "c1",
  exportId: "repo-main-c2-2-abc",
  updatedAt: minutesAgo(30).toISOString(),
  repaired: false,
  attempt: 2,
  version: 5,
  ...over,
});

describe("judging an in-progress export", () => {
  const judge = (s: ExportState, e: ExecutionFacts | undefined) =>
    judgeInProgressExport(s, e, NOW, DEFAULT_STUCK_POLICY);

  it("leaves exports that are not in progress alone", () => {
    for (const name of ["exported-successfully", "export-failed", "export-repaired"] as const) {
      expect(judge(state({ state: name }), undefined)).toEqual({ stuck: false });
    }
  });

  it("fails an export whose workflow never started, once the start grace has passed", () => {
    expect(judge(state({ updatedAt: minutesAgo(5).toISOString() }), undefined)).toEqual({
      stuck: false,
    });
    expect(judge(state({ updatedAt: minutesAgo(16).toISOString() }), undefined)).toEqual({
      stuck: true,
      action: "fail",
      reason: expect.stringMatching(/never started \(in progress for 16 minutes/),
    });
  });

  it("reports, without touching, an execution running past the limit", () => {
    expect(judge(state(), { status: "RUNNING", startDate: minutesAgo(300) })).toEqual({
      stuck: false,
    });
    expect(judge(state(), { status: "PENDING_REDRIVE", startDate: minutesAgo(300) })).toEqual({
      stuck: false,
    });
    expect(judge(state(), { status: "RUNNING", startDate: minutesAgo(400) })).toEqual({
      stuck: true,
      action: "report",
      reason: expect.stringMatching(/running for 400 minutes \(limit 360\)/),
    });
  });

  it("fails an export whose ended execution the watchdog never recorded, after the grace", () => {
    const failed: ExecutionFacts = {
      status: "TIMED_OUT",
      startDate: minutesAgo(100),
      stopDate: minutesAgo(10),
      error: "States.Timeout",
    };
    expect(judge(state(), failed)).toEqual({ stuck: false });
    expect(judge(state(), { ...failed, stopDate: minutesAgo(20) })).toEqual({
      stuck: true,
      action: "fail",
      reason: expect.stringMatching(/^export execution TIMED_OUT: States.Timeout/),
    });
    expect(
      judge(state(), { status: "SUCCEEDED", startDate: minutesAgo(60), stopDate: minutesAgo(20) }),
    ).toEqual({
      stuck: true,
      action: "fail",
      reason: expect.stringMatching(/SUCCEEDED but its outcome was never recorded; repair/),
    });
  });
});

/** The export store's state half in memory, with the real "done" rules. */
class MemoryExportStates {
  readonly states = new Map<string, ExportState & { repository: string; branch: string }>();
  /** Called between listing and the consistent read, to simulate a concurrent change. */
  onGet?: (key: string) => void;

  set(repository: string, branch: string, s: ExportState) {
    this.states.set(`${repository}@${branch}`, { ...s, repository, branch });
  }

  async *listStates(): AsyncIterable<BranchExportState[]> {
    const all = [...this.states.values()].map(({ repository, branch, ...s }) => ({
      repository,
      branch,
      state: s as ExportState,
    }));
    // Two pages, as the index would page them.
    yield all.slice(0, 2);
    yield all.slice(2);
  }

  async getState(repository: string, branch: string): Promise<ExportState | undefined> {
    this.onGet?.(`${repository}@${branch}`);
    const s = this.states.get(`${repository}@${branch}`);
    if (!s) return undefined;
    const { repository: _r, branch: _b, ...rest } = s;
    return rest;
  }

  async completeExport(input: CompleteExportInput, now: string): Promise<CompleteExportResult> {
    const current = await this.getState(input.repository, input.branch);
    const d = decideDone(current, { ...input, now });
    if (d.kind === "refused") return { applied: false, reason: d.reason };
    this.set(input.repository, input.branch, d.next);
    return { applied: true, state: d.next, followUp: d.followUp };
  }
}

class MemoryExecutions implements ExecutionLookup {
  readonly byArn = new Map<string, ExecutionFacts>();
  readonly looked: string[] = [];
  async lookup(arn: string) {
    this.looked.push(arn);
    return this.byArn.get(arn);
  }
}

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Lakeport-Export";
const execArn = (id: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:Lakeport-Export:${id}`;

describe("the stuck-export check over every branch", () => {
  it("fails the unrecoverable ones, reports the long runner, leaves the rest, and counts", async () => {
    const store = new MemoryExportStates();
    const executions = new MemoryExecutions();
    store.set("r1", "done", state({ state: "exported-successfully", exportId: "r1-done" }));
    store.set("r1", "never-started", state({ exportId: "r1-ns" }));
    store.set("r2", "lost-event", state({ exportId: "r2-lost", executionArn: execArn("r2-lost") }));
    store.set("r2", "long", state({ exportId: "r2-long", executionArn: execArn("r2-long") }));
    store.set("r3", "healthy", state({ exportId: "r3-ok" }));
    executions.byArn.set(execArn("r2-lost"), {
      status: "FAILED",
      stopDate: minutesAgo(40),
      error: "States.TaskFailed",
      cause: "copy crashed",
    });
    executions.byArn.set(execArn("r2-long"), { status: "RUNNING", startDate: minutesAgo(500) });
    // No executionArn recorded: looked up by the export id as execution name.
    executions.byArn.set(execArn("r3-ok"), { status: "RUNNING", startDate: minutesAgo(20) });

    const result = await checkStuckExports({
      exports: store,
      executions,
      exportStateMachineArn: MACHINE,
      now: () => NOW,
    });

    expect(result.branches).toBe(5);
    expect(result.inProgress).toBe(4);
    expect(result.markedFailed).toBe(2);
    expect(result.stuck.map((s) => [s.branch, s.action, s.markedFailed ?? false])).toEqual([
      ["never-started", "fail", true],
      ["lost-event", "fail", true],
      ["long", "report", false],
    ]);
    expect(executions.looked).toContain(execArn("r1-ns"));
    expect(executions.looked).toContain(execArn("r3-ok"));
    expect(await store.getState("r1", "never-started")).toMatchObject({
      state: "export-failed",
      errorMessage: expect.stringMatching(/never started/),
      version: 6,
    });
    expect(await store.getState("r2", "lost-event")).toMatchObject({
      state: "export-failed",
      errorMessage: expect.stringMatching(/FAILED: States.TaskFailed: copy crashed/),
    });
    expect((await store.getState("r2", "long"))?.state).toBe("in-progress");
    expect((await store.getState("r3", "healthy"))?.state).toBe("in-progress");
    expect((await store.getState("r1", "done"))?.state).toBe("exported-successfully");
  });

  it("never overwrites an export that moved on after the listing", async () => {
    const store = new MemoryExportStates();
    store.set("r", "main", state({ exportId: "old" }));
    // Between the (eventually consistent) listing and the read, a new export started.
    store.onGet = (key) => {
      if (key === "r@main") {
        store.onGet = undefined;
        store.set("r", "main", state({ exportId: "new", updatedAt: NOW.toISOString() }));
      }
    };
    const result = await checkStuckExports({
      exports: store,
      executions: new MemoryExecutions(),
      exportStateMachineArn: MACHINE,
      now: () => NOW,
    });
    expect(result).toMatchObject({ inProgress: 1, stuck: [], markedFailed: 0 });
    expect(await store.getState("r", "main")).toMatchObject({
      state: "in-progress",
      exportId: "new",
    });
  });

  it("does not count a stuck export whose outcome was recorded while it was checked", async () => {
    const store = new MemoryExportStates();
    store.set("r", "main", state({ exportId: "x" }));
    const racing: ExecutionLookup = {
      async lookup() {
        // The finish step records the export while the check is looking.
        store.set("r", "main", state({ exportId: "x", state: "exported-successfully" }));
        return undefined;
      },
    };
    const result = await checkStuckExports({
      exports: store,
      executions: racing,
      exportStateMachineArn: MACHINE,
      now: () => NOW,
    });
    expect(result.stuck).toEqual([]);
    expect((await store.getState("r", "main"))?.state).toBe("exported-successfully");
  });

  it("checks the other branches when one branch's call fails, and reports that branch", async () => {
    const store = new MemoryExportStates();
    store.set("r1", "a", state({ exportId: "a" }));
    store.set("r1", "b", state({ exportId: "b" }));
    store.set("r1", "c", state({ exportId: "c" }));
    const flaky: ExecutionLookup = {
      async lookup(arn) {
        if (arn === execArn("b")) throw new Error("ThrottlingException: Rate exceeded");
        return undefined; // never started
      },
    };
    const result = await checkStuckExports({
      exports: store,
      executions: flaky,
      exportStateMachineArn: MACHINE,
      now: () => NOW,
    });
    expect(result.errors).toEqual([
      { repository: "r1", branch: "b", message: "ThrottlingException: Rate exceeded" },
    ]);
    expect(result.stuck.map((s) => s.branch)).toEqual(["a", "c"]);
    expect((await store.getState("r1", "a"))?.state).toBe("export-failed");
    expect((await store.getState("r1", "b"))?.state).toBe("in-progress");
    expect((await store.getState("r1", "c"))?.state).toBe("export-failed");
  });
});

describe("the embedded metric format line", () => {
  it("is one JSON line CloudWatch reads as metrics of the Lakeport namespace", () => {
    const line = emfLine(
      { [STUCK_EXPORTS_METRIC]: { value: 2, unit: "Count" } },
      new Date("2026-11-24T12:00:00Z"),
    );
    expect(line.endsWith("\n")).toBe(true);
    expect(line.trimEnd()).not.toContain("\n");
    expect(JSON.parse(line)).toEqual({
      _aws: {
        Timestamp: Date.parse("2026-11-24T12:00:00Z"),
        CloudWatchMetrics: [
          {
            Namespace: "Lakeport",
            Dimensions: [[]],
            Metrics: [{ Name: "ExportsStuckInProgress", Unit: "Count" }],
          },
        ],
      },
      ExportsStuckInProgress: 2,
    });
  });

  it("refuses no metrics and values that are not finite numbers", () => {
    expect(() => emfLine({}, NOW)).toThrow(/at least one metric/);
    expect(() => emfLine({ X: { value: Number.NaN, unit: "Count" } }, NOW)).toThrow(
      /X is not a finite number/,
    );
  });
});

describe("the check's limit setting", () => {
  it("defaults to six hours and 15 (17 after an ended execution) minutes of grace, and reads both settings", () => {
    expect(stuckPolicyFromEnv({})).toEqual(DEFAULT_STUCK_POLICY);
    expect(DEFAULT_STUCK_POLICY).toEqual({
      startGraceMs: 15 * 60_000,
      endedGraceMs: 17 * 60_000,
      maxRunMs: 6 * 3_600_000,
    });
    expect(stuckPolicyFromEnv({ STUCK_EXPORT_GRACE_MINUTES: "0" })).toMatchObject({
      startGraceMs: 0,
      endedGraceMs: 0,
    });
    expect(() => stuckPolicyFromEnv({ STUCK_EXPORT_GRACE_MINUTES: "-1" })).toThrow(
      /STUCK_EXPORT_GRACE_MINUTES: expected a whole number of minutes >= 0, got -1/,
    );
    expect(stuckPolicyFromEnv({ STUCK_EXPORT_AFTER_MINUTES: "90" }).maxRunMs).toBe(90 * 60_000);
    expect(() => stuckPolicyFromEnv({ STUCK_EXPORT_AFTER_MINUTES: "soon" })).toThrow(
      /STUCK_EXPORT_AFTER_MINUTES: expected a whole number of minutes >= 1, got soon/,
    );
  });
});

describe("heads of continuous branches that no export followed", () => {
  /** lakeFS with branch heads and commit dates; a deleted branch answers 404. */
  const lakefsOf = (heads: Record<string, string>, createdMinutesAgo: Record<string, number>) => {
    const calls: string[] = [];
    return {
      calls,
      async getBranch(repository: string, branch: string) {
        calls.push(`getBranch ${repository}@${branch}`);
        const id = heads[`${repository}@${branch}`];
        if (!id) throw Object.assign(new Error("branch not found"), { status: 404 });
        return { id: branch, commit_id: id };
      },
      async getCommit(repository: string, commitId: string) {
        calls.push(`getCommit ${repository} ${commitId}`);
        const age = createdMinutesAgo[commitId];
        if (age === undefined) throw new Error(`lakeFS 500 for commit ${commitId}`);
        return {
          id: commitId,
          parents: [],
          committer: "c",
          message: "m",
          creation_date: minutesAgo(age).getTime() / 1000,
          meta_range_id: "",
          metadata: {},
        };
      },
    };
  };
  const configs = (continuous: Record<string, boolean>) => ({
    async getConfig(repository: string, branch: string) {
      const c = continuous[`${repository}@${branch}`];
      return c === undefined
        ? undefined
        : {
            repository,
            branch,
            exportPath: `s3://out/${repository}/${branch}`,
            lastKeysInPrefixRegexp: [],
            isContinuous: c,
            updatedAt: minutesAgo(100).toISOString(),
          };
    },
  });
  /** The check over `store` (nothing running in Step Functions), with the missed-head port. */
  const checkHeads = (
    store: MemoryExportStates,
    missedHeads?: Parameters<typeof checkStuckExports>[0]["missedHeads"],
  ) =>
    checkStuckExports({
      exports: store,
      executions: new MemoryExecutions(),
      exportStateMachineArn: MACHINE,
      now: () => NOW,
      ...(missedHeads ? { missedHeads } : {}),
    });
  const exported = (commitId: string, over: Partial<ExportState> = {}) =>
    state({ state: "exported-successfully", commitId, exportId: `x-${commitId}`, ...over });

  it("starts the head of a continuous branch whose commit is older than the grace, and only it", async () => {
    const store = new MemoryExportStates();
    store.set("r", "missed", exported("c2"));
    store.set("r", "fresh", exported("c2"));
    store.set("r", "current", exported("c2"));
    store.set("r", "one-time", exported("c2"));
    store.set("r", "failed", exported("c2", { state: "export-failed" }));
    store.set("r", "repaired", exported("c2", { state: "export-repaired" }));
    store.set("r", "gone", exported("c2"));
    const lakefs = lakefsOf(
      {
        "r@missed": "c3",
        "r@fresh": "c4",
        "r@current": "c2",
        "r@one-time": "c3",
        "r@failed": "c3",
        "r@repaired": "c3",
      },
      { c3: 20, c4: 5 },
    );
    const started: string[] = [];
    const result = await checkHeads(store, {
      lakefs,
      configs: configs({
        "r@missed": true,
        "r@fresh": true,
        "r@current": true,
        "r@one-time": false,
        "r@failed": true,
        "r@repaired": true,
        "r@gone": true,
      }),
      async start(repository, branch) {
        started.push(`${repository}@${branch}`);
        return {
          status: "started",
          exportId: `x-${branch}`,
          executionArn: execArn(`x-${branch}`),
          fromCommit: "c2",
          commitId: "c3",
          repaired: false,
          mode: "incremental",
        };
      },
    });
    expect(started).toEqual(["r@missed", "r@repaired"]);
    expect(result.missedHeads).toEqual([
      { repository: "r", branch: "missed", head: "c3", exportedCommit: "c2", outcome: "started" },
      { repository: "r", branch: "repaired", head: "c3", exportedCommit: "c2", outcome: "started" },
    ]);
    expect(result.errors).toEqual([]);
    expect(result.stuck).toEqual([]);
    // A failed export waits for its repair: lakeFS is not asked. Not continuous: its head is
    // read, no more. The head that is the exported commit needs no commit date.
    expect(lakefs.calls.some((c) => c.includes("failed"))).toBe(false);
    expect(lakefs.calls).toContain("getBranch r@one-time");
    expect(lakefs.calls).toContain("getBranch r@current");
    expect(lakefs.calls.filter((c) => c.startsWith("getCommit"))).toEqual([
      "getCommit r c3",
      "getCommit r c4",
      "getCommit r c3",
    ]);
  });

  it("leaves a branch with a queued head to the follow-up, and reports a branch it could not check", async () => {
    const store = new MemoryExportStates();
    store.set(
      "r",
      "queued",
      exported("c2", { pendingHead: "c3", updatedAt: minutesAgo(1).toISOString() }),
    );
    store.set("r", "ok", exported("c2"));
    store.set("r", "broken", exported("c2"));
    const started: string[] = [];
    const result = await checkHeads(store, {
      lakefs: lakefsOf({ "r@queued": "c3", "r@broken": "c9", "r@ok": "c3" }, { c3: 30 }),
      configs: configs({ "r@queued": true, "r@broken": true, "r@ok": true }),
      async start(_repository, branch) {
        started.push(branch);
        return { status: "up-to-date", commitId: "c3" };
      },
    });
    expect(started).toEqual(["ok"]);
    expect(result.missedHeads.map((m) => [m.branch, m.outcome])).toEqual([["ok", "up-to-date"]]);
    expect(result.errors).toEqual([
      { repository: "r", branch: "broken", message: "lakeFS 500 for commit c9" },
    ]);
  });

  it("looks after every other check, and stops at the first failure (lakeFS down)", async () => {
    const store = new MemoryExportStates();
    store.set("r", "a", exported("c2"));
    store.set("r", "b", exported("c2"));
    store.set("r", "never-started", state({ exportId: "r-ns" }));
    store.set("r", "c", exported("c2"));
    const calls: string[] = [];
    const down = {
      async getBranch(repository: string, branch: string): Promise<never> {
        calls.push(`${repository}@${branch}`);
        throw new Error("connect ECONNREFUSED lakefs:8000");
      },
      async getCommit(): Promise<never> {
        throw new Error("not reached");
      },
    };
    const result = await checkHeads(store, {
      lakefs: down,
      configs: configs({ "r@a": true, "r@b": true, "r@c": true }),
      start: async () => {
        throw new Error("not reached");
      },
    });
    // The export that never started is recorded whatever lakeFS does.
    expect(result.markedFailed).toBe(1);
    expect((await store.getState("r", "never-started"))?.state).toBe("export-failed");
    expect(calls).toEqual(["r@a"]);
    expect(result.errors).toEqual([
      {
        repository: "r",
        branch: "a",
        message:
          "connect ECONNREFUSED lakefs:8000 (2 more branches' heads not checked in this run)",
      },
    ]);
  });

  it("decides on the current state, not the lagging index's", async () => {
    const store = new MemoryExportStates();
    store.set("r", "main", exported("c2"));
    // Between the listing and the read, an event's export of c3 ended.
    store.onGet = (key) => {
      if (key === "r@main") {
        store.onGet = undefined;
        store.set("r", "main", exported("c3"));
      }
    };
    const started: string[] = [];
    const result = await checkHeads(store, {
      lakefs: lakefsOf({ "r@main": "c3" }, { c3: 30 }),
      configs: configs({ "r@main": true }),
      async start(_repository, branch) {
        started.push(branch);
        return { status: "up-to-date", commitId: "c3" };
      },
    });
    expect(started).toEqual([]);
    expect(result.missedHeads).toEqual([]);
  });

  it("looks for none without the port", async () => {
    const store = new MemoryExportStates();
    store.set("r", "main", exported("c2"));
    const result = await checkHeads(store);
    expect(result).toMatchObject({ branches: 1, missedHeads: [], stuck: [], errors: [] });
  });
});
