// Which export and status paths a GC backup location's claim keeps out, and the other way
// round (lambdas/gc/domain/backup-location-claims.ts): overlap means one holds the other.
import { describe, expect, it } from "vitest";
import {
  type BackupLocationClaim,
  backupClaimOverlap,
  exportPathOverlap,
} from "../../lambdas/gc/domain/backup-location-claims";

const claim = (location: string): BackupLocationClaim => ({
  repository: "r1",
  location,
  markId: "m1",
  claimedAt: "2026-01-01T00:00:00.000Z",
  claimToken: "t",
});

describe("backupClaimOverlap", () => {
  const claims = [claim("s3://bk/r1/m1")];
  it.each([
    ["s3://bk/r1", "around"],
    ["s3://bk", "the bucket"],
    ["s3://bk/r1/m1/", "at (a trailing slash)"],
    ["s3://bk/r1/m1/x", "inside"],
  ])("an export path %s (%s) is refused, naming the field, location and mark", (path) => {
    expect(backupClaimOverlap("exportPath", path, claims)).toMatch(
      /^exportPath: s3:\/\/bk.* overlaps the GC backup location s3:\/\/bk\/r1\/m1 of repository "r1" \(mark m1\)/,
    );
  });

  it.each(["s3://bk/r1/m10", "s3://bk/r1/m", "s3://bk2/r1/m1", "s3://other"])(
    "%s, beside it, is not",
    (path) => {
      expect(backupClaimOverlap("exportPath", path, claims)).toBeUndefined();
    },
  );

  it("names the status path when that is the one", () => {
    expect(backupClaimOverlap("exportStatusPath", "s3://bk/r1", claims)).toMatch(
      /^exportStatusPath: .*keep the status path outside every GC backup location/,
    );
  });
});

describe("exportPathOverlap", () => {
  const exports = [
    { repository: "r2", branch: "main", exportPath: "s3://ex/r2", exportStatusPath: "s3://st/r2" },
  ];
  it("refuses a location at, in or around an export or a status path", () => {
    expect(exportPathOverlap("s3://ex/r2/bk", exports)).toMatch(
      /^s3:\/\/ex\/r2\/bk overlaps the export path s3:\/\/ex\/r2 of lakefs:\/\/r2@main/,
    );
    expect(exportPathOverlap("s3://ex", exports)).toMatch(/overlaps the export path/);
    expect(exportPathOverlap("s3://st/r2/", exports)).toMatch(
      /overlaps the status path s3:\/\/st\/r2/,
    );
  });

  it("takes a location beside them", () => {
    expect(exportPathOverlap("s3://ex/r2-bk", exports)).toBeUndefined();
    expect(exportPathOverlap("s3://st/r", exports)).toBeUndefined();
  });
});
