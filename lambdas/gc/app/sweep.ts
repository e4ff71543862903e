// Sweep, one distributed-map child per marked text part (part n = partition n). The part's
// keys are streamed; the keys revalidation found referenced again (the "revived" shards of
// the partition) are taken out; and before each DeleteObjects request (1 000 keys) the
// sweep guard makes sure a fresh check of the repository found none of the request's keys
// referenced (sweep-guard.ts). A key already gone counts as deleted, so an interrupted sweep
// resumed by a new sweep-only run finishes the job. What was deleted is streamed into the
// deleted-objects log (Parquet, _lakefs/logs/gc/deleted_objects/dt=); keys that could not be
// deleted are counted and sampled for the summary, which then fails the run. A part that
// stops records how far its list was answered, and the next sweep of the same list begins
// there (sweep-resume.ts).
//
// Memory: the partition's revived keys in a Set (in several passes over the part when there
// are more than one pass should hold), one request's keys, one Parquet row group of the log.
import { createHash } from "node:crypto";
import { forEachConcurrently } from "../../shared/concurrency";
import { WriteConditionFailedError } from "../../shared/write-condition";
import { markPartition } from "../domain/mark";
import {
  choosePassCount,
  hasDotOrEmptySegment,
  LAKEFS_METADATA_PREFIX,
  lakeFsCollects,
  MAX_ADDRESSES_PER_PARTITION,
  passOf,
} from "../domain/partition";
import { gcPaths, gcSweepResumeKey } from "../domain/paths";
import { decodeAddressShard, decodeCommitGraph } from "../domain/shards";
import { DELETE_BATCH_SIZE, deleteBatchesOf } from "../domain/sweep";
import {
  AnsweredLines,
  answeredLineTest,
  decodeSweepResumePoint,
  linesAnsweredIn,
  rangesAnsweredIn,
} from "../domain/sweep-resume";
import { decodeSweepSnapshot, type SweepSnapshot } from "../domain/sweep-snapshot";
import {
  type GcStepDeps,
  type KeyDeleteFailure,
  KeysDeleteStoppedError,
  type StoredObject,
} from "../ports";
import { type AddressListWriter, parquetAddressWriter } from "./address-lists";
import { gcWorkKeys, namespaceObjects, runDate } from "./common";
import { DEFAULT_RECHECK_MS, SweepGuard } from "./sweep-guard";

export interface SweepBatchContext {
  repository: string;
  runId: string;
  storageNamespace: string;
  now: number;
}

export interface SweepStepEvent {
  /** The mark's text lists, each with the ETag revalidation checked (read at that ETag). */
  Items: { key: string; part: number; etag?: string }[];
  BatchInput: SweepBatchContext;
}

export interface SweepStepOptions {
  /** DeleteObjects requests in flight. Default 8. */
  concurrency?: number;
  /** How old a check a delete request may rely on (ms). Default 1 000. */
  recheckMs?: number;
  /** Revived keys one pass holds (tests use small numbers to force passes). */
  keysPerPass?: number;
  clock?: () => number;
  /**
   * True once less of the function's time is left than a request, the log's close and the
   * counts need: no further delete request is sent, and the part ends as stopped, its log
   * written (a function killed at its timeout would leave none for what it had deleted).
   */
  outOfTime?: () => boolean;
  /**
   * How long a delete request may wait for its answer to begin (default 20 s; the S3 client's
   * own limit is 5 minutes, for copies): past it, it is taken as lost and its resend is checked
   * again, or stopped when out of time, so the stop does not wait for a hung request.
   */
  deleteRequestTimeoutMs?: number;
}

/** A DeleteObjects of 1 000 keys answers in seconds; a third of the stop's minute at most. */
const DELETE_REQUEST_TIMEOUT_MS = 20_000;

/** A sweep part stopped before its function's timeout; a sweep-only run of the mark resumes it. */
export class SweepOutOfTimeError extends Error {
  override readonly name = "SweepOutOfTimeError";
  constructor(part: number) {
    super(
      `sweep of part ${part} stopped with less than a minute of its function's time left, its deleted-objects log written: start a sweep-only run of the mark to finish (keys already gone count as deleted)`,
    );
  }
}

