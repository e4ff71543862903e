// Adversarial inputs to the copy workflow's plan (lambdas/gc/app/copy-mark.ts) started directly
// (console, another tool): bad input must change nothing, as the CLI refuses it first. Fakes at
// the ports: the object store in memory, one mark record.
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import {
  type CopyPlanDeps,
  runCopyPartsStep,
  runCopyPlanStep,
} from "../../lambdas/gc/app/copy-mark";
import { gcPaths, gcWorkKeys } from "../../lambdas/gc/domain/paths";
import { listedRepositories, MemoryBackupLocations, MemoryGcStore } from "../support/memory-gc";

const NS = "s3://lake-ns/repos/repo";

function world(status: "succeeded" | "running" | "failed" = "succeeded") {
  const s3 = new MemoryGcStore();
  const retires: string[] = [];
  const mark = {
    repository: "repo",
    markId: "m1",
    runId: "r0",
    status,
    storageNamespace: NS,
  };
  const claims = new MemoryBackupLocations();
  const deps: CopyPlanDeps = {
    s3,
    workBucket: "lakeport-work",
    lakefs: listedRepositories(["repo", NS]),
    ...claims.planDeps(),
    now: () => new Date("2025-06-01T12:00:00Z"),
    marks: {
      getMark: async (_r, markId) => (markId === "m1" ? { ...mark } : undefined),
      retireMark: async (_r, markId, reason, now) => {
        retires.push(markId);
        return { retired: { ...mark, retiredAt: now.iso, retiredReason: reason } };
      },
    },
  };
  return { s3, deps, retires, claims };
}

/** The copy plan of mark m1 of "repo": a backup to, or a restore from, `location`. */
const planCopy = (w: ReturnType<typeof world>, direction: "backup" | "restore", location: string) =>
  runCopyPlanStep(w.deps, {
    repository: "repo",
    copyId: "c1",
    markId: "m1",
    storageNamespace: NS,
    direction,
    location,
  });

describe("the copy plan started directly with a malformed location", () => {
  // `other/../repos/repo` is the namespace itself wherever `..` is resolved (the embedded S3
  // stores keys at the path the file system resolves): the CLI refuses it (exit code 2).
  it("a backup to a location with a .. segment is refused, writing nothing", async () => {
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await w.s3.put("lake-ns", "other/x", "x");
    const before = [...w.s3.objects.keys()].sort();
    await expect(planCopy(w, "backup", "s3://lake-ns/other/../repos/repo")).rejects.toThrow(
      /location: .*must not contain \. or \.\. path segments/,
    );
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    expect(w.retires).toEqual([]);
  });
});

describe("the copy plan of a backup into another repository's storage namespace", () => {
  // That repository's garbage collection (lakeFS's of objects no commit references lists the
  // namespace) may delete what the backup keeps there: refused, as for the own namespace.
  it("is refused naming the repository, writing nothing; a location beside it is planned", async () => {
    const w = world();
    w.deps.lakefs = listedRepositories(["repo", NS], ["other", "s3://lake-other/repos/other/"]);
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    const before = [...w.s3.objects.keys()].sort();
    for (const location of ["s3://lake-other/repos/other/backups", "s3://lake-other/repos"]) {
      await expect(planCopy(w, "backup", location)).rejects.toThrow(
        /^location: s3:\/\/lake-other\/repos.* overlaps the storage namespace s3:\/\/lake-other\/repos\/other of repository "other".*: nothing copied$/,
      );
    }
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    const plan = await planCopy(w, "backup", "s3://lake-other/backups/m1");
    expect(plan.parts).toBe(1);
    expect(w.retires).toEqual([]);
  });
});

