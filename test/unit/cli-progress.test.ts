// The CLI's progress line (cli/progress.ts) with a fake clock and fake streams: redrawn in
// place on a terminal, one line a minute elsewhere, rates and ETA from the last minute.
import { expect, test } from "vitest";
import {
  CLEAR_LINE,
  formatBytes,
  formatDuration,
  formatFinalCounts,
  formatProgress,
  ProgressLine,
  type ProgressSample,
} from "../../cli/progress";

function fakeStream(isTTY: boolean, columns?: number) {
  const chunks: string[] = [];
  return {
    chunks,
    text: () => chunks.join(""),
    stream: { isTTY, ...(columns ? { columns } : {}), write: (c: string) => chunks.push(c) },
  };
}

function fakeClock(start = 1_000_000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

const copying = (objects: number, bytes: number): ProgressSample => ({
  phase: "copying",
  objects: { done: objects, total: 10_000 },
  bytes: { done: bytes, total: 10_000 * 1024 * 1024 },
});

test("numbers, bytes and durations read as people write them", () => {
  expect(formatBytes(0)).toBe("0 B");
  expect(formatBytes(1023)).toBe("1023 B");
  expect(formatBytes(1536)).toBe("1.50 KiB");
  expect(formatBytes(10 * 1024 ** 3)).toBe("10.0 GiB");
  expect(formatBytes(250 * 1024 ** 4)).toBe("250 TiB");
  expect(formatDuration(0)).toBe("0s");
  expect(formatDuration(59_400)).toBe("59s");
  expect(formatDuration(185_000)).toBe("3m05s");
  expect(formatDuration(6 * 3600_000 + 2 * 60_000)).toBe("6h02m");
});

test("a progress line: objects and bytes done/total, rates, ETA, failures", () => {
  expect(
    formatProgress(
      "export e1",
      { ...copying(1234, 1234 * 1024 * 1024), failed: 2 },
      { objectsPerSecond: 56, bytesPerSecond: 56 * 1024 * 1024, etaMs: 156_000 },
    ),
  ).toBe(
    "export e1: copying 1,234/10,000 objects, 1.21 GiB/9.77 GiB, 56 objects/s, 56.0 MiB/s, ETA 2m36s, 2 failed",
  );
  expect(formatProgress("gc run r1", { phase: "running", detail: "3/10 batches" })).toBe(
    "gc run r1: running 3/10 batches",
  );
  // Done never shows above the total (a retried batch may count twice).
  expect(formatProgress("x", { phase: "copying", objects: { done: 12, total: 10 } })).toBe(
    "x: copying 10/10 objects",
  );
});

test("final counts: copied (bytes), deleted, failed, duration", () => {
  expect(
    formatFinalCounts({
      copied: 10_000,
      bytes: 3 * 1024 ** 3,
      deleted: 12,
      failed: 0,
      durationMs: 182_000,
    }),
  ).toBe("10,000 copied (3.00 GiB), 12 deleted, 0 failed in 3m02s");
});

test("on a terminal the line is redrawn in place: one physical line, cleared at the end", () => {
  const out = fakeStream(true, 200);
  const t = fakeClock();
  const line = new ProgressLine(out.stream, "export e1", { clock: t.clock });
  line.update({ phase: "planning", objects: { done: 500 }, detail: "planned so far" });
  t.advance(2000);
  line.update(copying(0, 0));
  t.advance(10_000);
  line.update(copying(1000, 1000 * 1024 * 1024));
  line.end();
  expect(out.text()).not.toContain("\n");
  expect(out.chunks).toEqual([
    `${CLEAR_LINE}export e1: planning 500 objects, planned so far`,
    `${CLEAR_LINE}export e1: copying 0/10,000 objects, 0 B/9.77 GiB`,
    // 1 000 objects and 1 000 MiB in 10 s: 100 objects/s, 100 MiB/s; 9 000 MiB left: 90 s.
    `${CLEAR_LINE}export e1: copying 1,000/10,000 objects, 1000 MiB/9.77 GiB, 100 objects/s, 100 MiB/s, ETA 1m30s`,
    CLEAR_LINE,
  ]);
});

test("a redrawn line never wraps: it is cut to the terminal's width", () => {
  const out = fakeStream(true, 40);
  const line = new ProgressLine(out.stream, "export a-very-long-export-id-of-a-branch", {
    clock: () => 0,
  });
  line.update(copying(1, 1));
  const drawn = out.chunks[0]!.slice(CLEAR_LINE.length);
  expect(drawn.length).toBe(39);
  expect(drawn.endsWith("…")).toBe(true);
});

test("not on a terminal: the first update, then one line a minute", () => {
  const out = fakeStream(false);
  const t = fakeClock();
  const line = new ProgressLine(out.stream, "export e1", { clock: t.clock });
  // Two hours of polls every 2 s: 3 600 updates.
  for (let i = 0; i < 3600; i++) {
    line.update(copying(i, i * 1024 * 1024));
    t.advance(2000);
  }
  line.end();
  const lines = out.text().split("\n").filter(Boolean);
  expect(lines).toHaveLength(120);
  expect(out.text()).not.toContain("\r");
  expect(out.text()).not.toContain("\x1b");
  expect(lines[0]).toBe("export e1: copying 0/10,000 objects, 0 B/9.77 GiB");
  // The second line is the update 60 s after the first (update 30), with the minute's rate
  // (30 objects and 30 MiB a minute; 9 970 MiB left at 0.5 MiB/s: 5 h 32 min).
  expect(lines[1]).toBe(
    "export e1: copying 30/10,000 objects, 30.0 MiB/9.77 GiB, 0.5 objects/s, 512 KiB/s, ETA 5h32m",
  );
});
