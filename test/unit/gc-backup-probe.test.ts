// Before a restore from a location without a backup record retires the mark, it looks for one
// of the mark's objects there, stopping at the first found. Fakes at the existence check.
import { describe, expect, it } from "vitest";
import { notFoundProblem, probeBackupLocation } from "../../lambdas/gc/app/backup-probe";

const places = {
  namespace: { bucket: "lake", keyPrefix: "repos/repo/" },
  location: { bucket: "bk", prefix: "m1" },
};

async function* linesOf(lines: string[]) {
  yield* lines;
}

function world(present: string[]) {
  const asked: string[] = [];
  const exists = async (bucket: string, key: string) => {
    asked.push(`${bucket}/${key}`);
    return present.includes(`${bucket}/${key}`);
  };
  return { asked, exists };
}

describe("probeBackupLocation", () => {
  it("finds an object of the mark in the location, at the location's keys, and stops there", async () => {
    const w = world(["bk/m1/data/c"]);
    const lines = ["data/a", "data/b", "data/c", "data/d", "data/e"];
    const out = await probeBackupLocation(w.exists, linesOf(lines), places, { concurrency: 3 });
    expect(out).toEqual({ found: true });
    // Batches of 3: the first batch held it, so data/d and data/e were never asked.
    expect(w.asked).toEqual(["bk/m1/data/a", "bk/m1/data/b", "bk/m1/data/c"]);
  });

  it("says none, having probed every listed object, for a location holding none of them", async () => {
    const w = world(["bk/m1/other", "lake/repos/repo/data/a"]);
    const lines = ["data/a", "", "data/../x", "data/b"];
    const out = await probeBackupLocation(w.exists, linesOf(lines), places, { concurrency: 2 });
    // Empty and refused lines are not objects of the location.
    expect(out).toEqual({ found: false, probed: 2, complete: true, refused: 1 });
    expect(notFoundProblem(out as Extract<typeof out, { found: false }>, "s3://bk/m1")).toBe(
      "none of the mark's 2 object(s) is under s3://bk/m1",
    );
  });

  it("stops undecided at its limit", async () => {
    const w = world([]);
    const lines = Array.from({ length: 50 }, (_, i) => `data/${i}`);
    const out = await probeBackupLocation(w.exists, linesOf(lines), places, {
      concurrency: 4,
      limit: 10,
    });
    expect(out).toEqual({ found: false, probed: 10, complete: false, refused: 0 });
    expect(w.asked).toHaveLength(10);
  });

  it("says none, complete, when the mark lists exactly its limit of objects and none is there", async () => {
    const w = world([]);
    const lines = Array.from({ length: 8 }, (_, i) => `data/${i}`);
    const out = await probeBackupLocation(w.exists, linesOf(lines), places, {
      concurrency: 4,
      limit: 8,
    });
    expect(out).toEqual({ found: false, probed: 8, complete: true, refused: 0 });
    // Empty and refused lines past the limit are no objects left unprobed either.
    const trailing = await probeBackupLocation(
      w.exists,
      linesOf([...lines, "", "data/../x"]),
      places,
      { concurrency: 4, limit: 8 },
    );
    expect(trailing).toEqual({ found: false, probed: 8, complete: true, refused: 1 });
  });

  it("says the mark lists no object a restore may copy when every line is refused, not '0 object(s)'", async () => {
    const w = world([]);
    const out = await probeBackupLocation(
      w.exists,
      linesOf(["data/../x", "", "_lakeport_backup.json", "/abs"]),
      places,
    );
    expect(out).toEqual({ found: false, probed: 0, complete: true, refused: 3 });
    expect(w.asked).toEqual([]);
    expect(notFoundProblem(out as Extract<typeof out, { found: false }>, "s3://bk/m1")).toBe(
      "the mark lists no object a restore may copy under s3://bk/m1 (its 3 line(s) are refused as InvalidAddress)",
    );
  });
});
