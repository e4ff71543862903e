// Claiming a GC backup location (domain/backup-location-claims.ts): checked against every
// branch's export paths, claimed, then checked again, since an export configuration stored
// meanwhile checks the claims only after writing its own. Used by the copy workflow's plan and
// by the API (which `gc backup` asks before it copies from its own machine).
import { randomUUID } from "node:crypto";
import {
  type BackupLocationClaim,
  claimKeyProblem,
  type ExportPaths,
  exportPathOverlap,
} from "../domain/backup-location-claims";

export interface BackupLocationClaims {
  /** Creates the claim, or (one exists for the repository and location) records the mark on it. */
  claim(claim: BackupLocationClaim): Promise<"created" | "existing">;
  /** Removes the claim; with `claimToken`, only the claim that token created. */
  release(repository: string, location: string, claimToken?: string): Promise<boolean>;
  /** Every repository's claims, read strongly consistently, a page at a time. */
  list(): AsyncIterable<BackupLocationClaim[]>;
}

export interface BackupClaimDeps {
  claims: BackupLocationClaims;
  /** Every branch's export and status paths (path claims first: read consistently). */
  exportPaths: () => AsyncIterable<ExportPaths[]>;
  now: () => Date;
}

/** Why `location` overlaps a branch's export or status path, or undefined. */
export async function exportPathProblem(
  location: string,
  pages: AsyncIterable<ExportPaths[]>,
): Promise<string | undefined> {
  for await (const page of pages) {
    const why = exportPathOverlap(location, page);
    if (why) return why;
  }
  return undefined;
}

/**
 * Claims `location` (normalized) for a backup of `markId`, unless it overlaps an export or
 * status path: checked before the claim and again after it, when a claim this call created is
 * withdrawn if the second check fails.
 */
export async function claimBackupLocationOutsideExports(
  deps: BackupClaimDeps,
  req: { repository: string; location: string; markId: string },
): Promise<{ claim: BackupLocationClaim; created: boolean } | { problem: string }> {
  const tooLong = claimKeyProblem(req.repository, req.location);
  if (tooLong) return { problem: tooLong };
  const before = await exportPathProblem(req.location, deps.exportPaths());
  if (before) return { problem: before };
  const claim: BackupLocationClaim = {
    ...req,
    claimedAt: deps.now().toISOString(),
    claimToken: randomUUID(),
  };
  const created = (await deps.claims.claim(claim)) === "created";
  const after = await exportPathProblem(req.location, deps.exportPaths());
  if (after) {
    if (created) await deps.claims.release(req.repository, req.location, claim.claimToken);
    return { problem: after };
  }
  return { claim, created };
}