/** Failures kept per part in the counts file (the rest are only counted). */
const FAILURE_SAMPLE = 20;
/** Shard bytes per key assumed when choosing passes (as the mark step). */
const BYTES_PER_KEY_ESTIMATE = 40;

export async function runSweepStep(
  deps: GcStepDeps,
  event: SweepStepEvent,
  opts: SweepStepOptions = {},
): Promise<{ deleted: number; failed: number; spared: number }> {
  const ctx = event.BatchInput;
  if (!ctx) throw new Error("sweep step: BatchInput (repository, runId, ...) is missing");
  await deps.lease.renew(ctx.repository, ctx.runId);
  const work = gcWorkKeys(ctx.repository, ctx.runId);
  const snapshotText = await deps.s3.getText(deps.workBucket, work.revalidationSnapshot);
  if (snapshotText === undefined) {
    throw new Error("sweep step: the revalidation snapshot is missing; nothing is deleted");
  }
  const snapshot = decodeSweepSnapshot(snapshotText);
  const total = { deleted: 0, failed: 0, spared: 0 };
  for (const item of event.Items ?? []) {
    const out = await sweepPart(deps, ctx, snapshot, item, opts);
    total.deleted += out.deleted;
    total.failed += out.failed;
    total.spared += out.spared;
  }
  return total;
}

async function sweepPart(
  deps: GcStepDeps,
  ctx: SweepBatchContext,
  snapshot: SweepSnapshot,
  { key: partKey, part, etag }: { key: string; part: number; etag?: string },
  opts: SweepStepOptions,
): Promise<{ deleted: number; failed: number; spared: number }> {
  const ns = namespaceObjects(ctx.storageNamespace);
  const work = gcWorkKeys(ctx.repository, ctx.runId);
  const guard = sweepGuardOf(deps, ctx, snapshot, part, opts);
  const revived = await listAll(deps, work.addressShardPrefix(part, "active", "revived"));
  const bytes = revived.reduce((n, o) => n + o.size, 0);
  const passes = choosePassCount(
    Math.ceil(bytes / BYTES_PER_KEY_ESTIMATE),
    opts.keysPerPass ?? MAX_ADDRESSES_PER_PARTITION,
  );
  const log = parquetAddressWriter(
    deps.s3.upload(ns.bucket, ns.key(gcPaths.deletedObjectsPart(runDate(ctx.now), part))),
  );
  const counts = {
    candidates: 0,
    considered: 0,
    offered: 0,
    spared_at_delete: 0,
    skipped_answered_earlier: 0,
  };
  const failed: KeyDeleteFailure[] = [];
  // How far an earlier sweep of this very list (its key and ETag) answered it, if it stopped.
  const resumeKey = etag ? gcSweepResumeKey(ctx.repository, listDigest(partKey, etag)) : undefined;
  const resumeFrom = resumeKey
    ? decodeSweepResumePoint(
        await deps.s3.getText(deps.workBucket, resumeKey).catch(() => undefined),
      )
    : undefined;
  const answered = new AnsweredLines(
    resumeFrom?.passes === passes ? resumeFrom : { passes, pass: 0, throughLine: 0 },
  );
  const request: PartRequest = { deps, part, ns, guard, opts, log, counts, failed };
  try {
    for (let pass = 0; pass < passes; pass++) {
      const skipThrough = linesAnsweredIn(resumeFrom, pass, passes);
      const answeredEarlier = answeredLineTest(
        skipThrough,
        rangesAnsweredIn(resumeFrom, pass, passes),
      );
      answered.beginPass(pass, skipThrough);
      let line = 0;
      const partKeys = counted(await readList(deps, ns.bucket, partKey, etag), () => line++);
      const inPass = (key: string) => passes === 1 || passOf(key, passes) === pass;
      // `considered`: the marked keys of this pass read so far. Those not offered were spared
      // by revalidation (candidates - offered also counted, in a part stopped, the keys of
      // passes never reached), or answered by the earlier sweep this one resumes.
      const marked = counted(markedKeys(partKeys, snapshot.foreignPrefixes ?? []), (key) => {
        if (pass === 0) counts.candidates++;
        if (inPass(key)) counts.considered++;
      });
      const unanswered = without(marked, (key) => {
        if (!answeredEarlier(line)) return false;
        if (inPass(key)) counts.skipped_answered_earlier++;
        return true;
      });
      // markPartition: the revived keys are "protected", the marked ones "offered".
      const candidates = markPartition(revivedKeys(deps, revived), unanswered, { pass, passes });
      // A batch is yielded as its last key is read (or, the last one, once the list ended):
      // the line read last is the last line it covers.
      const batches = numbered(
        deleteBatchesOf(
          counted(candidates, () => counts.offered++),
          DELETE_BATCH_SIZE,
        ),
        (index) => answered.issued(index, line),
      );
      await forEachConcurrently(batches, opts.concurrency ?? 8, async (batch, index) => {
        if (await deleteBatch(request, batch)) answered.answered(index);
      });
      answered.passEnded(pass, line);
    }
  } catch (err) {
    // The requests that went through deleted their objects: the log and the counts say so
    // even when the sweep stops part way (a mark never resumed has no other record of them).
    // Its reason too: the map's own failure only says a child failed.
    // Not over another attempt's complete record of the part, though: Step Functions retries
    // a Lambda service error while the first invocation may still run, and a first attempt
    // that stopped after the retry had swept the whole part (its lease gone once the run
    // ended) replaced that log and those counts with its partial ones. The retry offered
    // every key again (S3 answers a key already gone as deleted): its log lists this
    // attempt's deletions.
    if (await completedByAnotherAttempt(deps, work.sweepCounts(part))) {
      await log.abort().catch(() => undefined);
      throw err;
    }
    const stopped = { because: (err as Error)?.message || String(err) };
    const logged = await finishPart(
      deps,
      work.sweepCounts(part),
      log,
      counts,
      failed,
      guard,
      stopped,
    )
      .then(() => true)
      .catch(() =>
        log.abort().then(
          () => false,
          () => false,
        ),
      );
    // Only once the log lists what was deleted: a sweep that skips those keys lists none of
    // them again, where one offering them again lists them as deleted.
    if (logged && resumeKey) await recordAnswered(deps, resumeKey, answered, partKey, etag!);
    throw err;
  }
  const result = await finishPart(deps, work.sweepCounts(part), log, counts, failed, guard);
  // Another part may fail the run: the sweep-only run that follows skips this part's lines
  // answered (all of them, or all but those of the requests with a key that failed).
  if (resumeKey) await recordAnswered(deps, resumeKey, answered, partKey, etag!);
  return result;
}

