// The lakeFS side of a backup location's check (domain/backup-location-owners.ts): every
// repository the server lists, page by page. Used by the copy workflow's plan and by the API
// (which the CLI asks before it copies from its own machine).
import type { ListOptions, Page, Repository } from "../../shared/lakefs/types";
import { backupLocationOverlap } from "../domain/backup-location-owners";

export interface RepositoryLister {
  listRepositories(opts?: ListOptions): AsyncIterable<Page<Repository>>;
}

/** Why `location` cannot hold a backup (it overlaps a repository's namespace), or undefined. */
export async function backupLocationProblem(
  lakefs: RepositoryLister,
  location: string,
): Promise<string | undefined> {
  for await (const page of lakefs.listRepositories({ amount: 1000 })) {
    const why = backupLocationOverlap(location, page.results);
    if (why) return why;
  }
  return undefined;
}
