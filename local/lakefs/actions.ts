// lakeFS actions of the development server: `_lakefs_actions/*.yaml` files of the committed
// tree, in lakeFS's format, with `webhook` hooks for `post-commit`, `post-merge` and
// `post-revert` (a revert fires no post-commit). Fired after the operation has returned,
// with lakeFS's event payload.
//
// Secrets: as in lakeFS (pkg/actions/secure_string.go), a header or query parameter value may
// hold `{{ ENV.NAME }}` (spaces inside the braces optional), replaced when the action runs by
// the variable NAME of the server's environment. Only names starting with the configured
// prefix (lakeFS's `actions.env.prefix`, default LAKEFSACTION_) are read; any other name
// becomes "". A variable that is not set fails the whole action run: no hook of the event is
// called. The action file in the repository then holds the variable's name, not the secret.
import { parse as parseYaml } from "yaml";
import type { CommitRecord } from "./repository-store";

export type EventType = "post-commit" | "post-merge" | "post-revert";

export interface WebhookHook {
  id: string;
  url: string;
  headers: Record<string, string>;
  queryParams: Record<string, string[]>;
  timeoutMs: number;
}

export interface Action {
  name: string;
  /** Branch globs per event; an empty list means every branch. */
  on: Partial<Record<string, string[]>>;
  hooks: WebhookHook[];
}

export interface HookEvent {
  event_type: EventType;
  event_time: string;
  action_name: string;
  hook_id: string;
  repository_id: string;
  branch_id: string;
  source_ref: string;
  commit_id: string;
  commit_message: string;
  committer: string;
  /** Omitted when empty (lakeFS marshals it with omitempty). */
  commit_metadata?: Record<string, string>;
  merge_source?: string;
}

export interface HookRun {
  action: string;
  hook: string;
  url: string;
  event: HookEvent;
  status?: number;
  error?: string;
}

/** Go-style duration ("30s", "1m30s", "500ms") in ms. */
export function parseDurationMs(value: unknown, fallbackMs: number): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value !== "string" || value.trim() === "") return fallbackMs;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let matched = "";
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched += m[0];
  }
  return matched === value.trim() ? total : fallbackMs;
}

/** Go's path.Match for branch globs: `*` and `?` do not cross `/`. */
export function globMatch(glob: string, name: string): boolean {
  let re = "^";
  for (const ch of glob) {
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(name);
}

/** Parses one action file; throws with a message naming the bad field. */
export function parseActionFile(text: string, fileName: string): Action {
  const doc = parseYaml(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== "object") throw new Error(`${fileName}: not a YAML mapping`);
  const name = typeof doc.name === "string" ? doc.name : fileName;
  const on: Action["on"] = {};
  const rawOn = doc.on;
  if (!rawOn || typeof rawOn !== "object") throw new Error(`${fileName}: on: required`);
  for (const [event, spec] of Object.entries(rawOn as Record<string, unknown>)) {
    const branches = (spec as { branches?: unknown } | null)?.branches;
    on[event] = Array.isArray(branches) ? branches.map(String) : [];
  }
  const hooks: WebhookHook[] = [];
  const rawHooks = Array.isArray(doc.hooks) ? doc.hooks : [];
  rawHooks.forEach((h: Record<string, unknown>, i: number) => {
    if (h?.type !== "webhook") return;
    const props = (h.properties ?? {}) as Record<string, unknown>;
    if (typeof props.url !== "string")
      throw new Error(`${fileName}: hooks[${i}].properties.url: required`);
    const queryParams: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((props.query_params ?? {}) as Record<string, unknown>)) {
      queryParams[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((props.headers ?? {}) as Record<string, unknown>)) {
      headers[k] = String(v);
    }
    hooks.push({
      id: typeof h.id === "string" ? h.id : `hook-${i}`,
      url: props.url,
      headers,
      queryParams,
      timeoutMs: parseDurationMs(props.timeout, 60_000),
    });
  });
  return { name, on, hooks };
}

/** lakeFS's default `actions.env.prefix`. */
export const ACTION_ENV_PREFIX = "LAKEFSACTION_";

/** Where `{{ ENV.NAME }}` values come from (lakeFS: its process environment). */
export interface ActionEnvironment {
  values: Readonly<Record<string, string | undefined>>;
  /** Only names with this prefix are read (others become ""); "" reads every name. */
  prefix?: string;
  /** lakeFS's `actions.env.enabled`: when false every reference becomes "". Default true. */
  enabled?: boolean;
}

export class MissingActionEnvError extends Error {
  override readonly name = "MissingActionEnvError";
}

const ENV_REFERENCE = /\{\{ ?ENV\..*? ?\}\}/g;

/** A header or query parameter value with its `{{ ENV.NAME }}` references replaced. */
export function substituteActionEnv(value: string, env: ActionEnvironment): string {
  return value.replace(ENV_REFERENCE, (reference) => {
    const raw = reference.replace(/^[{} ]+|[{} ]+$/g, "");
    const dot = raw.indexOf(".");
    if (dot === -1 || raw.slice(0, dot) !== "ENV") return reference;
    const name = raw.slice(dot + 1);
    if (env.enabled === false) return "";
    const prefix = env.prefix ?? ACTION_ENV_PREFIX;
    if (prefix !== "" && !name.startsWith(prefix)) return "";
    const v = env.values[name];
    if (v === undefined) throw new MissingActionEnvError(`${name} not found: missing env var`);
    return v;
  });
}

/** The hook with its headers and query parameters' environment references replaced. */
export function withActionEnv(hook: WebhookHook, env: ActionEnvironment): WebhookHook {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(hook.headers)) headers[k] = substituteActionEnv(v, env);
  const queryParams: Record<string, string[]> = {};
  for (const [k, vs] of Object.entries(hook.queryParams)) {
    queryParams[k] = vs.map((v) => substituteActionEnv(v, env));
  }
  return { ...hook, headers, queryParams };
}

