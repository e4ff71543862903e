// lakeport: the CLI of the Lakeport API, with lakectl's words.
//   lakeport export get|set|run|repair|status lakefs://REPO@BRANCH
//   lakeport gc set-config|get-config|delete-config lakefs://REPO [-f rules.json]
//   lakeport gc run lakefs://REPO [--mark-only [--mark-id ID]] [--sweep-only --mark-id ID] [--wait]
//   lakeport gc status lakefs://REPO RUN_ID [--wait]; lakeport gc list lakefs://REPO
//   lakeport gc backup lakefs://REPO --mark-id ID --to s3://...; gc restore ... --from s3://...
// Exit codes: 0 ok, 2 usage error, 3 API error, 4 the run (export or GC) failed.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import packageJson from "../package.json" with { type: "json" };
import { parseLakeFsUri, resolveEndpoint, UsageError } from "./endpoint";
import {
  CopyWorkflowFailed,
  cliS3Client,
  copyMarkedObjects,
  copyMarkedObjectsViaWorkflow,
} from "./gc-backup";
import { ApiClient, ApiError } from "./http";

export const EXIT = { ok: 0, usage: 2, api: 3, runFailed: 4 } as const;

class RunFailed extends Error {
  override readonly name = "RunFailed";
}

interface GlobalOpts {
  endpoint?: string;
  json?: boolean;
}

