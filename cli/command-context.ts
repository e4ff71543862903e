// What every command starts from: the API client of the global options, the API paths of a
// lakefs:// URI, a mark as the API returns it, and the --mark-id flag checked before a request.
import type { Command } from "commander";
import { GC_ID_PATTERN, GC_ID_RULE } from "../lambdas/gc/domain/ids";
import type { Json } from "./describe";
import { parseLakeFsUri, resolveEndpoint, UsageError } from "./endpoint";
import { ApiClient } from "./http";
import type { GlobalOpts } from "./output";

const enc = encodeURIComponent;

export function client(cmd: Command): { api: ApiClient; opts: GlobalOpts } {
  const opts = cmd.optsWithGlobals<GlobalOpts>();
  return { api: new ApiClient(resolveEndpoint(opts.endpoint)), opts };
}

export const branchPath = (uri: string) => {
  const { repository, branch } = parseLakeFsUri(uri, "branch");
  return { repository, branch, path: `/repositories/${enc(repository)}/branches/${enc(branch)}` };
};
export const repoPath = (uri: string) => {
  const { repository } = parseLakeFsUri(uri, "repository");
  return { repository, path: `/repositories/${enc(repository)}` };
};

/** The mark (GET .../gc/marks/{id}) with its storage namespace; it must be a successful one. */
export async function findMark(api: ApiClient, path: string, markId: string): Promise<Json> {
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

/** A mark id as the API takes it: refused here, before any request, naming the flag. */
export function markIdFlag(value: string): string {
  if (!GC_ID_PATTERN.test(value)) {
    throw new UsageError(`--mark-id: must be ${GC_ID_RULE} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A GC run id given to a flag (--after): refused before any request, naming the flag. */
export function runIdFlag(flag: string, value: string): string {
  if (!GC_ID_PATTERN.test(value)) {
    throw new UsageError(`${flag}: must be a GC run id (got ${JSON.stringify(value)})`);
  }
  return value;
}
