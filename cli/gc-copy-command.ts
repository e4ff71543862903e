// `lakeport gc backup|restore`: checks of the mark and the location, the backup record, the
// retire of a restored mark, then the copies, from this machine or by the GC copy workflow.
import type { S3Client } from "@aws-sdk/client-s3";
import type { Command } from "commander";
import type { VersionedBackupRecord } from "../lambdas/gc/app/copy-record";
import { type BackupRecord, restoreShortfall } from "../lambdas/gc/domain/backup-record";
import { client, findMark, markIdFlag, repoPath } from "./command-context";
import type { Json } from "./describe";
import { UsageError } from "./endpoint";
import type { MarkCopyResult } from "./gc-backup";
import { type ApiClient, ApiError } from "./http";
import { checkLocationForm } from "./location-form";
import { type GlobalOpts, print } from "./output";
import { formatDuration, formatFinalCounts } from "./progress";
import { progressLineFor, RunFailed } from "./wait";

/** gc backup, gc restore: the objects of a mark (cli/gc-backup.ts). */
export function addGcCopyCommands(gc: Command): void {
  for (const direction of ["backup", "restore"] as const) {
    const flag = direction === "backup" ? "--to" : "--from";
    const cmd = gc
      .command(`${direction} <uri>`)
      .description(
        direction === "backup"
          ? "copy the objects of a mark to a location outside the storage namespace"
          : "copy the objects of a mark back from a backup into the storage namespace",
      )
      .requiredOption("--mark-id <id>", "mark id of a successful mark run")
      .requiredOption(`${flag} <s3uri>`, "s3://bucket/prefix outside the namespace")
      .option(
        "--workflow <stateMachineArn>",
        "copy with the GC copy workflow (distributed map) instead of from this machine; default $LAKEPORT_GC_COPY_STATE_MACHINE_ARN",
      );
    if (direction === "restore") {
      cmd.option(
        "--accept-incomplete-backup",
        "restore from a backup whose record says it did not complete (what it saved comes back)",
      );
    }
    cmd.action((uri: string, o: Json, c: Command) => copyMark(direction, uri, o, c));
  }
  gc.command("backup-locations <uri>")
    .description(
      "the locations the repository's backups claimed (kept out of every export path), or --release one",
    )
    .option("--release <s3uri>", "release a location whose backup is no longer needed")
    .action(async (uri: string, o: Json, c: Command) => {
      if (o.release !== undefined) checkLocationForm(o.release, "--release");
      const { api, opts } = client(c);
      const { path } = repoPath(uri);
      if (o.release !== undefined) {
        await api.request(
          "DELETE",
          `${path}/gc/backup-locations?location=${encodeURIComponent(o.release)}`,
        );
        return print(opts, { released: o.release }, () => `released ${o.release}`);
      }
      // Every page: each claim keeps export paths out, so the list is whole.
      const results: Json[] = [];
      let after: string | undefined;
      do {
        const from = after === undefined ? "" : `&after=${encodeURIComponent(after)}`;
        const page = await api.request("GET", `${path}/gc/backup-locations?amount=1000${from}`);
        results.push(...page.results);
        after = page.pagination?.has_more ? page.pagination.next_offset : undefined;
      } while (after !== undefined);
      const list = { results };
      print(
        opts,
        list,
        () =>
          list.results
            .map((r: Json) => `${r.location}  mark ${r.mark_id}  claimed ${r.claimed_at}`)
            .join("\n") || "no claimed backup locations",
      );
    });
}

/**
 * A backup must run before the mark's own sweep: objects missing then are counted as absent
 * (an earlier sweep of another mark deleted them), so after (or during) this mark's sweep the
 * objects it deleted would be "absent" and the backup would succeed without them.
 */
