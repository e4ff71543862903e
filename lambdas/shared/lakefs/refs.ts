// lakeFS lookups that answer 404 with a clear message when a repository or branch is missing.

import { NotFoundError } from "../errors";
import type { LakeFsApi, Repository } from "./types";

/** lakeFS client errors carry the HTTP status; accept the usual spellings. */
export function isLakeFsNotFound(err: unknown): boolean {
  const e = err as { status?: number; statusCode?: number; name?: string } | undefined;
  return e?.status === 404 || e?.statusCode === 404 || /NotFound/.test(e?.name ?? "");
}

export async function getRepositoryOrThrow(
  lakefs: Pick<LakeFsApi, "getRepository">,
  repository: string,
): Promise<Repository> {
  try {
    return await lakefs.getRepository(repository);
  } catch (err) {
    if (isLakeFsNotFound(err)) throw new NotFoundError(`repository "${repository}" not found`);
    throw err;
  }
}

export async function getBranchHead(
  lakefs: Pick<LakeFsApi, "getBranch">,
  repository: string,
  branch: string,
): Promise<string> {
  try {
    return (await lakefs.getBranch(repository, branch)).commit_id;
  } catch (err) {
    if (isLakeFsNotFound(err)) {
      throw new NotFoundError(`branch "${branch}" not found in repository "${repository}"`);
    }
    throw err;
  }
}
