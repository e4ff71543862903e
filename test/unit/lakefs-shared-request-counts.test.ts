// Request counts in shared memory (local/lakefs/shared-request-counts.ts): what one side
// counts, another side over the same buffers reads; a reset zeroes the counts, not the names.
import { describe, expect, it } from "vitest";
import { SharedRequestCounts } from "../../local/lakefs/shared-request-counts";

describe("SharedRequestCounts", () => {
  it("is read through other views of the same buffers, by operation and in total", () => {
    const counting = new SharedRequestCounts();
    const reading = new SharedRequestCounts(counting.buffers);
    expect(reading.snapshot()).toEqual({ requests: 0, byOperation: {} });
    counting.count("listObjects");
    counting.count("commit");
    counting.count("listObjects");
    counting.count("ListObjectsV2");
    expect(reading.snapshot()).toEqual({
      requests: 4,
      byOperation: { listObjects: 2, commit: 1, ListObjectsV2: 1 },
    });
  });

  it("resets the counts and keeps each operation's slot", () => {
    const counting = new SharedRequestCounts();
    const reading = new SharedRequestCounts(counting.buffers);
    counting.count("getBranch");
    counting.count("commit");
    reading.reset();
    expect(reading.snapshot()).toEqual({ requests: 0, byOperation: {} });
    counting.count("commit");
    expect(reading.snapshot()).toEqual({ requests: 1, byOperation: { commit: 1 } });
  });

  it("refuses an operation past its slots rather than miscount it", () => {
    const counts = new SharedRequestCounts();
    for (let i = 1; i < 256; i++) counts.count(`op${i}`);
    expect(() => counts.count("one-more")).toThrow(/more than 255 lakeFS operations/);
    expect(counts.snapshot().requests).toBe(255);
    expect(counts.snapshot().byOperation.op255).toBe(1);
  });
});
