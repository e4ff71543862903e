// lakeport: the CLI of the Lakeport API, with lakectl's words (lakefs://REPO/BRANCH or
// lakefs://REPO@BRANCH, -f/--filename, gc get-config -p/--json, --version).
//   lakeport export get|set|run|repair|status lakefs://REPO/BRANCH
//   lakeport gc set-config|get-config|delete-config lakefs://REPO [-f rules.json]
//   lakeport gc run lakefs://REPO [--mark-only [--mark-id ID]] [--sweep-only --mark-id ID] [--wait]
//   lakeport gc status lakefs://REPO RUN_ID [--wait]; lakeport gc list lakefs://REPO
//   lakeport gc backup lakefs://REPO --mark-id ID --to s3://...; gc restore ... --from s3://...
//   lakeport gc backup-locations lakefs://REPO [--release s3://...]
// Exit codes: 0 ok, 2 usage error, 3 API error, 4 the run (export or GC) failed.
// First: the AWS SDK's notices must be off before any SDK client exists.
import "./quiet-sdk";
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { jsonTextProblem } from "../lambdas/shared/inexact-numbers";
import packageJson from "../package.json" with { type: "json" };
import { branchPath, client, markIdFlag, repoPath, runIdFlag } from "./command-context";
import {
  configurationLines,
  describeExport,
  describeExportConfiguration,
  describeGcRules,
  describeRun,
  type Json,
  startedLine,
} from "./describe";
import { UsageError } from "./endpoint";
import { addGcCopyCommands } from "./gc-copy-command";
import { EXIT, EXPORT_HELP, GC_HELP, PROGRAM_HELP } from "./help";
import { ApiError } from "./http";
import { checkLocationForm } from "./location-form";
import { print } from "./output";
import { RunFailed, waitExport, waitRun } from "./wait";

export { EXIT };

function parseBool(name: string, value: string | boolean | undefined): boolean {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new UsageError(`--${name} must be true or false (got "${value}")`);
}

function readRulesFile(file: string | undefined): unknown {
  if (!file) throw new UsageError("-f/--filename rules.json is required");
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`-f/--filename: cannot read ${file}: ${(err as Error).message}`);
  }
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch {
    throw new UsageError(`-f/--filename: ${file} is not valid JSON`);
  }
  // Sent as parsed: `1e-400` would reach the API as 0, a field given twice as its last value.
  // (Nesting too deep to scan is the API's to refuse.)
  let problem: string | undefined;
  try {
    problem = jsonTextProblem(text);
  } catch {
    problem = undefined;
  }
  if (problem) throw new UsageError(`-f/--filename: ${file}: ${problem}`);
  return rules;
}

const MAX_PAGE = 1000;

