// Checks beyond the body schemas that need lakeFS or a regex engine.
import { RE2JS } from "re2js";
import type { Repository } from "../lakefs/types";
import { ValidationError } from "../shared/state/errors";

/** Compiles each expression with RE2 semantics; the error names the bad one. */
export function compileRegexps(field: string, patterns: readonly string[]): void {
  patterns.forEach((p, i) => {
    try {
      RE2JS.compile(p);
    } catch (err) {
      throw new ValidationError(
        `${field}[${i}]: invalid regular expression ${JSON.stringify(p)}: ${(err as Error).message}`,
      );
    }
  });
}

const trimSlashes = (s: string) => s.replace(/\/+$/, "");

/** true when one of the two s3:// locations contains the other. */
export function overlaps(a: string, b: string): boolean {
  const x = trimSlashes(a);
  const y = trimSlashes(b);
  return x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

/** Export locations may not overlap lakeFS's storage namespace (GC would collide). */
export function checkOutsideNamespace(field: string, path: string, repo: Repository): void {
  const ns = repo.storage_namespace;
  if (ns.startsWith("s3://") && overlaps(path, ns)) {
    throw new ValidationError(
      `${field}: ${path} overlaps the storage namespace ${ns} of repository "${repo.id}"`,
    );
  }
}

export const normalizeS3Path = trimSlashes;
