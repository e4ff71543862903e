// Cost per million objects from counts measured on the local environment, at AWS list prices.
// Pure: no SDK, no clock. The prices are data (recorded in the results with their date) so a
// reader can check them and a later run can update them.

/** AWS list prices, us-east-1. */
export interface PriceList {
  /** When these prices were read from the AWS pricing pages. */
  asOf: string;
  region: string;
  /** Lambda on Arm (Graviton), first tier, USD per GB-second. */
  lambdaArmPerGbSecond: number;
  /** Lambda, USD per request. */
  lambdaPerRequest: number;
  /** Step Functions Standard workflows, USD per state transition. */
  sfnStandardPerTransition: number;
  /** Step Functions Express, USD per request (execution) and per GB-second. */
  sfnExpressPerRequest: number;
  sfnExpressPerGbSecond: number;
  /** S3 Standard: PUT, COPY, POST, LIST requests (tier 1), USD per request. */
  s3Tier1PerRequest: number;
  /** S3 Standard: GET, HEAD and other requests (tier 2), USD per request. */
  s3Tier2PerRequest: number;
  /** S3 Batch Operations: USD per job and per object processed. */
  batchOpsPerJob: number;
  batchOpsPerObject: number;
}

export const US_EAST_1_PRICES: PriceList = {
  asOf: "2025-06 (AWS public pricing pages; not re-read on the day of the run)",
  region: "us-east-1",
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  sfnStandardPerTransition: 0.025 / 1000,
  sfnExpressPerRequest: 1 / 1e6,
  sfnExpressPerGbSecond: 0.00001667,
  s3Tier1PerRequest: 0.005 / 1000,
  s3Tier2PerRequest: 0.0004 / 1000,
  batchOpsPerJob: 0.25,
  batchOpsPerObject: 1 / 1e6,
};

/** S3 operations billed as tier 1 (PUT, COPY, POST, LIST). DeleteObjects is a POST: counted
 * here as tier 1 to stay on the safe side (single DELETE requests are free). */
const TIER1 = new Set([
  "PutObject",
  "CopyObject",
  "UploadPart",
  "UploadPartCopy",
  "CreateMultipartUpload",
  "CompleteMultipartUpload",
  "ListObjects",
  "ListObjectsV2",
  "ListMultipartUploads",
  "ListParts",
  "DeleteObjects",
  "CreateBucket",
]);
const FREE = new Set(["DeleteObject", "AbortMultipartUpload"]);

export interface S3RequestSplit {
  tier1: number;
  tier2: number;
  free: number;
}

/** Splits S3 request counts by operation name into the pricing tiers. */
export function splitS3Requests(byOperation: Record<string, number>): S3RequestSplit {
  const out: S3RequestSplit = { tier1: 0, tier2: 0, free: 0 };
  for (const [op, n] of Object.entries(byOperation)) {
    if (TIER1.has(op)) out.tier1 += n;
    else if (FREE.has(op)) out.free += n;
    else out.tier2 += n;
  }
  return out;
}

/** What one measured workload consumed. */
export interface MeasuredUsage {
  /** Objects the workload handled (exported or swept). */
  objects: number;
  lambdaInvocations: number;
  /** Sum over invocations of duration (s) x configured memory (GB). */
  lambdaGbSeconds: number;
  /** State transitions of Standard executions (parents and Standard children). */
  sfnStandardTransitions: number;
  /** Express child executions of distributed maps, and their GB-seconds (64 MB minimum). */
  sfnExpressExecutions: number;
  sfnExpressGbSeconds: number;
  s3ByOperation: Record<string, number>;
}

export interface CostBreakdown {
  lambda: number;
  stepFunctions: number;
  s3: number;
  total: number;
}

export class CostModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CostModelError";
  }
}

/** USD for the measured usage, and the same scaled to one million objects. */
export function costOf(
  usage: MeasuredUsage,
  prices: PriceList = US_EAST_1_PRICES,
): {
  measured: CostBreakdown;
  perMillionObjects: CostBreakdown;
} {
  if (!(usage.objects > 0)) {
    throw new CostModelError(`usage.objects must be a positive number, got ${usage.objects}`);
  }
  const s3 = splitS3Requests(usage.s3ByOperation);
  const lambda =
    usage.lambdaGbSeconds * prices.lambdaArmPerGbSecond +
    usage.lambdaInvocations * prices.lambdaPerRequest;
  const stepFunctions =
    usage.sfnStandardTransitions * prices.sfnStandardPerTransition +
    usage.sfnExpressExecutions * prices.sfnExpressPerRequest +
    usage.sfnExpressGbSeconds * prices.sfnExpressPerGbSecond;
  const s3Cost = s3.tier1 * prices.s3Tier1PerRequest + s3.tier2 * prices.s3Tier2PerRequest;
  const measured = { lambda, stepFunctions, s3: s3Cost, total: lambda + stepFunctions + s3Cost };
  const k = 1e6 / usage.objects;
  return {
    measured,
    perMillionObjects: {
      lambda: measured.lambda * k,
      stepFunctions: measured.stepFunctions * k,
      s3: measured.s3 * k,
      total: measured.total * k,
    },
  };
}

/**
 * S3 Batch Operations for the same million objects: one job, the per-object fee, and the
 * requests the operation makes. Copy: one CopyObject (tier 1) per object. Delete: Batch
 * Operations has no delete operation, so it invokes a Lambda function per object (one
 * request, 128 MB for ~50 ms) that sends a free DeleteObject. Manifest creation not included.
 */
export function batchOperationsPerMillion(
  work: "copy" | "delete",
  prices: PriceList = US_EAST_1_PRICES,
): CostBreakdown & { note: string } {
  const objects = 1e6;
  const fees = prices.batchOpsPerJob + objects * prices.batchOpsPerObject;
  if (work === "copy") {
    const s3 = objects * prices.s3Tier1PerRequest;
    return {
      lambda: 0,
      stepFunctions: 0,
      s3: s3 + fees,
      total: s3 + fees,
      note: "1 job + 1M objects + 1M CopyObject",
    };
  }
  const lambda =
    objects * prices.lambdaPerRequest + objects * 0.05 * 0.125 * prices.lambdaArmPerGbSecond;
  return {
    lambda,
    stepFunctions: 0,
    s3: fees,
    total: lambda + fees,
    note: "1 job + 1M objects + 1M Lambda invocations (128 MB, 50 ms) sending free DeleteObject",
  };
}
