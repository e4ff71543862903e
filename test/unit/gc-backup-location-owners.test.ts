// A backup location must lie outside every repository's storage namespace (not only the
// backed-up repository's): inside another one, that repository's garbage collection may delete
// the backup's objects.
import { describe, expect, it } from "vitest";
import { backupLocationOverlap } from "../../lambdas/gc/domain/backup-location-owners";

const repos = [
  { id: "sales", storage_namespace: "s3://lake/repos/sales" },
  { id: "ml", storage_namespace: "s3://lake/repos/caf%C3%A9/" },
  { id: "gcs", storage_namespace: "gs://lake/repos/gcs" },
];

describe("backupLocationOverlap", () => {
  it("names the repository whose namespace holds the location, is it, or lies inside it", () => {
    for (const location of [
      "s3://lake/repos/sales/backups",
      "s3://lake/repos/sales",
      "s3://lake/repos/sales/",
      "s3://lake/repos",
      "s3://lake",
    ]) {
      const why = backupLocationOverlap(location, repos);
      expect(why, location).toContain('repository "sales"');
      expect(why).toContain("s3://lake/repos/sales");
      expect(why).toContain(location.replace(/\/+$/, ""));
    }
  });

  it("reads another repository's namespace as lakeFS does (escapes decoded)", () => {
    expect(backupLocationOverlap("s3://lake/repos/café/old", repos)).toContain('repository "ml"');
  });

  it("takes locations beside every namespace, a lookalike prefix included", () => {
    for (const location of [
      "s3://lake/backups",
      "s3://lake/repos/sales-backup",
      "s3://lake/repos/salesx/y",
      "s3://other/repos/sales",
      "s3://lake/repos/gcs",
    ]) {
      expect(backupLocationOverlap(location, repos), location).toBeUndefined();
    }
  });
});
