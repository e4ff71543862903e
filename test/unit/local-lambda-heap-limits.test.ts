// The local Lambda runtime gives each function's worker the V8 heap Lambda's Node.js bootstrap
// gives it: a tenth of the memory size to the young generation (semi-spaces of a twentieth, so
// three of them), the rest to the old; a --max-semi-space-size in NODE_OPTIONS sizes the young
// generation instead.
import { expect, it } from "vitest";
import { heapLimitsOf } from "../../local/lambda/worker-invocation";

it("sizes a worker's heap as Lambda's bootstrap does for the memory size", () => {
  // The copy function: new space 176 MB, semi-spaces of 88 MB, old space 1 593 MB.
  expect(heapLimitsOf({ memorySizeMb: 1769 })).toEqual({
    maxOldGenerationSizeMb: 1593,
    maxYoungGenerationSizeMb: 264,
  });
  expect(heapLimitsOf({ memorySizeMb: 1024 })).toEqual({
    maxOldGenerationSizeMb: 922,
    maxYoungGenerationSizeMb: 153,
  });
  expect(heapLimitsOf({ memorySizeMb: 128 })).toEqual({
    maxOldGenerationSizeMb: 116,
    maxYoungGenerationSizeMb: 18,
  });
  // No memory size: Lambda's default, 128 MB.
  expect(heapLimitsOf({})).toEqual(heapLimitsOf({ memorySizeMb: 128 }));
});

it("takes the young generation from --max-semi-space-size in NODE_OPTIONS", () => {
  const withSemiSpace = (options: string) =>
    heapLimitsOf({ memorySizeMb: 1024, environment: { NODE_OPTIONS: options } });
  expect(withSemiSpace("--enable-source-maps --max-semi-space-size=32")).toEqual({
    maxOldGenerationSizeMb: 922,
    maxYoungGenerationSizeMb: 96,
  });
  expect(withSemiSpace("--enable-source-maps").maxYoungGenerationSizeMb).toBe(153);
});