function amountFlag(value: string): string {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_PAGE) {
    throw new UsageError(
      `--amount: must be a whole number from 1 to ${MAX_PAGE} (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

export function buildProgram(): Command {
  const program = new Command("lakeport")
    .description("Continuous export and garbage collection for lakeFS repositories")
    .option("--endpoint <url>", "API endpoint (else LAKEPORT_ENDPOINT, else .local/endpoints.json)")
    .option("--json", "machine-readable output")
    .version(packageJson.version, "--version", "print the version of lakeport")
    .addHelpText("after", PROGRAM_HELP)
    .showHelpAfterError()
    .exitOverride();

  const exp = program
    .command("export")
    .description("continuous export of a branch")
    .addHelpText("after", EXPORT_HELP);
  addExportConfigCommands(exp);
  addExportDeleteCommand(exp);
  addExportRunCommands(exp);
  const gc = program
    .command("gc")
    .description("garbage collection of a repository")
    .addHelpText("after", GC_HELP);
  addGcCommands(gc);
  addGcCopyCommands(gc);
  refuseRepeatedValues(program);
  return program;
}

/**
 * A flag that takes one value, given twice, is refused (exit 2), as the API refuses a query
 * parameter given twice: which one was meant is not known, and commander keeps the last (the
 * second --path stored, the second --mark-id run). Repeatable flags (--prefix-regex) collect.
 */
function refuseRepeatedValues(cmd: Command): void {
  for (const option of cmd.options) {
    if (!option.required && !option.optional) continue; // a switch
    if (Array.isArray(option.defaultValue)) continue; // repeatable
    const name = [option.short, option.long].filter(Boolean).join("/");
    let given = 0;
    cmd.on(`option:${option.name()}`, () => {
      given++;
      if (given > 1) throw new UsageError(`${name}: must be given once`);
    });
  }
  for (const sub of cmd.commands) refuseRepeatedValues(sub);
}

/** export get, export set. */
function addExportConfigCommands(exp: Command): void {
  exp
    .command("get <uri>")
    .description("show the export configuration of lakefs://REPO/BRANCH")
    .action(async (uri: string, _o, cmd: Command) => {
      const { api, opts } = client(cmd);
      const c = await api.request("GET", `${branchPath(uri).path}/continuous-export`);
      print(opts, c, () => describeExportConfiguration(c));
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
      // Empty is no status path to the API: the flag given empty would drop a stored one.
      if (o.statusPath === "") {
        throw new UsageError('--status-path: must be s3://bucket[/prefix] (got "")');
      }
      // The paths' form as the API checks it, before any request (as --to and --from).
      checkLocationForm(o.path, "--path");
      if (o.statusPath !== undefined) checkLocationForm(o.statusPath, "--status-path");
      const { api, opts } = client(cmd);
      const { path } = branchPath(uri);
      const body = {
        exportPath: o.path,
        ...(o.statusPath !== undefined ? { exportStatusPath: o.statusPath } : {}),
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

/** export delete. */
function addExportDeleteCommand(exp: Command): void {
  exp
    .command("delete <uri>")
    .description(
      "delete the export configuration (the export path is left as it is; refused while an export runs)",
    )
    .action(async (uri: string, _o, cmd: Command) => {
      const { api, opts } = client(cmd);
      await api.request("DELETE", `${branchPath(uri).path}/continuous-export`);
      print(
        opts,
        { ok: true },
        () => "export configuration deleted; the export path is left as it is",
      );
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
    .option("-f, --filename <rules.json>", "rules file ('-' for stdin)")
    .addOption(new Option("--file <rules.json>", "same as --filename").hideHelp())
    .action(async (uri: string, o: Json, cmd: Command) => {
      const rules = readRulesFile(o.filename ?? o.file);
      const { api, opts } = client(cmd);
      await api.request("PUT", `${repoPath(uri).path}/settings/gc_rules`, rules);
      print(opts, { ok: true }, () => "GC rules stored");
    });

  gc.command("get-config <uri>")
    .description("show GC rules (as lakectl: readable, or JSON with -p/--json)")
    .option("-p, --json", "the rules as JSON")
    .action(async (uri: string, o: Json, cmd: Command) => {
      const { api, opts } = client(cmd);
      const rules = await api.request("GET", `${repoPath(uri).path}/settings/gc_rules`);
      print({ json: o.json || opts.json }, rules, () => describeGcRules(rules));
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
      // An empty --mark-id is a bad value, not an absent flag (that would start a mark and sweep).
      if (o.markId !== undefined) markIdFlag(o.markId);
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
      runIdFlag("RUN_ID", runId);
      const { api, opts } = client(cmd);
      const { path } = repoPath(uri);
      if (o.wait) return void (await waitRun(api, path, runId, opts));
      const r = await api.request("GET", `${path}/gc/runs/${encodeURIComponent(runId)}`);
      print(opts, r, () => describeRun(r));
      if (r.status === "failed") throw new RunFailed(`GC run ${runId} failed`);
    });

  gc.command("list <uri>")
    .description("GC runs, newest first")
    .option("--amount <n>", "page size", "100")
    .option("--after <runId>", "start after this run (next page)")
    .action(async (uri: string, o: Json, cmd: Command) => {
      amountFlag(o.amount);
      if (o.after !== undefined) runIdFlag("--after", o.after);
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
