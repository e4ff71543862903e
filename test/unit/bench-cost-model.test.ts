import { describe, expect, it } from "vitest";
import {
  batchOperationsPerMillion,
  CostModelError,
  costOf,
  splitS3Requests,
  US_EAST_1_PRICES,
} from "../../bench/cost-model";

describe("bench cost model", () => {
  it("splits S3 requests into pricing tiers, deletes free", () => {
    expect(
      splitS3Requests({
        CopyObject: 10,
        ListObjectsV2: 2,
        DeleteObjects: 1,
        GetObject: 5,
        HeadObject: 3,
        DeleteObject: 7,
      }),
    ).toEqual({ tier1: 13, tier2: 8, free: 7 });
  });

  it("prices each service and scales to one million objects", () => {
    const r = costOf({
      objects: 1000,
      lambdaInvocations: 10,
      lambdaGbSeconds: 100,
      sfnStandardTransitions: 40,
      sfnExpressExecutions: 0,
      sfnExpressGbSeconds: 0,
      s3ByOperation: { CopyObject: 1000, GetObject: 1000 },
    });
    const p = US_EAST_1_PRICES;
    expect(r.measured.lambda).toBeCloseTo(100 * p.lambdaArmPerGbSecond + 10 * p.lambdaPerRequest);
    expect(r.measured.stepFunctions).toBeCloseTo(40 * 0.000025, 10);
    expect(r.measured.s3).toBeCloseTo(1000 * 0.000005 + 1000 * 0.0000004, 10);
    expect(r.perMillionObjects.total).toBeCloseTo(r.measured.total * 1000, 8);
    expect(r.perMillionObjects.s3).toBeCloseTo(5.4, 8);
  });

  it("rejects a workload without objects, naming the field", () => {
    const usage = {
      objects: 0,
      lambdaInvocations: 0,
      lambdaGbSeconds: 0,
      sfnStandardTransitions: 0,
      sfnExpressExecutions: 0,
      sfnExpressGbSeconds: 0,
      s3ByOperation: {},
    };
    expect(() => costOf(usage)).toThrow(CostModelError);
    expect(() => costOf(usage)).toThrow(/usage.objects/);
  });

  it("S3 Batch Operations copy: job + per object + CopyObject requests", () => {
    expect(batchOperationsPerMillion("copy").total).toBeCloseTo(0.25 + 1 + 5, 8);
    const del = batchOperationsPerMillion("delete");
    expect(del.total).toBeGreaterThan(1.25);
    expect(del.s3).toBeCloseTo(1.25, 8);
  });
});
