// Export ids double as Step Functions execution names: deterministic from (repository,
// branch, commit, attempt) so a retried start cannot launch a second execution, and valid as
// a name (at most 80 characters of [A-Za-z0-9-_]).
import { createHash } from "node:crypto";

const slug = (s: string, max: number) => s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, max);

export function exportIdFor(
  repository: string,
  branch: string,
  commit: string,
  attempt: number,
): string {
  // The hash keeps ids distinct when long names are truncated.
  const digest = createHash("sha256")
    .update(`${repository}\0${branch}\0${commit}\0${attempt}`)
    .digest("hex")
    .slice(0, 10);
  return `${slug(repository, 20)}-${slug(branch, 20)}-${slug(commit, 12)}-${attempt}-${digest}`;
}
