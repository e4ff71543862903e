// The CLI names a GC copy workflow's execution after its direction, the time and the mark.
// Step Functions takes 80 characters at most and refuses a name used before
// (ExecutionAlreadyExists) or, with the same input while it runs, answers the earlier
// execution. With the time after a long mark id, the cut to 80 took the time's last digits,
// and two restores of one mark minutes apart got the same name.
import { expect, it } from "vitest";
import { copyExecutionName } from "../../cli/gc-backup";
import { validateMarkId } from "../../lambdas/gc/domain/ids";

it("keeps the time whole, whatever the mark id's length, within 80 characters", () => {
  const longest = validateMarkId("m".repeat(64));
  const at = 1_800_000_000_000;
  const names = [at, at + 60_000, at + 1].map((t) => copyExecutionName("restore", longest, t));
  expect(new Set(names).size).toBe(3);
  for (const n of names) {
    expect(n.length).toBeLessThanOrEqual(80);
    expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
  }
  expect(names[0]).toBe(`restore-${at}-${"m".repeat(80 - `restore-${at}-`.length)}`);
  expect(copyExecutionName("backup", "m1", at)).toBe(`backup-${at}-m1`);
});
