// Step Functions retries the status step after a Lambda service error while the earlier attempt
// may still run, and after a failure runs it again (StatusAfterFailure): the execution's outcome,
// which the branch records, is the latest attempt's answer. An earlier attempt held at its
// status writes used to land after the latest one's: a success line over an export the branch
// records failed, or a failure line over the success it records. Each attempt now claims the
// status files as it starts and writes only while the claim is its own.
import { describe, expect, it } from "vitest";
import { runStatusStep } from "../../lambdas/export/app/status-step";
import type { ExportState } from "../../lambdas/export/domain/export-state";
import { statusKeys } from "../../lambdas/export/domain/status";
import { decideDone } from "../../lambdas/export/domain/transitions";
import { exportWorkKeys } from "../../lambdas/export/domain/work-layout";
import type { WriteCondition } from "../../lambdas/shared/write-condition";
import { fullExportState, gate, statusDepsOf } from "../support/export-steps";
import { MemoryExportStore } from "../support/memory-export-store";

const exportId = "repo-main-c1-1";
const work = exportWorkKeys(exportId);
const sk = statusKeys("st", "repo", "main", "c1");

/** The store, whose first write of `key` is held in flight until released. */
class HeldStore extends MemoryExportStore {
  #held: Promise<void> | undefined;
  constructor(
    readonly heldKey: string,
    held: Promise<void>,
  ) {
    super();
    this.#held = held;
  }
  async #wait(key: string) {
    if (key !== this.heldKey || !this.#held) return;
    const h = this.#held;
    this.#held = undefined;
    await h;
  }
  override async put(bucket: string, key: string, body: string | Uint8Array) {
    await this.#wait(key);
    return super.put(bucket, key, body);
  }
  // Held before S3 evaluates the condition, which it does atomically with the write.
  override async putIf(bucket: string, key: string, body: string, condition: WriteCondition) {
    await this.#wait(key);
    return super.putIf(bucket, key, body, condition);
  }
}

async function putShard(store: MemoryExportStore, result: boolean) {
  const copy = {
    op: "copy",
    path: "a",
    sourceAddress: "s3://ns/a",
    destKey: "exp/a",
    etag: "e",
    size: 1,
  };
  await store.put("work", work.taskShard(0), `${JSON.stringify(copy)}\n`);
  if (!result) return;
  const clean = { version: 1, shard: 0, copied: 1, deleted: 0, copiedBytes: 1, failed: [] };
  await store.put("work", work.shardResult(0), JSON.stringify(clean));
}

const stateOf = () => ({
  ...fullExportState({
    exportId,
    regexps: [],
    counts: { copies: 1, deletes: 0, copyBytes: 1, shards: 1 },
    lastPath: "a",
  }),
  markers: { markers: 0, removed: 0, withheld: 0, failed: 0, errorSamples: [] },
});

/** The branch, running this export until `end` records an outcome. */
function branch() {
  let state: ExportState = {
    state: "in-progress",
    commitId: "c1",
    exportId,
    updatedAt: "2026-01-01T00:00:00.000Z",
    startedAt: "2026-01-01T00:00:00.000Z",
    repaired: false,
    attempt: 1,
    version: 3,
  };
  return {
    getState: async () => state,
    end(status: string, errorMessage = "failed") {
      const outcome =
        status === "export-failed"
          ? { status: "failed" as const, errorMessage }
          : { status: "succeeded" as const };
      const d = decideDone(state, { exportId, commitId: "c1", outcome, now: state.updatedAt });
      if (d.kind === "done") state = d.next;
      return state.state;
    },
  };
}

const written = async (store: MemoryExportStore) => ({
  line: (await store.getText("status", sk.statusLine))?.split(",")[0],
  doc: JSON.parse((await store.getText("status", sk.statusDocument)) ?? "{}").status,
});
const tick = () => new Promise((r) => setTimeout(r, 20));

describe("a success attempt whose answer was lost, held at a status write, and the after-failure attempt", () => {
  it.each([sk.statusDocument, sk.statusLine])(
    "held at %s: the files say what the branch records",
    async (heldKey) => {
      const g = gate();
      const store = new HeldStore(heldKey, g.held);
      await putShard(store, true);
      const exports = branch();
      const deps = { ...statusDepsOf(store), exports };
      const lost = runStatusStep(deps, stateOf());
      await tick();
      // Its Lambda call failed on Step Functions' side: the Catch runs the step again.
      const latest = await runStatusStep(deps, {
        ...stateOf(),
        error: { Error: "Lambda.ServiceException", Cause: "service error" },
      });
      expect(latest.status).toBe("export-failed");
      expect(exports.end(latest.status)).toBe("export-failed");
      g.release();
      expect((await lost).status).toBe("exported-successfully");
      expect(await written(store)).toEqual({ line: "status: export-failed", doc: "export-failed" });
    },
  );
});

it("a failure attempt held at its status document (a shard not yet reported) and a retry that saw it report", async () => {
  const g = gate();
  const store = new HeldStore(sk.statusDocument, g.held);
  await putShard(store, false);
  const exports = branch();
  const deps = { ...statusDepsOf(store), exports };
  const lost = runStatusStep(deps, stateOf());
  await tick();
  await putShard(store, true);
  const latest = await runStatusStep(deps, stateOf());
  expect(latest.status).toBe("exported-successfully");
  expect(exports.end(latest.status)).toBe("exported-successfully");
  g.release();
  expect((await lost).status).toBe("export-failed");
  expect(await written(store)).toEqual({
    line: "status: exported-successfully",
    doc: "exported-successfully",
  });
});
