import { describe, expect, it } from "vitest";
import { encodeTask, parseTaskLine, parseTaskShard } from "../../lambdas/export/domain/tasks";

const copy = {
  op: "copy",
  path: "a/b.parquet",
  sourceAddress: "s3://data/ns/obj1",
  destKey: "export/a/b.parquet",
  size: 12,
  contentType: "application/octet-stream",
  metadata: { owner: "etl" },
  etag: "e1",
};

const line = (v: unknown) => JSON.stringify(v);

describe("task lines", () => {
  it("accepts every task the plan writes, as written", () => {
    const tasks = [
      copy,
      { op: "copy", path: "p", sourceAddress: "s3://b/k", destKey: "k", etag: "e" },
      { op: "delete", path: "gone", destKey: "export/gone" },
      { op: "keep", path: "same", destKey: "export/same", etag: "e2", size: 0 },
      { op: "keep", path: "same2", destKey: "export/same2", etag: "e3" },
    ] as const;
    for (const t of tasks) expect(parseTaskLine(encodeTask(t as never), 1)).toEqual(t);
    expect(parseTaskShard(`${tasks.map(line).join("\n")}\n`)).toEqual(tasks);
  });

  it.each([
    [{ ...copy, sourceAddress: "http://x/y" }, /task line 7: sourceAddress/],
    [{ ...copy, sourceAddress: undefined }, /task line 7: sourceAddress/],
    [{ ...copy, destKey: "" }, /task line 7: destKey/],
    [{ ...copy, destKey: 3 }, /task line 7: destKey/],
    [{ ...copy, path: null }, /task line 7: path/],
    [{ ...copy, etag: undefined }, /task line 7: etag/],
    [{ ...copy, size: -1 }, /task line 7: size/],
    [{ ...copy, size: 1.5 }, /task line 7: size/],
    [{ ...copy, size: "12" }, /task line 7: size/],
    [{ ...copy, size: null }, /task line 7: size/],
    [{ ...copy, contentType: 5 }, /task line 7: contentType/],
    [{ ...copy, metadata: [] }, /task line 7: metadata/],
    [{ ...copy, metadata: { a: 1 } }, /task line 7: metadata\.a/],
    [{ ...copy, extra: true }, /task line 7: extra: not a field of a copy task/],
    [{ op: "delete", path: "p", destKey: "k", etag: "e" }, /task line 7: etag: not a field/],
    [{ op: "keep", path: "p", destKey: "k" }, /task line 7: etag/],
    [
      { op: "keep", path: "p", destKey: "k", etag: "e", sourceAddress: "s3://b/k" },
      /sourceAddress/,
    ],
    [{ op: "move", path: "p", destKey: "k" }, /task line 7: op/],
    [{ path: "p", destKey: "k" }, /task line 7: op/],
    [[copy], /task line 7: \(root\)/],
    ["copy", /task line 7: \(root\)/],
    [null, /task line 7: \(root\)/],
  ])("rejects %j, naming the field", (value, message) => {
    expect(() => parseTaskLine(line(value), 7)).toThrow(message);
  });

  it("names the line of a shard that is not JSON", () => {
    expect(() => parseTaskShard(`${line(copy)}\nnope\n`)).toThrow(/task line 2: not JSON/);
  });
});