interface PartRequest {
  deps: GcStepDeps;
  part: number;
  ns: ReturnType<typeof namespaceObjects>;
  guard: SweepGuard;
  opts: SweepStepOptions;
  log: AddressListWriter;
  counts: { spared_at_delete: number };
  failed: KeyDeleteFailure[];
}

/**
 * One delete call of a part's keys (its resends of throttled keys included), each request
 * behind a fresh check; logs what it deleted. True when every key was answered: deleted, or
 * withheld by the check.
 */
async function deleteBatch(
  { deps, part, ns, guard, opts, log, counts, failed }: PartRequest,
  batch: string[],
): Promise<boolean> {
  if (opts.outOfTime?.()) throw new SweepOutOfTimeError(part);
  const relative = (key: string) => key.slice(ns.keyPrefix.length);
  // Before every request, the first and each retry of throttled keys (seconds later):
  // a fresh check, and only the keys it found unreferenced. What was spared is
  // counted from the call's answer: a request resent after a lost answer is checked
  // again and withholds the same keys again.
  // Out of time, no request goes out, a resend of throttled keys (after its back-off)
  // or one behind a long check neither: the call stops, saying what it deleted.
  const beforeSend = async (keys: string[]) => {
    if (opts.outOfTime?.()) throw new SweepOutOfTimeError(part);
    await guard.ensureFresh();
    if (opts.outOfTime?.()) throw new SweepOutOfTimeError(part);
    return guard.unreferenced(keys.map(relative)).map((k) => ns.key(k));
  };
  let out: { failed: KeyDeleteFailure[]; withheld?: string[]; unsent?: string[] };
  let stop: { reason: unknown } | undefined;
  try {
    out = await deps.s3.deleteKeys(
      ns.bucket,
      batch.map((k) => ns.key(k)),
      {
        beforeSend,
        requestTimeoutMs: opts.deleteRequestTimeoutMs ?? DELETE_REQUEST_TIMEOUT_MS,
      },
    );
  } catch (err) {
    // A check stopped the call between a request and the resend of its throttled
    // keys: what that request deleted is logged before the sweep stops.
    if (!(err instanceof KeysDeleteStoppedError)) throw err;
    out = err.partial;
    stop = { reason: err.reason };
  }
  counts.spared_at_delete += out.withheld?.length ?? 0;
  const notDeleted = new Set([...(out.withheld ?? []), ...(out.unsent ?? [])].map(relative));
  for (const f of out.failed) {
    const key = relative(f.key);
    failed.push({ ...f, key });
    notDeleted.add(key);
  }
  await log.add(notDeleted.size === 0 ? batch : batch.filter((k) => !notDeleted.has(k)));
  if (stop) throw stop.reason;
  // Withheld keys were checked and kept: answered. Failed or unsent ones were not.
  return out.failed.length === 0 && (out.unsent?.length ?? 0) === 0;
}