function checkNotSwept(mark: Json, markId: string): void {
  const by = mark.sweep_run_id ? ` by run ${mark.sweep_run_id}` : "";
  if (mark.sweep_status === "succeeded") {
    throw new UsageError(
      `mark id "${markId}" was swept${by}${mark.swept_at ? ` at ${mark.swept_at}` : ""}: the objects it deleted are gone; back a mark up before its sweep`,
    );
  }
  if (mark.sweep_status === "running") {
    throw new UsageError(
      `mark id "${markId}" is being swept${by}: a backup now would miss what it deletes; back a mark up before its sweep`,
    );
  }
  if (mark.sweep_status === "failed") {
    process.stderr.write(
      `warning: mark ${markId} was partly swept${by} (the sweep failed): the objects it deleted are counted as absent, not backed up\n`,
    );
  }
}

/**
 * The mark as it is once a backup ended: a sweep of it that began after checkNotSwept (a
 * sweep-only start, or the sweep phase of its own mark and sweep run) deleted objects the
 * backup then counted as absent, so the backup is incomplete.
 */
async function checkNoSweepBegan(api: ApiClient, path: string, before: Json, markId: string) {
  const after = await api.request("GET", `${path}/gc/marks/${encodeURIComponent(markId)}`);
  if (after.sweep_run_id && after.sweep_run_id !== before.sweep_run_id) {
    throw new RunFailed(
      `gc backup of mark ${markId}: sweep run ${after.sweep_run_id} of this mark began during the backup: objects it deleted are missing from the backup (counted as absent); back a mark up before its sweep`,
    );
  }
}

/** What a backup or restore works on: the command's mark, location and API. */
interface CopyContext {
  direction: "backup" | "restore";
  api: ApiClient;
  opts: GlobalOpts;
  path: string;
  repository: string;
  markId: string;
  /** The mark as it was before the copy (its sweep, for a backup's last check). */
  mark: Json;
  req: {
    direction: "backup" | "restore";
    repository: string;
    storageNamespace: string;
    markId: string;
    external: string;
  };
  /** A restore from a backup whose record says it did not complete is accepted. */
  acceptIncomplete: boolean;
}

/**
 * The API checks a backup location against every repository's storage namespace and every
 * branch's export and status paths (the CLI sees no lakeFS nor table): first, before anything
 * is read or written (checkBackupLocationWithApi), and as it claims the location once the
 * backup record's checks passed, so that no export path is set around it later (a full export
 * would delete the backup; the copy workflow's plan claims it itself). A refusal is a usage
 * error naming the flag, before anything is written.
 */
async function checkBackupLocationWithApi(api: ApiClient, path: string, location: string) {
  try {
    await api.request(
      "GET",
      `${path}/gc/backup-location-check?location=${encodeURIComponent(location)}`,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      throw new UsageError(err.message.replace(/^location:/, "--to:"));
    }
    throw err;
  }
}

async function claimBackupLocationWithApi(
  api: ApiClient,
  path: string,
  location: string,
  markId: string,
) {
  try {
    await api.request("POST", `${path}/gc/backup-locations`, { location, mark_id: markId });
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      throw new UsageError(err.message.replace(/^location:/, "--to:"));
    }
    throw err;
  }
}