/**
 * The hooks an event runs, secrets substituted. Like lakeFS, which builds every hook of the
 * run before running any: one unresolvable reference fails the run (throws), nothing is called.
 */
export function hooksOfRun(
  actions: readonly Action[],
  event: EventType,
  branch: string,
  env: ActionEnvironment,
): { action: Action; hook: WebhookHook }[] {
  const out: { action: Action; hook: WebhookHook }[] = [];
  for (const action of actions) {
    if (!actionApplies(action, event, branch)) continue;
    for (const hook of action.hooks) {
      try {
        out.push({ action, hook: withActionEnv(hook, env) });
      } catch (err) {
        throw new MissingActionEnvError(
          `action ${action.name}, hook ${hook.id}: ${(err as Error).message}`,
        );
      }
    }
  }
  return out;
}

export function actionApplies(action: Action, event: EventType, branch: string): boolean {
  const globs = action.on[event];
  if (globs === undefined) return false;
  return globs.length === 0 || globs.some((g) => globMatch(g, branch));
}

/** POSTs the event to one webhook, as lakeFS does (JSON body, query params and headers). */
export async function callWebhook(hook: WebhookHook, event: HookEvent): Promise<number> {
  const url = new URL(hook.url);
  for (const [k, values] of Object.entries(hook.queryParams)) {
    for (const v of values) url.searchParams.append(k, v);
  }
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...hook.headers },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(hook.timeoutMs),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Runs the actions of `files` (the `_lakefs_actions/` entries of the tree the event produced,
 * as lakeFS reads them) that apply to the event; `read` fetches one file's text.
 */
export async function runPostHooks(
  files: Iterable<[key: string, value: { a: string }]>,
  read: (address: string) => Promise<string>,
  ctx: {
    repo: string;
    branch: string;
    commit: CommitRecord;
    eventType: EventType;
    mergeSource?: string;
  },
  runs: HookRun[],
  env: ActionEnvironment,
): Promise<void> {
  const actions: Action[] = [];
  for (const [key, value] of files) {
    if (!/\.ya?ml$/.test(key)) continue;
    try {
      actions.push(parseActionFile(await read(value.a), key));
    } catch (err) {
      runs.push({ action: key, hook: "", url: "", event: undefined as never, error: String(err) });
    }
  }
  const eventTime = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  let hooks: ReturnType<typeof hooksOfRun>;
  try {
    hooks = hooksOfRun(actions, ctx.eventType, ctx.branch, env);
  } catch (err) {
    // As lakeFS: a hook that cannot be built (an unset variable) fails the whole run.
    runs.push({ action: "", hook: "", url: "", event: undefined as never, error: String(err) });
    if (runs.length > 1000) runs.shift();
    return;
  }
  const calls: Promise<void>[] = [];
  for (const { action, hook } of hooks) {
    const event: HookEvent = {
      event_type: ctx.eventType,
      event_time: eventTime,
      action_name: action.name,
      hook_id: hook.id,
      repository_id: ctx.repo,
      branch_id: ctx.branch,
      source_ref: ctx.commit.id,
      commit_id: ctx.commit.id,
      commit_message: ctx.commit.message,
      committer: ctx.commit.committer,
      ...(Object.keys(ctx.commit.metadata).length > 0
        ? { commit_metadata: ctx.commit.metadata }
        : {}),
      ...(ctx.mergeSource !== undefined ? { merge_source: ctx.mergeSource } : {}),
    };
    const run: HookRun = { action: action.name, hook: hook.id, url: hook.url, event };
    runs.push(run);
    if (runs.length > 1000) runs.shift();
    calls.push(
      callWebhook(hook, event).then(
        (status) => {
          run.status = status;
        },
        (err) => {
          run.error = String(err);
        },
      ),
    );
  }
  await Promise.all(calls);
}