const pollMs = () => Number(process.env.LAKEPORT_POLL_MS ?? 2000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

function client(cmd: Command): { api: ApiClient; opts: GlobalOpts } {
  const opts = cmd.optsWithGlobals<GlobalOpts>();
  return { api: new ApiClient(resolveEndpoint(opts.endpoint)), opts };
}

function print(opts: GlobalOpts, value: unknown, human: () => string) {
  process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

const branchPath = (uri: string) => {
  const { repository, branch } = parseLakeFsUri(uri, "branch");
  return { repository, branch, path: `/repositories/${enc(repository)}/branches/${enc(branch)}` };
};
const repoPath = (uri: string) => {
  const { repository } = parseLakeFsUri(uri, "repository");
  return { repository, path: `/repositories/${enc(repository)}` };
};

// biome-ignore lint/suspicious/noExplicitAny: API bodies
type Json = any;

function progressLine(execution: Json): string {
  if (!execution) return "";
  const maps = (execution.mapRuns ?? []) as Json[];
  const parts = maps.map(
    (m) => `${m.succeeded + m.failed}/${m.total} items (${m.failed} failed, ${m.running} running)`,
  );
  return `${execution.status}${parts.length ? `, ${parts.join("; ")}` : ""}`;
}

function describeExport(s: Json): string {
  const lines = [
    `state:                ${s.state}`,
    `current ref:          ${s.currentRef ?? "-"}`,
    `last exported commit: ${s.lastExportedCommit ?? "-"}`,
  ];
  if (s.configVersion != null) {
    lines.push(
      `configuration:        version ${s.configVersion}${s.exportedConfigVersion != null ? `, last exported with version ${s.exportedConfigVersion}` : ""}`,
    );
  }
  if (s.mode) lines.push(`mode:                 ${s.mode}`);
  if (s.errorMessage) lines.push(`error:                ${s.errorMessage}`);
  if (s.pendingHead) lines.push(`pending head:         ${s.pendingHead}`);
  if (s.execution)
    lines.push(
      `execution:            ${s.execution.executionArn}`,
      `progress:             ${progressLine(s.execution)}`,
    );
  return lines.join("\n");
}

function describeRun(r: Json): string {
  const counts = Object.entries(r.counts ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const lines = [
    `run id:  ${r.run_id}`,
    `mark id: ${r.mark_id}`,
    `mode:    ${r.mode}`,
    `status:  ${r.status}`,
    `started: ${r.started_at}${r.ended_at ? `, ended: ${r.ended_at}` : ""}`,
  ];
  if (counts) lines.push(`counts:  ${counts}`);
  if (r.error_message) lines.push(`error:   ${r.error_message}`);
  if (r.execution) lines.push(`progress: ${progressLine(r.execution)}`);
  return lines.join("\n");
}

/** The execution stopped but never recorded its end: waiting longer would never finish. */
function endedUnfinished(execution: Json, what: string) {
  const status = execution?.status;
  if (
    status &&
    status !== "RUNNING" &&
    status !== "PENDING_REDRIVE" &&
    !execution.error?.startsWith?.("Describe")
  ) {
    throw new RunFailed(
      `${what}: execution ${execution.executionArn} ended ${status}${execution.error ? ` (${execution.error}: ${execution.cause ?? ""})` : ""} without recording its end`,
    );
  }
}

/** How long an ended execution may go unrecorded: the API reads the state before the
 * execution, and a crashed execution is recorded by the watchdog just after it ends. */
const UNRECORDED_GRACE_MS = 15_000;

async function waitExport(api: ApiClient, path: string, opts: GlobalOpts): Promise<Json> {
  let endedUnrecordedSince: number | undefined;
  for (;;) {
    const s = await api.request("GET", `${path}/export-status`);
    if (s.state !== "in-progress") {
      print(opts, s, () => describeExport(s));
      if (s.state === "export-failed")
        throw new RunFailed(`export failed: ${s.errorMessage ?? ""}`);
      return s;
    }
    try {
      endedUnfinished(s.execution, `export ${s.exportId}`);
      endedUnrecordedSince = undefined;
    } catch (err) {
      endedUnrecordedSince ??= Date.now();
      if (Date.now() - endedUnrecordedSince > UNRECORDED_GRACE_MS) throw err;
      await sleep(pollMs());
      continue;
    }
    if (!opts.json)
      process.stderr.write(`export ${s.exportId}: ${progressLine(s.execution) || "in-progress"}\n`);
    await sleep(pollMs());
  }
}

async function waitRun(
  api: ApiClient,
  path: string,
  runId: string,
  opts: GlobalOpts,
): Promise<Json> {
  for (;;) {
    const r = await api.request("GET", `${path}/gc/runs/${enc(runId)}`);
    if (r.status !== "running") {
      print(opts, r, () => describeRun(r));
      if (r.status === "failed")
        throw new RunFailed(`GC run ${runId} failed: ${r.error_message ?? ""}`);
      return r;
    }
    try {
      endedUnfinished(r.execution, `GC run ${runId}`);
    } catch (err) {
      // The API reads the record before the execution: the run may have ended in between.
      const again = await api.request("GET", `${path}/gc/runs/${enc(runId)}`);
      if (again.status === "running") throw err;
      continue;
    }
    if (!opts.json)
      process.stderr.write(`gc run ${runId}: ${progressLine(r.execution) || "running"}\n`);
    await sleep(pollMs());
  }
}

/** The run that created a mark: its storage namespace locates the mark's address lists. */
/** The mark (GET .../gc/marks/{id}) with its storage namespace; it must be a successful one. */
async function findMark(api: ApiClient, path: string, markId: string): Promise<Json> {
  const mark = await api.request("GET", `${path}/gc/marks/${encodeURIComponent(markId)}`);
  if (mark.status !== "succeeded") {
    throw new UsageError(`mark id "${markId}" is from a ${mark.status} run (${mark.run_id})`);
  }
  if (!mark.storage_namespace) {
    const run = await api.request("GET", `${path}/gc/runs/${encodeURIComponent(mark.run_id)}`);
    mark.storage_namespace = run.storage_namespace;
  }
  if (!mark.storage_namespace) {
    throw new UsageError(`mark run ${mark.run_id} does not say its storage namespace`);
  }
  return mark;
}

const MODE_WORDS: Record<string, string> = {
  incremental: "",
  "full-copy": ", full export",
  "full-compare": ", full reconciliation of the export path",
};

/** One line for whatever a start answered (every status the API can put in `export`). */
function startedLine(r: Json): string {
  switch (r.status) {
    case "started":
      return `export ${r.exportId} started: ${r.fromCommit ?? "(first export)"} -> ${r.toCommit}${r.repaired ? " (repair)" : ""}${MODE_WORDS[r.mode] ?? ""}`;
    case "up-to-date":
      return `already up to date at ${r.currentRef}`;
    case "not-continuous":
      return "not continuous: nothing started";
    case "queued":
      return `export not started now: export ${r.runningExportId} is running; ${r.pendingHead} will be exported when it ends`;
    case "refused-failed":
      return `export not started: the last export failed${r.errorMessage ? ` (${r.errorMessage})` : ""}; run lakeport export repair first`;
    case "refused-running":
      return `export not started: export ${r.runningExportId} is running`;
    case "refused-not-failed":
      return `nothing to repair (state: ${r.state})`;
    case "start-failed":
      return `export ${r.exportId} could not start: ${r.errorMessage}`;
    case "error":
      return `export not started: ${r.message}`;
    default:
      return `export: ${JSON.stringify(r)}`;
  }
}

/** What storing a configuration means for the export path (printed before any export result). */
function configurationLines(stored: Json, continuous: boolean): string[] {
  const lines = [
    `configuration stored (version ${stored.configVersion}${continuous ? ", continuous" : ""})`,
  ];
  if (stored.previousExportPath) {
    lines.push(
      `the export path changed: the next export copies the whole branch to ${stored.exportPath}; ${stored.previousExportPath} is left as it is (delete it yourself when it is no longer needed)`,
    );
  } else if (stored.fullExportNext && stored.exportedConfigVersion !== undefined) {
    lines.push(
      `the marker expressions changed: the next export is a full export to ${stored.exportPath}`,
    );
  }
  return lines;
}

function parseBool(name: string, value: string | boolean | undefined): boolean {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new UsageError(`--${name} must be true or false (got "${value}")`);
}

function readRulesFile(file: string | undefined): unknown {
  if (!file) throw new UsageError("-f/--file rules.json is required");
  const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not valid JSON`);
  }
}

export function buildProgram(): Command {
  const program = new Command("lakeport")
    .description("Continuous export and garbage collection for lakeFS repositories")
    .option("--endpoint <url>", "API endpoint (else LAKEPORT_ENDPOINT, else .local/endpoints.json)")
    .option("--json", "machine-readable output")
    .version(packageJson.version)
    .showHelpAfterError()
    .exitOverride();

  const exp = program.command("export").description("continuous export of a branch");
  addExportConfigCommands(exp);
  addExportRunCommands(exp);
  const gc = program.command("gc").description("garbage collection of a repository");
  addGcCommands(gc);
  addGcCopyCommands(gc);
  return program;
}

/** export get, export set. */
function addExportConfigCommands(exp: Command): void {
  exp
    .command("get <uri>")
    .description("show the export configuration of lakefs://REPO@BRANCH")
    .action(async (uri: string, _o, cmd: Command) => {
      const { api, opts } = client(cmd);
      const c = await api.request("GET", `${branchPath(uri).path}/continuous-export`);
      print(opts, c, () =>
        [
          `export path:        ${c.exportPath}`,
          `export status path: ${c.exportStatusPath ?? "-"}`,
          `prefix regexes:     ${c.lastKeysInPrefixRegexp.join(", ") || "-"}`,
          `continuous:         ${c.isContinuous}`,
        ].join("\n"),
      );
    });

  exp
    .command("set <uri>")
    .description("set the export configuration; --continuous=false exports once at once")
    .requiredOption("--path <s3uri>", "destination s3://bucket/prefix")
    .option("--status-path <s3uri>", "where status files are written")
    .option(
      "--prefix-regex <regex>",
      "directories that get _lakefs_success (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .addOption(
      new Option(
        "--continuous [bool]",
        "export after every commit or merge (required: true or false)",
      ),
    )
    .option("--wait", "with --continuous=false: follow the export until it ends")
    .action(async (uri: string, o: Json, cmd: Command) => {
      if (o.continuous === undefined) {
        throw new UsageError(
          "--continuous must be specified (use --continuous=false for one export)",
        );
      }
      const continuous = parseBool("continuous", o.continuous);
      const { api, opts } = client(cmd);
      const { path } = branchPath(uri);
      const body = {
        exportPath: o.path,
        ...(o.statusPath ? { exportStatusPath: o.statusPath } : {}),
        lastKeysInPrefixRegexp: o.prefixRegex,
        isContinuous: continuous,
      };
      const stored = await api.request("PUT", `${path}/continuous-export`, body);
      if (continuous) {
        const { export: started, ...configuration } = stored;
        print(opts, { configuration, export: started ?? null }, () =>
          [
            ...configurationLines(configuration, true),
            ...(started ? [startedLine(started)] : []),
          ].join("\n"),
        );
        return;
      }
      // The configuration is stored whatever the export does next: say so first.
      if (!opts.json) print(opts, stored, () => configurationLines(stored, false).join("\n"));
      let started: Json;
      try {
        started = await api.request("POST", `${path}/export-hook`);
      } catch (err) {
        if (err instanceof ApiError && !opts.json) {
          throw new ApiError(err.status, `export not started: ${err.message}`);
        }
        throw err;
      }
      if (o.wait && started.status === "started") return void (await waitExport(api, path, opts));
      if (opts.json) print(opts, { configuration: stored, export: started }, () => "");
      else print(opts, started, () => startedLine(started));
    });
}

/** export run, export repair, export status. */
function addExportRunCommands(exp: Command): void {
  exp
    .command("run <uri>")
    .description("export the branch's current head now")
    .option("--wait", "follow the export until it ends")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const { path } = branchPath(uri);
      const r = await api.request("POST", `${path}/export-hook`);
      if (o.wait && r.status === "started") return void (await waitExport(api, path, opts));
      print(opts, r, () => startedLine(r));
    });

  exp
    .command("repair <uri>")
    .description(
      "repair a failed export and restart it: every path the failed exports touched is brought back to the head",
    )
    .option(
      "--full",
      "reconcile the whole export path with the head (list it, copy what differs, delete what is extra); also when the export has not failed",
    )
    .option("--wait", "follow the export until it ends")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const { path } = branchPath(uri);
      const r = await api.request("POST", `${path}/repair-export`, o.full ? { full: true } : {});
      if (o.wait && r.status === "started") return void (await waitExport(api, path, opts));
      print(opts, r, () => startedLine(r));
    });

  exp
    .command("status <uri>")
    .description("export state, last exported commit, error and progress")
    .option("--wait", "follow a running export until it ends")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const { path } = branchPath(uri);
      if (o.wait) return void (await waitExport(api, path, opts));
      const s = await api.request("GET", `${path}/export-status`);
      print(opts, s, () => describeExport(s));
    });
}

/** gc set-config, get-config, delete-config, run, status, list. */
function addGcCommands(gc: Command): void {
  gc.command("set-config <uri>")
    .description("set GC rules from a JSON file")
    .option("-f, --file <rules.json>", "rules file ('-' for stdin)")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const rules = readRulesFile(o.file);
      const { api, opts } = client(cmd);
      await api.request("PUT", `${repoPath(uri).path}/settings/gc_rules`, rules);
      print(opts, { ok: true }, () => "GC rules stored");
    });

  gc.command("get-config <uri>")
    .description("show GC rules")
    .action(async (uri: string, _o, cmd: Command) => {
      const { api } = client(cmd);
      const rules = await api.request("GET", `${repoPath(uri).path}/settings/gc_rules`);
      process.stdout.write(`${JSON.stringify(rules, null, 2)}\n`);
    });

  gc.command("delete-config <uri>")
    .description("delete GC rules")
    .action(async (uri: string, _o, cmd: Command) => {
      const { api, opts } = client(cmd);
      await api.request("DELETE", `${repoPath(uri).path}/settings/gc_rules`);
      print(opts, { ok: true }, () => "GC rules deleted");
    });

  gc.command("run <uri>")
    .description("start a GC run: mark and sweep, --mark-only, or --sweep-only --mark-id ID")
    .option("--mark-only", "mark only (nothing is deleted)")
    .option("--sweep-only", "sweep the addresses of an earlier successful mark")
    .option("--mark-id <id>", "mark id to create (mark only) or to sweep")
    .option("--wait", "follow the run until it ends")
    .action(async (uri: string, o: Json, cmd: Command) => {
      if (o.markOnly && o.sweepOnly)
        throw new UsageError("--mark-only and --sweep-only exclude each other");
      if (o.sweepOnly && !o.markId) throw new UsageError("--sweep-only needs --mark-id");
      if (o.markId && !o.markOnly && !o.sweepOnly) {
        throw new UsageError("--mark-id goes with --mark-only or --sweep-only");
      }
      const mode = o.markOnly ? "mark-only" : o.sweepOnly ? "sweep-only" : "mark-and-sweep";
      const { api, opts } = client(cmd);
      const { path } = repoPath(uri);
      const run = await api.request("POST", `${path}/gc/runs`, {
        mode,
        ...(o.markId ? { mark_id: o.markId } : {}),
      });
      if (o.wait) {
        if (!opts.json)
          process.stderr.write(
            `gc run ${run.run_id} started (${run.mode}, mark id ${run.mark_id})\n`,
          );
        return void (await waitRun(api, path, run.run_id, opts));
      }
      print(opts, run, () => `gc run ${run.run_id} started (${run.mode}, mark id ${run.mark_id})`);
    });

  gc.command("status <uri> <runId>")
    .description("one GC run with progress and counts")
    .option("--wait", "follow the run until it ends")
    .action(async (uri: string, runId: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const { path } = repoPath(uri);
      if (o.wait) return void (await waitRun(api, path, runId, opts));
      const r = await api.request("GET", `${path}/gc/runs/${enc(runId)}`);
      print(opts, r, () => describeRun(r));
      if (r.status === "failed") throw new RunFailed(`GC run ${runId} failed`);
    });

  gc.command("list <uri>")
    .description("GC runs, newest first")
    .option("--amount <n>", "page size", "100")
    .option("--after <runId>", "start after this run (next page)")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const q = new URLSearchParams({ amount: o.amount, ...(o.after ? { after: o.after } : {}) });
      const page = await api.request("GET", `${repoPath(uri).path}/gc/runs?${q}`);
      print(
        opts,
        page,
        () =>
          [
            ...page.results.map(
              (r: Json) =>
                `${r.run_id}  ${r.mode.padEnd(14)}  ${r.status.padEnd(9)}  mark ${r.mark_id}  ${r.started_at}`,
            ),
            ...(page.pagination.has_more ? [`(more: --after ${page.pagination.next_offset})`] : []),
          ].join("\n") || "no GC runs",
      );
    });
}

/** gc backup, gc restore: the objects of a mark (cli/gc-backup.ts). */
function addGcCopyCommands(gc: Command): void {
  for (const direction of ["backup", "restore"] as const) {
    const flag = direction === "backup" ? "--to" : "--from";
    gc.command(`${direction} <uri>`)
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
      )
      .action(async (uri: string, o: Json, cmd: Command) => {
        const { api, opts } = client(cmd);
        const { path, repository } = repoPath(uri);
        const run = await findMark(api, path, o.markId);
        if (direction === "restore") {
          // Before any object comes back: a mark whose objects are in use again must never
          // be swept (refused while a sweep of it runs).
          await api.request("POST", `${path}/gc/marks/${encodeURIComponent(o.markId)}/retire`, {
            reason: `restored from ${o.from}`,
          });
          process.stderr.write(`mark ${o.markId} retired: it will never be swept\n`);
        }
        const workflow = o.workflow ?? process.env.LAKEPORT_GC_COPY_STATE_MACHINE_ARN;
        if (workflow) {
          try {
            const done = await copyMarkedObjectsViaWorkflow(workflow, {
              direction,
              repository,
              storageNamespace: run.storage_namespace,
              markId: o.markId,
              external: direction === "backup" ? o.to : o.from,
            });
            return print(
              opts,
              done,
              () =>
                `gc ${direction} of mark ${o.markId}: ${done.parts} part(s) copied by ${done.executionArn}`,
            );
          } catch (err) {
            if (err instanceof CopyWorkflowFailed) throw new RunFailed(err.message);
            throw err;
          }
        }
        const out = await copyMarkedObjects(cliS3Client(), {
          direction,
          storageNamespace: run.storage_namespace,
          markId: o.markId,
          external: direction === "backup" ? o.to : o.from,
        });
        print(
          opts,
          out,
          () =>
            `gc ${direction} of mark ${o.markId}: ${out.copied}/${out.objects} objects copied (${out.copiedBytes} bytes)${out.failed.length ? `, ${out.failed.length} failed` : ""}`,
        );
        if (out.failed.length > 0) {
          const sample = out.failed
            .slice(0, 5)
            .map((f) => `${f.path} (${f.code}: ${f.message})`)
            .join("; ");
          throw new RunFailed(`gc ${direction}: ${out.failed.length} object(s) failed: ${sample}`);
        }
      });
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander reports is a usage error.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`lakeport: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`lakeport: ${err.status ? `${err.status} ` : ""}${err.message}\n`);
      return EXIT.api;
    }
    if (err instanceof RunFailed) {
      process.stderr.write(`lakeport: ${err.message}\n`);
      return EXIT.runFailed;
    }
    process.stderr.write(`lakeport: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