/** gc backup|restore: from this machine with a progress line, or by the GC copy workflow. */
async function copyMark(direction: "backup" | "restore", uri: string, o: Json, cmd: Command) {
  markIdFlag(o.markId);
  // An empty --workflow is a bad value, not an absent flag (the copy would run from here).
  if (o.workflow === "") throw new UsageError('--workflow: must be a state machine ARN (got "")');
  checkLocationForm(
    direction === "backup" ? o.to : o.from,
    direction === "backup" ? "--to" : "--from",
  );
  const { api, opts } = client(cmd);
  const { path, repository } = repoPath(uri);
  const mark = await findMark(api, path, o.markId);
  if (direction === "backup") {
    checkNotSwept(mark, o.markId);
    await checkBackupLocationWithApi(api, path, o.to);
  }
  const req = {
    direction,
    repository,
    storageNamespace: mark.storage_namespace,
    markId: o.markId,
    external: direction === "backup" ? o.to : o.from,
  };
  const acceptIncomplete = o.acceptIncompleteBackup === true;
  const c: CopyContext = {
    ...{ direction, api, opts, path, repository, markId: o.markId, mark, req },
    acceptIncomplete,
  };
  // Loaded here: the S3 and Step Functions clients are for backup and restore only, and
  // loading them costs every other command's start.
  const {
    checkCopyLocation,
    checkMarkLists,
    checkRecordlessLocation,
    checkRestoreRecord,
    cliS3Client,
    startBackupRecord,
  } = await import("./gc-backup");
  const workflow = o.workflow ?? process.env.LAKEPORT_GC_COPY_STATE_MACHINE_ARN;
  if (workflow) {
    // The form only: the workflow's plan checks the rest, then retires a restore's mark.
    await checkCopyLocation(req);
    return copyMarkViaWorkflow(c, workflow);
  }
  const s3 = cliS3Client();
  // Before the mark is retired: a wrong location must change nothing.
  await checkCopyLocation(req, s3);
  const partitions = typeof mark.partitions === "number" ? mark.partitions : undefined;
  await checkMarkLists(
    s3,
    req.storageNamespace,
    req.markId,
    direction === "backup" ? partitions : undefined,
  );
  if (direction === "backup") {
    // Refuses a location holding another mark's backup; says a backup is in progress. Once
    // its checks passed, the location is claimed (kept out of export paths) before the record
    // is written.
    const claimed = await startBackupRecord(s3, req, new Date(), () =>
      claimBackupLocationWithApi(api, path, o.to, o.markId),
    );
    return copyMarkHere(c, s3, claimed.record, claimed);
  }
  const record = await checkRestoreRecord(s3, req, acceptIncomplete);
  if (!record) {
    warnNoRecord(req.external);
    await checkRecordlessLocation(s3, req);
  }
  // Before any object comes back: a mark whose objects are in use again must never
  // be swept (refused while a sweep of it runs).
  await retireMark(c);
  process.stderr.write(`mark ${o.markId} retired: it will never be swept\n`);
  await copyMarkHere(c, s3, record);
}

const retireMark = (c: CopyContext) =>
  c.api.request("POST", `${c.path}/gc/marks/${encodeURIComponent(c.markId)}/retire`, {
    reason: `restored from ${c.req.external}`,
  });

/**
 * gc backup|restore from this machine, with the shared copy engine. `record`: a backup's
 * started record (finished here), or the record of the location a restore reads.
 */
async function copyMarkHere(
  c: CopyContext,
  s3: S3Client,
  record: BackupRecord | undefined,
  claimed?: VersionedBackupRecord,
) {
  const { copyMarkedObjects } = await import("./gc-backup");
  const { direction, opts, markId } = c;
  const line = progressLineFor(opts, `gc ${direction} of mark ${markId}`);
  const started = Date.now();
  const out = await copyMarkedObjects(s3, c.req, {
    ...(record ? { record } : {}),
    onProgress: (p) =>
      line?.update({
        phase: "copying",
        objects: { done: p.done, ...(p.listingDone ? { total: p.listed } : {}) },
        bytes: { done: p.copiedBytes },
        failed: p.failed,
      }),
  }).finally(() => line?.end());
  print(
    opts,
    out,
    () =>
      `gc ${direction} of mark ${markId}: ${formatFinalCounts({ copied: out.copied, bytes: out.copiedBytes, failed: out.failed.length, durationMs: Date.now() - started })} (${out.objects} objects${out.present > 0 ? `, ${out.present} already in the ${held(direction)}` : ""}${out.absent > 0 ? `, ${out.absent} already absent` : ""})`,
  );
  if (direction === "backup" && claimed) await endBackup(c, s3, claimed, out);
  if (out.failed.length > 0) {
    const sample = out.failed
      .slice(0, 5)
      .map((f) => `${f.path} (${f.code}: ${f.message})`)
      .join("; ");
    throw new RunFailed(`gc ${direction}: ${out.failed.length} object(s) failed: ${sample}`);
  }
  if (direction === "restore" && record) {
    const shortfall = restoreShortfall(record, out);
    if (shortfall) {
      throw new RunFailed(
        `gc restore of mark ${markId}: ${shortfall} (${c.req.external}, backed up ${record.finishedAt}): they were not restored`,
      );
    }
  }
}