/** Best effort: without the record the next sweep offers every key again, as it used to. */
async function recordAnswered(
  deps: GcStepDeps,
  resumeKey: string,
  answered: AnsweredLines,
  list: string,
  etag: string,
): Promise<void> {
  const record = { ...answered.point, list, etag };
  await deps.s3.put(deps.workBucket, resumeKey, JSON.stringify(record)).catch(() => undefined);
}

/** The list's identity for its resume record: its key and the ETag the sweep reads it at. */
function listDigest(key: string, etag: string): string {
  return createHash("sha256").update(`${key}\n${etag}`).digest("hex");
}

/** The part's last-moment checks (sweep-guard.ts). */
function sweepGuardOf(
  deps: GcStepDeps,
  ctx: SweepBatchContext,
  snapshot: SweepSnapshot,
  part: number,
  opts: SweepStepOptions,
): SweepGuard {
  const work = gcWorkKeys(ctx.repository, ctx.runId);
  return new SweepGuard(
    {
      lakefs: deps.lakefs,
      lease: deps.lease,
      rules: () => deps.runs.getRules(ctx.repository),
      ...(opts.clock ? { clock: opts.clock } : {}),
      loadGraph: async () => {
        const key = snapshot.graphKey ?? work.revalidationGraph;
        const text = await deps.s3.getText(deps.workBucket, key);
        if (text === undefined) throw new Error("sweep step: the revalidation graph is missing");
        return decodeCommitGraph(text);
      },
    },
    {
      repository: ctx.repository,
      runId: ctx.runId,
      storageNamespace: ctx.storageNamespace,
      partition: part,
      snapshot,
    },
    opts.recheckMs ?? DEFAULT_RECHECK_MS,
  );
}

/** Closes the part's deleted-objects log and writes its counts; `stopped` when it failed. */
async function finishPart(
  deps: GcStepDeps,
  countsKey: string,
  log: AddressListWriter,
  counts: {
    candidates: number;
    considered: number;
    offered: number;
    spared_at_delete: number;
    skipped_answered_earlier: number;
  },
  failed: KeyDeleteFailure[],
  guard: SweepGuard,
  stopped?: { because: string },
): Promise<{ deleted: number; failed: number; spared: number }> {
  const incomplete = stopped !== undefined;
  const sparedByRevalidation = counts.considered - counts.offered - counts.skipped_answered_earlier;
  // The log says what the sweep spared, next to what it deleted.
  await log.close({
    "lakeport.marked_candidates": String(counts.candidates),
    "lakeport.spared_by_revalidation": String(sparedByRevalidation),
    "lakeport.spared_at_delete": String(counts.spared_at_delete),
    ...(counts.skipped_answered_earlier > 0
      ? { "lakeport.skipped_answered_earlier": String(counts.skipped_answered_earlier) }
      : {}),
    ...(incomplete ? { "lakeport.incomplete": "true" } : {}),
  });
  const spared = sparedByRevalidation + counts.spared_at_delete;
  await deps.s3.put(
    deps.workBucket,
    countsKey,
    JSON.stringify({
      deleted_objects: log.count,
      delete_errors: failed.length,
      spared_objects: spared,
      spared_by_revalidation: sparedByRevalidation,
      spared_at_delete: counts.spared_at_delete,
      ...(counts.skipped_answered_earlier > 0
        ? { skipped_answered_earlier: counts.skipped_answered_earlier }
        : {}),
      sweep_checks: guard.stats.checks,
      sweep_check_max_ms: guard.stats.longestCheckMs,
      failures: failed.slice(0, FAILURE_SAMPLE),
      ...(stopped ? { stopped_because: stopped.because.slice(0, 1000) } : {}),
    }),
  );
  return { deleted: log.count, failed: failed.length, spared };
}