describe("the copy plan of a backup and the export paths", () => {
  // A branch's full export deletes whatever else is under its export path: a backup there is
  // refused, and a backup's location is claimed so that no export path is set around it later.
  const exportAt = (exportPath: string, exportStatusPath?: string) => ({
    repository: "r2",
    branch: "main",
    exportPath,
    ...(exportStatusPath ? { exportStatusPath } : {}),
  });

  it("claims its location before the first write, naming the repository and the mark", async () => {
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await planCopy(w, "backup", "s3://backups/m1/");
    expect([...w.claims.claims.values()]).toEqual([
      expect.objectContaining({ repository: "repo", location: "s3://backups/m1", markId: "m1" }),
    ]);
  });

  it("is refused under, around or at an export or status path, writing nothing, claiming nothing", async () => {
    const w = world();
    w.claims.exports.push(exportAt("s3://exports/r2/", "s3://status/r2/"));
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    const before = [...w.s3.objects.keys()].sort();
    for (const [location, what] of [
      ["s3://exports/r2/backups/m1", "export path s3://exports/r2"],
      ["s3://exports", "export path s3://exports/r2"],
      ["s3://status/r2", "status path s3://status/r2"],
    ]) {
      await expect(planCopy(w, "backup", location as string)).rejects.toThrow(
        new RegExp(`^location: .* overlaps the ${what} of lakefs://r2@main .*: nothing copied$`),
      );
    }
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    expect(w.claims.claims.size).toBe(0);
    // Beside them (a prefix sharing the export path's first characters included): planned.
    expect((await planCopy(w, "backup", "s3://exports/r2-backups/m1")).parts).toBe(1);
  });

  it("is refused for a location too long to be claimed, writing nothing", async () => {
    // A claim's key is `repository#location`, and DynamoDB refuses one over 1024 bytes.
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    const before = [...w.s3.objects.keys()].sort();
    await expect(planCopy(w, "backup", `s3://backups/${"a".repeat(1022)}`)).rejects.toThrow(
      /^location: s3:\/\/backups\/a+ is too long to be claimed for repository "repo" .*: nothing copied$/,
    );
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    expect(w.claims.claims.size).toBe(0);
  });

  it("withdraws its claim when an export path was set around the location meanwhile", async () => {
    // The export configuration's request stored its paths after the plan's first check and
    // reads the claims only after that: the plan's second read (after its claim) sees them.
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    const before = [...w.s3.objects.keys()].sort();
    let reads = 0;
    w.deps.exportPaths = async function* () {
      reads++;
      yield reads === 1 ? [] : [exportAt("s3://backups/")];
    };
    await expect(planCopy(w, "backup", "s3://backups/m1")).rejects.toThrow(
      /overlaps the export path s3:\/\/backups of lakefs:\/\/r2@main.*: nothing copied$/,
    );
    expect(reads).toBe(2);
    expect(w.claims.claims.size).toBe(0);
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
  });

  it("keeps an earlier backup's claim of the location when it is refused", async () => {
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await w.claims.claim({
      repository: "repo",
      location: "s3://backups/m1",
      markId: "m0",
      claimedAt: "2025-05-01T00:00:00.000Z",
      claimToken: "earlier",
    });
    let reads = 0;
    w.deps.exportPaths = async function* () {
      reads++;
      yield reads === 1 ? [] : [exportAt("s3://backups/")];
    };
    await expect(planCopy(w, "backup", "s3://backups/m1")).rejects.toThrow(/nothing copied$/);
    // Kept (it took the plan's token: see BackupLocationStore.claim), not withdrawn.
    expect([...w.claims.claims.values()]).toEqual([
      expect.objectContaining({ location: "s3://backups/m1" }),
    ]);
  });

  it("a restore claims nothing (it reads from the location)", async () => {
    const w = world();
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await w.s3.put("backups", "m1/data/a", "a");
    await planCopy(w, "restore", "s3://backups/m1").catch(() => undefined);
    expect(w.claims.claims.size).toBe(0);
  });
});

describe("the copy plan started directly for a mark whose marking has not succeeded", () => {
  // The CLI refuses such a mark (findMark); a mark still running has written part of its lists:
  // a backup of those would record complete a backup missing the parts written after it.
  for (const status of ["running", "failed"] as const) {
    it(`a backup of a ${status} mark is refused, writing no record`, async () => {
      const w = world(status);
      await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
      const before = [...w.s3.objects.keys()].sort();
      await expect(planCopy(w, "backup", "s3://backups/m1")).rejects.toThrow(
        `mark id "m1" is from a ${status} mark run (r0)`,
      );
      expect([...w.s3.objects.keys()].sort()).toEqual(before);
    });
  }

  it("a restore of a running mark is refused before the mark is retired", async () => {
    const w = world("running");
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    await w.s3.put("backups", "m1/data/a", "a");
    await expect(planCopy(w, "restore", "s3://backups/m1")).rejects.toThrow(
      `mark id "m1" is from a running mark run (r0)`,
    );
    expect(w.retires).toEqual([]);
  });
});