/** The backup's record: complete, or failed with why (objects failed, a sweep of it began). */
async function endBackup(
  c: CopyContext,
  s3: S3Client,
  started: VersionedBackupRecord,
  out: MarkCopyResult,
) {
  const { finishBackupRecord } = await import("./gc-backup");
  try {
    await checkNoSweepBegan(c.api, c.path, c.mark, c.markId);
  } catch (err) {
    await finishBackupRecord(s3, c.req, started, out, (err as Error).message);
    throw err;
  }
  await finishBackupRecord(s3, c.req, started, out);
}

/**
 * gc backup|restore by the GC copy workflow. A restore's mark is retired by the workflow's
 * plan step once its checks passed (so a wrong location leaves it as it was), not here: the
 * mark is reported afterwards.
 */
async function copyMarkViaWorkflow(c: CopyContext, workflow: string) {
  const { CopyWorkflowFailed, copyMarkedObjectsViaWorkflow } = await import("./gc-backup");
  const { direction, opts, markId } = c;
  const line = progressLineFor(opts, `gc ${direction} of mark ${markId}`);
  const started = Date.now();
  let done: Awaited<ReturnType<typeof copyMarkedObjectsViaWorkflow>>;
  try {
    done = await copyMarkedObjectsViaWorkflow(
      workflow,
      {
        ...c.req,
        repository: c.repository,
        ...(c.acceptIncomplete ? { acceptIncompleteBackup: true } : {}),
      },
      undefined,
      (d) =>
        line?.update({
          phase: d.status.toLowerCase(),
          detail: `for ${formatDuration(Date.now() - started)}`,
        }),
    );
  } catch (err) {
    line?.end();
    // Copies that failed after the plan retired the mark leave it retired: say so.
    if (direction === "restore") await reportRetired(c).catch(() => false);
    if (err instanceof CopyWorkflowFailed) throw new RunFailed(err.message);
    throw err;
  }
  line?.end();
  if (direction === "restore" && !(await reportRetired(c))) {
    // A copy workflow deployed before its plan retired marks: retire it now.
    process.stderr.write(
      `warning: the copy workflow did not retire mark ${markId} (deployed before restores retired marks in it): retiring it now\n`,
    );
    await retireMark(c);
    await reportRetired(c);
  }
  if (direction === "restore" && done.recordFound === false) warnNoRecord(c.req.external);
  const end = done.end;
  print(opts, done, () =>
    end
      ? `gc ${direction} of mark ${markId}: ${formatFinalCounts({ copied: end.copied, bytes: end.copiedBytes, failed: 0, durationMs: Date.now() - started })} (${end.objects} objects${end.present > 0 ? `, ${end.present} already in the ${held(direction)}` : ""}${end.absent > 0 ? `, ${end.absent} already absent` : ""}) by ${done.executionArn}`
      : `gc ${direction} of mark ${markId}: ${done.parts} part(s) copied by ${done.executionArn} in ${formatDuration(Date.now() - started)}`,
  );
  if (direction === "backup") await checkNoSweepBegan(c.api, c.path, c.mark, markId);
}

/** Where a copy's "present" objects were already: a backup's location, a restore's namespace. */
const held = (direction: "backup" | "restore") =>
  direction === "backup" ? "location" : "namespace";

function warnNoRecord(location: string): void {
  process.stderr.write(
    `warning: ${location} has no backup record (_lakeport_backup.json: a backup made before Lakeport wrote one, or copied by hand): which mark it holds and whether it is complete are not checked\n`,
  );
}

/** Says on stderr that the mark is retired, when it is; returns whether it is. */
async function reportRetired(c: CopyContext): Promise<boolean> {
  const mark = await c.api.request("GET", `${c.path}/gc/marks/${encodeURIComponent(c.markId)}`);
  if (!mark.retired_at) return false;
  process.stderr.write(`mark ${c.markId} retired: it will never be swept\n`);
  return true;
}