/** Another attempt of this part ended without stopping (its counts say so). */
async function completedByAnotherAttempt(deps: GcStepDeps, countsKey: string): Promise<boolean> {
  const text = await deps.s3.getText(deps.workBucket, countsKey).catch(() => undefined);
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { stopped_because?: unknown }).stopped_because === undefined;
  } catch {
    return false;
  }
}

/** The marked list as revalidation checked it: edited since (another ETag), it is not read. */
async function readList(deps: GcStepDeps, bucket: string, key: string, etag: string | undefined) {
  try {
    const lines = await deps.s3.lines(bucket, key, etag ? { ifMatch: etag } : {});
    if (lines === undefined) throw new Error(`sweep step: marked list ${key} is missing`);
    return lines;
  } catch (err) {
    if (!(err instanceof WriteConditionFailedError)) throw err;
    throw new Error(
      `sweep step: ${key} was changed since the mark wrote it (its ETag is no longer ${etag}): nothing more of it is deleted; start a new mark`,
    );
  }
}

async function listAll(deps: GcStepDeps, prefix: string): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  for await (const o of deps.s3.list(deps.workBucket, prefix)) out.push(o);
  return out;
}

async function* revivedKeys(deps: GcStepDeps, shards: readonly StoredObject[]) {
  for (const shard of shards) {
    const text = await deps.s3.getText(deps.workBucket, shard.key);
    if (text === undefined) throw new Error(`sweep step: shard ${shard.key} disappeared`);
    yield* decodeAddressShard(text);
  }
}

/**
 * The marked keys of a part. Keys under `_lakefs/` (lakeFS's own metadata) are never deleted,
 * even when the list holds one: marks written before marking left them out could. Nor are
 * keys under another repository's namespace inside this one (`foreign`): its objects. Nor a
 * line with a `.`, `..` or empty segment, which the mark never writes (the list was edited in
 * the namespace): a store that resolves paths deletes another object there, a kept one or
 * one outside the namespace. Nor a key lakeFS's GC never deletes (outside `data/` and the
 * namespace's top level: partition.ts, lakeFsCollects), which earlier marks could hold.
 */
async function* markedKeys(lines: AsyncIterable<string>, foreign: readonly string[]) {
  for await (const line of lines) {
    if (line.length === 0 || line.startsWith(LAKEFS_METADATA_PREFIX)) continue;
    if (hasDotOrEmptySegment(line) || !lakeFsCollects(line)) continue;
    if (!foreign.some((prefix) => line.startsWith(prefix))) yield line;
  }
}

/** The source without the items `skip` says to leave out (called in order, as they are read). */
async function* without<T>(source: AsyncIterable<T>, skip: (x: T) => boolean) {
  for await (const x of source) if (!skip(x)) yield x;
}

/** The source's items, each announced with its index as it is handed on. */
async function* numbered<T>(source: AsyncIterable<T>, each: (index: number) => void) {
  let index = 0;
  for await (const x of source) {
    each(index++);
    yield x;
  }
}

async function* counted<T>(source: AsyncIterable<T>, each: (x: T) => void) {
  for await (const x of source) {
    each(x);
    yield x;
  }
}
