// The GC steps' ports in memory (fakes at the ports for step tests): the object store (bytes
// kept as they would be in S3, Parquet included), and the run and mark records with the
// repository lease, following GcStore's rules.

import type { BackupLocationClaims } from "../../lambdas/gc/app/backup-location-claim";
import type {
  BackupLocationClaim,
  ExportPaths,
} from "../../lambdas/gc/domain/backup-location-claims";
import { LeaseLostError } from "../../lambdas/gc/domain/lease";
import { DEFAULT_MAX_MARK_AGE_HOURS, sweepRefusal } from "../../lambdas/gc/domain/mark-lifecycle";
import type { GcRules } from "../../lambdas/gc/domain/rules";
import type { GcMark, GcRun } from "../../lambdas/gc/domain/run-records";
import type {
  GcLakeFs,
  GcLeaseKeeper,
  GcObjectStore,
  GcRunRecords,
  GcStepDeps,
  KeyDeleteFailure,
  ObjectUpload,
} from "../../lambdas/gc/ports";
import {
  type WriteCondition,
  WriteConditionFailedError,
} from "../../lambdas/shared/write-condition";
import { MemoryLakeFs } from "./memory-lakefs";

export class MemoryGcStore implements GcObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly failDelete = new Map<string, string>();
  /** Keys deleted, in order (to check what a sweep did). */
  readonly deleted: string[] = [];
  /** Called before each DeleteObjects request (a hook for races in tests). */
  beforeDelete: ((keys: readonly string[]) => Promise<void> | void) | undefined;

  async put(bucket: string, key: string, body: string | Uint8Array) {
    this.#etags.delete(`${bucket}/${key}`);
    this.objects.set(
      `${bucket}/${key}`,
      typeof body === "string" ? new TextEncoder().encode(body) : body.slice(),
    );
  }
  /** ETag of each key, as S3 would give it (a counter here: any write changes it). */
  readonly #etags = new Map<string, string>();
  #writes = 0;
  async getVersioned(bucket: string, key: string) {
    const text = await this.getText(bucket, key);
    if (text === undefined) return undefined;
    return { text, etag: this.#etagOf(`${bucket}/${key}`) };
  }
  async putIf(
    bucket: string,
    key: string,
    body: string,
    condition: WriteCondition,
    _contentType?: string,
  ) {
    const id = `${bucket}/${key}`;
    const held = this.objects.has(id);
    if (condition === "absent" ? held : !held || this.#etagOf(id) !== condition.etag) {
      throw new WriteConditionFailedError(bucket, key, condition);
    }
    await this.put(bucket, key, body);
    return this.#etagOf(id);
  }
  #etagOf(id: string): string {
    let etag = this.#etags.get(id);
    if (etag === undefined) {
      etag = `"w${++this.#writes}"`;
      this.#etags.set(id, etag);
    }
    return etag;
  }
  async getText(bucket: string, key: string) {
    const bytes = this.objects.get(`${bucket}/${key}`);
    return bytes === undefined ? undefined : utf8Text(bytes);
  }
  text(fullKey: string) {
    const bytes = this.objects.get(fullKey);
    return bytes === undefined ? undefined : utf8Text(bytes);
  }
  async lines(bucket: string, key: string, opts: { ifMatch?: string } = {}) {
    const text = await this.getText(bucket, key);
    if (text === undefined) return undefined;
    if (opts.ifMatch && this.#etagOf(`${bucket}/${key}`) !== opts.ifMatch) {
      throw new WriteConditionFailedError(bucket, key, { etag: opts.ifMatch });
    }
    return (async function* () {
      const lines = text.split("\n");
      if (lines.at(-1) === "") lines.pop();
      yield* lines;
    })();
  }
  upload(bucket: string, key: string): ObjectUpload {
    const chunks: Uint8Array[] = [];
    const encoder = new TextEncoder();
    return {
      write: async (chunk) => {
        chunks.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk.slice());
      },
      close: async () => {
        const size = chunks.reduce((n, c) => n + c.length, 0);
        const out = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          out.set(c, at);
          at += c.length;
        }
        this.objects.set(`${bucket}/${key}`, out);
        this.#etags.delete(`${bucket}/${key}`);
        return this.#etagOf(`${bucket}/${key}`);
      },
      abort: async () => {
        chunks.length = 0;
      },
    };
  }
  async *list(bucket: string, prefix: string) {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).sort();
    for (const k of keys) {
      yield {
        key: k.slice(bucket.length + 1),
        size: this.objects.get(k)!.length,
        etag: this.#etagOf(k),
      };
    }
  }
  async deleteKeys(
    bucket: string,
    keys: readonly string[],
    opts: { beforeSend?: (keys: string[]) => Promise<string[]> } = {},
  ) {
    const sent = opts.beforeSend ? await opts.beforeSend([...keys]) : keys;
    const kept = new Set(sent);
    const withheld = keys.filter((k) => !kept.has(k));
    await this.beforeDelete?.(sent);
    const failed: KeyDeleteFailure[] = [];
    for (const key of sent) {
      const code = this.failDelete.get(key);
      if (code) failed.push({ key, code, message: `${code} for ${key}` });
      else {
        this.objects.delete(`${bucket}/${key}`);
        this.deleted.push(`${bucket}/${key}`);
      }
    }
    return { failed, withheld };
  }
  keysUnder(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

/** Runs, marks and the lease, with the conditions GcStore checks in DynamoDB. */
export class MemoryGcRecords implements GcRunRecords, GcLeaseKeeper {
  readonly runs = new Map<string, GcRun>();
  readonly marks = new Map<string, GcMark>();
  readonly completed: { runId: string; end: Parameters<GcRunRecords["completeRun"]>[2] }[] = [];
  /** The repository's GC rules as the store holds them now. */
  rules: GcRules | undefined;
  /** The run holding the repository's lease (one repository per fake). */
  leaseHolder: string | undefined;
  renewals = 0;

  async getRun(_repo: string, runId: string) {
    return this.runs.get(runId);
  }
  async getRules(_repo: string) {
    return this.rules;
  }
  async getMark(_repo: string, markId: string) {
    const m = this.marks.get(markId);
    return m ? { ...m } : undefined;
  }
  async endMark(
    _repo: string,
    markId: string,
    runId: string,
    end: { partitions: number; markedAt: string },
  ) {
    const m = this.marks.get(markId);
    if (!m || m.runId !== runId || m.status !== "running") throw new Error("endMark: condition");
    Object.assign(m, { status: "succeeded", ...end });
  }
  async beginSweep(_repo: string, markId: string, runId: string) {
    const m = this.marks.get(markId);
    if (m?.status !== "succeeded" || m.sweepStatus === "succeeded" || m.retiredAt) {
      return undefined;
    }
    Object.assign(m, { sweepRunId: runId, sweepStatus: "running" });
    return { ...m };
  }
  async completeRun(
    _repo: string,
    runId: string,
    end: Parameters<GcRunRecords["completeRun"]>[2],
    now: string,
  ) {
    this.completed.push({ runId, end });
    const run = this.runs.get(runId);
    if (run) Object.assign(run, { status: end.status, endedAt: now });
    for (const m of this.marks.values()) {
      if (m.runId === runId && m.status === "running") m.status = end.status;
      if (m.sweepRunId === runId) Object.assign(m, { sweepStatus: end.status, sweptAt: now });
    }
    if (this.leaseHolder === runId) this.leaseHolder = undefined;
    return true;
  }
  async renew(_repo: string, runId: string) {
    this.renewals++;
    if (this.leaseHolder !== runId) {
      throw new LeaseLostError(`run ${runId} lost the lease to ${this.leaseHolder}`);
    }
  }
  /** What startGcRun records for a marking run. */
  startMarking(run: GcRun, markNow: number, rules: GcMark["rules"]) {
    this.runs.set(run.runId, run);
    this.marks.set(run.markId, {
      repository: run.repository,
      markId: run.markId,
      runId: run.runId,
      status: "running",
      markNow,
      ...(rules ? { rules } : {}),
    });
    this.leaseHolder = run.runId;
  }
  /** What startGcRun records for a sweep-only run; the refusal when it would refuse. */
  startSweeping(run: GcRun, nowSeconds: number): string | undefined {
    const m = this.marks.get(run.markId)!;
    const refusal = sweepRefusal(m, nowSeconds, DEFAULT_MAX_MARK_AGE_HOURS);
    if (refusal) return refusal;
    this.runs.set(run.runId, run);
    Object.assign(m, { sweepRunId: run.runId, sweepStatus: "running" });
    this.leaseHolder = run.runId;
    return undefined;
  }
}

/** The GC steps' ports over memory fakes, around `lakefs`, with the steps' clock at `nowMs`. */
export function memoryGcWorld<L extends GcLakeFs>(lakefs: L, nowMs: number) {
  const store = new MemoryGcStore();
  const records = new MemoryGcRecords();
  const deps: GcStepDeps = {
    s3: store,
    lakefs,
    runs: records,
    lease: records,
    workBucket: "work",
    now: () => new Date(nowMs),
  };
  return { lakefs, store, records, deps };
}

let labelSeq = 0;

/** Objects stored under labels, each at a new address under the namespace's data/ (its body is
 * the label): `address[label]` is where the last object of that label went. */
export function labelledObjects(store: MemoryGcStore, namespace: string) {
  const address: Record<string, string> = {};
  const object = (label: string): string => {
    const a = `${namespace}/data/${label}-${labelSeq++}`;
    address[label] = a;
    store.objects.set(a.replace("s3://", ""), new TextEncoder().encode(label));
    return a;
  };
  return { address, object };
}

/** Text as S3ObjectStore reads it: a leading U+FEFF is kept (it may begin a key). */
function utf8Text(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
}

/**
 * A GC world over an in-memory lakeFS whose clock reads `now` (seconds), the steps' clock an
 * hour later, with `put` and `exists` on the namespace's objects by address.
 */
export function objectGcWorld(now: number) {
  const w = memoryGcWorld(new MemoryLakeFs(() => now), now * 1000 + 3_600_000);
  const put = (address: string) =>
    w.store.objects.set(address.replace("s3://", ""), new TextEncoder().encode(address));
  const exists = (address: string) => w.store.objects.has(address.replace("s3://", ""));
  return { w, put, exists };
}

/** A lakeFS server listing these repositories (id, storage namespace): what a copy plan reads. */
export function listedRepositories(...repos: [id: string, storageNamespace: string][]) {
  return {
    async *listRepositories() {
      yield {
        results: repos.map(([id, storage_namespace]) => ({
          id,
          storage_namespace,
          creation_date: 0,
          default_branch: "main",
        })),
        pagination: { has_more: false, next_offset: "", results: repos.length, max_per_page: 1000 },
      };
    },
  };
}

/** GC backup location claims in memory (the BackupLocationClaims port), for copy plan tests. */
export class MemoryBackupLocations implements BackupLocationClaims {
  readonly claims = new Map<string, BackupLocationClaim>();
  /** Export paths the plan reads (the port's other half); a test may add some. */
  readonly exports: ExportPaths[] = [];

  async claim(c: BackupLocationClaim): Promise<"created" | "existing"> {
    const key = `${c.repository}#${c.location}`;
    const existing = this.claims.get(key);
    if (existing) {
      // As BackupLocationStore: the claim takes the newest call's token (see its claim).
      this.claims.set(key, {
        ...existing,
        markId: c.markId,
        claimedAt: c.claimedAt,
        claimToken: c.claimToken,
      });
      return "existing";
    }
    this.claims.set(key, { ...c });
    return "created";
  }

  async release(repository: string, location: string, claimToken?: string): Promise<boolean> {
    const key = `${repository}#${location}`;
    const c = this.claims.get(key);
    if (!c || (claimToken !== undefined && c.claimToken !== claimToken)) return false;
    this.claims.delete(key);
    return true;
  }

  async *list(): AsyncIterable<BackupLocationClaim[]> {
    yield [...this.claims.values()];
  }

  /** The copy plan's two deps of this port. */
  planDeps() {
    const exports = this.exports;
    return {
      backupLocations: this as BackupLocationClaims,
      exportPaths: async function* () {
        yield [...exports];
      },
    };
  }
}