describe("the copy plan of a backup whose mark lacks the list of one of its partitions", () => {
  // A sweep deletes what the lists of partitions 0..n-1 say: a backup over the lists found
  // would complete without part 1, whose objects the sweep deletes once its list is back.
  it("is refused, writing no record and retiring nothing", async () => {
    const w = world();
    const getMark = w.deps.marks.getMark;
    w.deps.marks.getMark = async (r, id) => {
      const m = await getMark(r, id);
      return m ? { ...m, partitions: 2 } : undefined;
    };
    await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
    const before = [...w.s3.objects.keys()].sort();
    await expect(planCopy(w, "backup", "s3://backups/m1")).rejects.toThrow(
      /the list of its part 1 .* is missing .*: nothing copied/,
    );
    expect([...w.s3.objects.keys()].sort()).toEqual(before);
    expect(w.retires).toEqual([]);
  });
});

describe("the copy plan started directly without its repository or storage namespace", () => {
  for (const field of ["repository", "storageNamespace"] as const) {
    it(`names ${field} when it is missing or not a string, writing nothing`, async () => {
      for (const bad of [undefined, 7, ""]) {
        const w = world();
        await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
        const before = [...w.s3.objects.keys()].sort();
        const input = {
          repository: "repo",
          copyId: "c1",
          markId: "m1",
          storageNamespace: NS,
          direction: "restore" as const,
          location: "s3://backups/m1",
          [field]: bad,
        } as unknown as Parameters<typeof runCopyPlanStep>[1];
        await expect(runCopyPlanStep(w.deps, input)).rejects.toThrow(
          new RegExp(`^${field}: must be a non-empty string`),
        );
        expect([...w.s3.objects.keys()].sort()).toEqual(before);
        expect(w.retires).toEqual([]);
      }
    });
  }
});

describe("the copy plan with a location in Lakeport's work bucket", () => {
  // The work bucket's gc/ folder expires after days (a lifecycle rule) and the copy steps may
  // write there: a backup into it completed, and was gone when its restore was needed. A
  // restore from there is not refused: what is still there can come back.
  for (const location of [
    "s3://lakeport-work/gc/backups/m1",
    "s3://lakeport-work/backups/m1",
    "s3://lakeport-work",
  ]) {
    it(`a backup to ${location} is refused, writing nothing`, async () => {
      const w = world();
      await w.s3.put("lake-ns", `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`, "data/a\n");
      const before = [...w.s3.objects.keys()].sort();
      await expect(planCopy(w, "backup", location)).rejects.toThrow(
        /^location: .* is in Lakeport's work bucket/,
      );
      expect([...w.s3.objects.keys()].sort()).toEqual(before);
    });
  }
});

describe("a backup of a mark whose list was edited in the namespace since the mark wrote it", () => {
  // The mark step records each list's ETag; the sweep refuses an edited list, but put back
  // as it was (same bytes, same ETag) the sweep deletes what it says, and a backup that copied
  // the edited one (keys taken out) held less than that.
  async function markedWorld(recorded: "same" | "other") {
    const w = world();
    const list = `repos/repo/${gcPaths.addressesTextPart("m1", 0)}`;
    await w.s3.put("lake-ns", list, "data/a\n");
    const listed = await w.s3.getVersioned("lake-ns", list);
    const etag = recorded === "same" ? listed!.etag : '"written-by-the-mark"';
    await w.s3.put(
      "lakeport-work",
      gcWorkKeys("repo", "r0").markCounts(0),
      JSON.stringify({ text_etag: etag }),
    );
    return { w, list };
  }
  const backup = {
    repository: "repo",
    copyId: "c1",
    markId: "m1",
    storageNamespace: NS,
    direction: "backup" as const,
    location: "s3://backups/m1",
  };

  it("is refused by the plan, writing no record", async () => {
    const { w } = await markedWorld("other");
    await expect(runCopyPlanStep(w.deps, backup)).rejects.toThrow(
      /part-00000\.txt was changed since the mark wrote it .*: nothing copied/,
    );
    expect(await w.s3.getText("backups", "m1/_lakeport_backup.json")).toBeUndefined();
  });

  it("is planned when the list is the mark's, and a list edited after the plan is not copied", async () => {
    const { w, list } = await markedWorld("same");
    const plan = await runCopyPlanStep(w.deps, backup);
    const items = (await w.s3.getText("lakeport-work", plan.partsKey))!
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));
    expect(items).toHaveLength(1);
    await w.s3.put("lake-ns", list, "data/b\n");
    await expect(
      // No S3 client is reached: the list is refused before any copy.
      runCopyPartsStep(w.deps, new S3Client({ region: "us-east-1" }), {
        Items: items,
        BatchInput: backup,
      }),
    ).rejects.toThrow(/was changed since the plan checked it/);
    expect(await w.s3.getText("backups", "m1/data/b")).toBeUndefined();
  });
});
